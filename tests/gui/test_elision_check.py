"""The real-window tier's judge (``tests/realwindow/elision.py``) finds what is cut off.

Offscreen, with whatever fonts this platform has: each case is built to be cut (or
not) by its own measure, so the verdict does not depend on the fonts.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication, QLabel, QTableView, QVBoxLayout, QWidget

from hms_desktop.ui.common.layout import fit_key_columns
from tests.realwindow.elision import columns_cut_off, is_key_column, off_screen, unreadable

ROWS = [("6157", "2026-12-07", "08:00", "Oliver Fitzgerald-Hughes", "a long reason " * 5)]
TITLES = ("ID", "Date", "Time", "Patient", "Reason")


class _Model(QAbstractTableModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ROWS)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(TITLES)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        return ROWS[index.row()][index.column()] if role == Qt.ItemDataRole.DisplayRole else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return TITLES[section]
        return None


def _window(qtbot, width: int = 900) -> tuple[QWidget, QTableView, QLabel]:
    window = QWidget()
    qtbot.addWidget(window)
    table = QTableView(window)
    table.setModel(_Model(table))
    label = QLabel("Today, Monday 15 June 2026", window)
    layout = QVBoxLayout(window)
    layout.addWidget(label)
    layout.addWidget(table)
    window.resize(width, 300)
    window.show()
    qtbot.waitExposed(window)
    return window, table, label


def test_key_columns_are_told_by_their_title() -> None:
    titles = (*TITLES, "Last status", "Visit type", "Department")
    assert [t for t in titles if is_key_column(t)] == [
        "ID",
        "Date",
        "Time",
        "Patient",
        "Last status",
    ]


def test_a_narrow_key_column_and_a_squeezed_label_are_reported(qtbot) -> None:
    window, table, label = _window(qtbot)
    for column in range(len(TITLES)):
        table.setColumnWidth(column, 30)
    label.setMinimumWidth(0)
    label.setFixedWidth(label.fontMetrics().horizontalAdvance(label.text()) // 2)
    found = unreadable(window)
    for title in ("ID", "Date", "Time", "Patient"):
        assert any(f"column {title!r} is 30px" in line for line in found), (title, found)
    assert not any("'Reason'" in line for line in found)  # not a key column: it may elide
    assert any("label 'Today, Monday 15 June 2026' needs" in line for line in found)


def test_key_columns_fitted_to_their_text_pass(qtbot) -> None:
    window, table, _label = _window(qtbot)
    fit_key_columns(table)
    QApplication.processEvents()
    assert unreadable(window) == []


def test_a_key_column_past_the_visible_width_is_reported(qtbot) -> None:
    window, table, _label = _window(qtbot, width=260)
    fit_key_columns(table)
    table.setColumnWidth(4, 10)
    found = unreadable(window)
    assert any("column 'Patient' ends at" in line for line in found), found


def test_every_column_past_the_width_or_with_a_cut_heading_is_reported(qtbot) -> None:
    # Any column (a week's days are no key columns): all side by side, headings whole.
    _shown, table, _label = _window(qtbot, width=900)
    header = table.horizontalHeader()
    header.setSectionResizeMode(header.ResizeMode.Stretch)
    QApplication.processEvents()
    assert columns_cut_off(table) == []
    header.setSectionResizeMode(header.ResizeMode.Interactive)
    for column in range(len(TITLES)):
        table.setColumnWidth(column, 300)
    QApplication.processEvents()
    found = columns_cut_off(table)
    assert any("scrolls sideways" in line for line in found), found
    assert any("column 'Reason' ends at" in line for line in found), found
    header.setMinimumSectionSize(1)
    table.setColumnWidth(0, 3)
    assert any("header 'ID' is cut off at 3px" in line for line in columns_cut_off(table))


def test_a_window_larger_than_the_screen_is_reported(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    room = window.screen().availableGeometry()
    window.resize(room.width() + 50, room.height())
    window.show()
    qtbot.waitExposed(window)
    assert off_screen(window) and "the screen has" in off_screen(window)[0]
    window.resize(room.width() // 2, room.height() // 2)
    window.move(room.topLeft())
    assert off_screen(window) == []
