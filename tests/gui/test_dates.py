"""One date style from one formatter, in the PC's language and order (QLocale)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time

import pytest
from PySide6.QtCore import QLocale, QPoint, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDateEdit, QTableView

from hms_desktop.ui.common import dates
from hms_desktop.ui.common.table_models import display

DAY = date(2026, 6, 15)  # a Monday


@pytest.fixture
def locale(qapp: object) -> Iterator[None]:
    before = QLocale()
    yield
    QLocale.setDefault(before)


@pytest.mark.parametrize(
    ("name", "day", "when", "born"),
    [
        ("en_GB", "Mon, 15 Jun 2026", "Tomorrow, Mon, 15 Jun at 09:30", "2 Mar 1987"),
        ("en_US", "Mon, Jun 15, 2026", "Tomorrow, Mon, Jun 15 at 9:30\u202fAM", "Mar 2, 1987"),
        ("de_DE", "Mo., 15. Juni 2026", "Tomorrow, Mo., 15. Juni at 09:30", "2. März 1987"),
        ("es_ES", "lun, 15 de jun de 2026", "Tomorrow, lun, 15 de jun at 9:30", "2 de mar de 1987"),
        ("ja_JP", "2026年6月15日月", "Tomorrow, 6月15日月 at 9:30", "1987年3月2日"),
    ],
)
def test_the_locale_decides_the_order_and_the_names(
    locale: None, name: str, day: str, when: str, born: str
) -> None:
    QLocale.setDefault(QLocale(name))
    assert dates.day_text(DAY) == day
    assert dates.when_text(DAY, time(9, 30), today=date(2026, 6, 14)) == when
    assert dates.birth_text(date(1987, 3, 2)) == born
    # Table cells go through the same formatter.
    assert display(DAY) == day
    assert display(time(9, 30)) == dates.time_text(time(9, 30))


def test_today_and_the_year(locale: None) -> None:
    QLocale.setDefault(QLocale("en_GB"))
    assert dates.day_text(DAY, DAY) == "Today, Mon, 15 Jun"
    assert dates.day_text(date(2027, 1, 4), DAY) == "Mon, 4 Jan 2027"  # another year says so
    assert dates.moment_text(datetime(2026, 6, 15, 8, 5)) == "Mon, 15 Jun 2026 08:05"
    assert dates.short_day_text(DAY) == "15 Jun"
    # File names sort by date and never contain the locale's "/".
    QLocale.setDefault(QLocale("en_US"))
    assert dates.file_date(DAY) == "2026-06-15" and dates.picker_format() == "ddd, MMM d, yyyy"


def _calendar_shows_everything(edit: QDateEdit, qtbot: object) -> list[str]:
    """Open the popup (a click on the arrow); list what would be cut off in it."""
    arrow = QPoint(edit.width() - 6, edit.height() // 2)
    QTest.mouseClick(edit, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, arrow)
    calendar = edit.calendarWidget()
    qtbot.waitUntil(calendar.isVisible)  # type: ignore[attr-defined]
    view = calendar.findChild(QTableView)
    assert view is not None
    model = view.model()
    metrics = QFontMetrics(view.font())
    problems = []
    for column in range(model.columnCount()):
        for row in range(model.rowCount()):
            text = str(model.index(row, column).data() or "")
            room = view.columnWidth(column) - 2
            if metrics.horizontalAdvance(text) > room:
                problems.append(f"{text!r} wider than {room}")
    last = model.rowCount() - 1
    bottom = view.rowViewportPosition(last) + view.rowHeight(last)
    if bottom > view.viewport().height():
        problems.append(f"last week clipped: {bottom} > {view.viewport().height()}")
    calendar.window().close()
    return problems


@pytest.mark.parametrize("points", [9, 14])
def test_the_calendar_popup_shows_every_name_and_week(
    qtbot: object, locale: None, points: int, request: pytest.FixtureRequest
) -> None:
    QLocale.setDefault(QLocale("en_GB"))
    from PySide6.QtWidgets import QApplication, QWidget

    from hms_desktop.ui.shell.style import load_style_sheet

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet = load_style_sheet()
    assert "QTableView::item" in sheet  # the window's look: its cell padding included
    app.setStyleSheet(sheet)
    request.addfinalizer(lambda: app.setStyleSheet(""))
    host = QWidget()
    qtbot.addWidget(host)  # type: ignore[attr-defined]
    font = QFont(host.font())
    font.setPointSize(points)
    host.setFont(font)
    edit = dates.date_edit(host, date(2026, 12, 7))
    host.show()
    assert edit.text() == "Mon, 7 Dec 2026" and edit.displayFormat() == "ddd, d MMM yyyy"
    assert _calendar_shows_everything(edit, qtbot) == []
