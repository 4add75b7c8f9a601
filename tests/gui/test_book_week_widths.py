"""A doctor's week in the Book tab at 1024x768 and 1280x800: the working days get the width.

QA: Saturday and Sunday, with no hours, took as much width as the working days, and the
names in those were squeezed to initials ("G. Schwarzer").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking, hours
from hms_desktop.ui.booking.book.table import BookTable
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f
from tests.gui.book_support import shown_window
from tests.realwindow.elision import columns_cut_off

WAIT = 20_000
LONG_NAME = "Gabriela Schwarzer"


@pytest.fixture(params=[(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
def window(
    request: pytest.FixtureRequest, qtbot: QtBot, styled: QApplication, sqlite_clinic: Clinic
) -> Iterator[MainWindow]:
    """The front desk's window at the size asked, a doctor working Monday to Friday, a
    patient with a long name booked with her tomorrow."""
    world = f.world(sqlite_clinic)
    for day in ("mon", "tue", "wed", "thu", "fri"):
        hours.set_weekly(sqlite_clinic, SYSTEM, world.doctor_id, day, [("09:00", "12:00")])
    patient = f.patient(sqlite_clinic, LONG_NAME)
    booking.book(
        sqlite_clinic, SYSTEM, patient_id=patient, doctor_id=world.doctor_id, day=world.day,
        at="09:30",
    )  # fmt: skip
    with shown_window(qtbot, sqlite_clinic, request.param) as shown:
        yield shown


def _shown_text(table: BookTable, index: QModelIndex) -> str:
    """What the cell shows, as the book's delegate lays it out (whole, or in initials)."""
    option = QStyleOptionViewItem()
    option.initFrom(table)
    option.widget = table
    option.rect = table.visualRect(index)
    table.itemDelegate().initStyleOption(option, index)  # type: ignore[attr-defined]
    return str(option.text)


def test_a_week_gives_its_working_days_the_width_and_their_names_whole(
    qtbot: QtBot, window: MainWindow, sqlite_clinic: Clinic
) -> None:
    book = window.book_tab
    qtbot.keySequence(window, "Ctrl+2")
    assert window.tabs.currentWidget() is book
    qtbot.waitUntil(lambda: not book.is_loading() and book.model.columnCount() > 0, timeout=WAIT)
    table, model = book.table, book.model
    assert table.hasFocus()
    # Alt+W: the week of the doctor under the cursor (Dr. Ada Lovelace, the first column).
    with qtbot.waitSignal(book.loaded, timeout=WAIT):
        qtbot.keyClick(table, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert model.week and model.columnCount() == 7
    header = table.horizontalHeader()
    widths = [header.sectionSize(c) for c in range(7)]
    days = [model.column_day(c).weekday() for c in range(7)]
    working = [w for w, d in zip(widths, days, strict=True) if d < 5]
    weekend = [w for w, d in zip(widths, days, strict=True) if d >= 5]
    assert len(working) == 5 and len(weekend) == 2
    # The weekend keeps its headings whole, in less than half a working day's width.
    assert max(weekend) * 2 <= min(working), widths
    assert columns_cut_off(table) == []
    assert sum(widths) <= table.viewport().width()
    # Her name whole in tomorrow's column, not "G. Schwarzer".
    tomorrow = model.column_for(book.week_doctor(), sqlite_clinic.today() + timedelta(days=1))
    index = model.index(model.row_for(time(9, 30)), tomorrow)
    assert _shown_text(table, index) == LONG_NAME
