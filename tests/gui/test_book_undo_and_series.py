"""The book's confirmation with Undo, its chosen doctors, series moves and cancels, and
its reads off the UI thread: real keys and mouse on the real widgets."""

from __future__ import annotations

import threading
from datetime import time, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from hms_desktop import config
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import book, booking, hours, series
from hms_desktop.services.views import day_words
from hms_desktop.ui.booking.book.model import KIND_ROLE
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.change_relay import ChangeRelay
from hms_desktop.ui.common.dates import when_text
from hms_desktop.ui.common.operations import Operations
from tests import factories as f
from tests.gui.book_support import (
    WAIT,
    asked,
    book_at,
    center,
    drag,
    ops,
    reload,
    view,
    world,
)

__all__ = ["ops", "view", "world"]


def _choose_jose_by_keyboard(qtbot: QtBot, view: BookView) -> None:
    """Enter on free time with no patient chosen: the finder asks; José by keys."""
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    dialog = view.acts.patient_dialog
    assert dialog is not None and dialog.isVisible()
    QTest.keyClicks(dialog.picker.search, "Jose")
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.chosen is not None, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(dialog.picker.results.view, Qt.Key.Key_Return)


def _live(clinic: Clinic) -> list[tuple[int, time]]:
    return [
        (a.doctor_id, a.time)
        for a in booking.list_appointments(clinic, SYSTEM)
        if a.status == "booked"
    ]


def test_booking_moving_and_cancelling_say_so_with_undo(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    bar, m = view.confirmation, view.model
    assert not bar.isVisible()
    view.table.setFocus()
    view.table.setCurrentIndex(m.index(m.row_for(time(9, 30)), 0))
    _choose_jose_by_keyboard(qtbot, view)
    assert _live(sqlite_clinic) == [(world.doctor_id, time(9, 30))]
    assert bar.isVisible()
    assert bar.text() == (
        f"Booked José Núñez (#{world.patient_id}) with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun "
        "at 09:30."
    )
    view.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view, timeout=WAIT)
    # Undo by click: the booking goes, the time is free again.
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert _live(sqlite_clinic) == []
    assert bar.text().startswith(
        f"Undone: the booking of José Núñez (#{world.patient_id}) with Dr. Ada Lovelace"
    )
    assert m.index(m.row_for(time(9, 30)), 0).data(KIND_ROLE) == "free"
    assert view.table.hasFocus()  # the reload kept the keyboard where it was

    # The patient stays chosen: Enter books; Ctrl+Z (the keyboard) takes it back.
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    assert _live(sqlite_clinic) == [(world.doctor_id, time(9, 30))]
    assert bar.text().startswith("Booked José Núñez")
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _live(sqlite_clinic) == []
    assert bar.text().startswith("Undone:")
    # Once is all: a second Ctrl+Z says so in the status bar (it used to say nothing).
    said: list[str] = []
    view.status_message.connect(said.append)
    QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    view.status_message.disconnect(said.append)
    assert said == ["Nothing to undo."]
    assert _live(sqlite_clinic) == [] and bar.text().startswith("Undone:")

    # A move by dragging names both times; Undo puts it back.
    book_at(sqlite_clinic, world, "09:00", world.patient_id)
    book_at(sqlite_clinic, world, "10:00", world.other_patient_id)
    reload(qtbot, view)
    nine, ten, eleven = (m.row_for(time(h, 0)) for h in (9, 10, 11))
    reload(qtbot, view, lambda: drag(view, center(view, nine, 0), center(view, eleven, 1)))
    assert bar.text() == (
        "Moved José Núñez's visit with Dr. Ada Lovelace from Tomorrow, Tue, 16 Jun at 09:00 "
        "to Tomorrow, Tue, 16 Jun at 11:00 with Dr. Alan Turing."
    )
    moved = bar.text()
    # Dragged over a taken cell: a red outline and the forbidden cursor; over free time
    # the usual one. The refused drop keeps the move's bar (its Undo still stands) and
    # says why on the message line, naming the visit in the way.
    port, start = view.table.viewport(), center(view, eleven, 1)
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, center(view, nine, 0))
    assert view.table.drop_allowed and port.cursor().shape() == Qt.CursorShape.ClosedHandCursor
    QTest.mouseMove(port, center(view, ten, 0))
    assert not view.table.drop_allowed
    assert port.cursor().shape() == Qt.CursorShape.ForbiddenCursor
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.mouseRelease(
            port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, center(view, ten, 0)
        )
    assert bar.text() == moved and bar.can_undo()
    assert view.message.text().startswith(
        "Not moved: Dr. Ada Lovelace already has a visit at 10:00-10:30 on "
    )
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert sorted(_live(sqlite_clinic)) == [
        (world.doctor_id, time(9, 0)),
        (world.doctor_id, time(10, 0)),
    ]
    assert m.index(nine, 0).data().startswith("José Núñez")

    # A refused drag (taken) says why; it changes nothing else.
    reload(qtbot, view, lambda: drag(view, center(view, nine, 0), center(view, ten, 0)))
    assert view.message.text().startswith("Not moved")

    # Delete cancels after the question; the bar names it; Undo books it again.
    view.table.setFocus()
    view.table.setCurrentIndex(m.index(ten, 0))
    QTest.keyClick(view.table, Qt.Key.Key_Delete)
    box = view.acts.active_dialog
    assert isinstance(box, QMessageBox)
    [yes] = [b for b in box.buttons() if b.text().replace("&", "") == "Cancel visit"]
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    assert (
        bar.text()
        == "Cancelled Anna Smith's visit with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun at 10:00."
    )
    assert m.index(ten, 0).data(KIND_ROLE) == "free"
    view.activateWindow()  # back from the question
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert m.index(ten, 0).data().startswith("Anna Smith")
    assert bar.text().startswith("Undone: Anna Smith is booked again")


def test_a_chosen_set_of_doctors_by_keyboard_is_remembered_on_this_pc(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, ops: Operations, world: f.World
) -> None:
    other = f.doctor(sqlite_clinic, world.department_id, "Dr. Grace Hopper")
    reload(qtbot, view)
    assert view.model.columnCount() == 3
    QTest.keyClick(view.controls.doctors_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.doctor_picker is not None, timeout=WAIT)
    picker = view.doctor_picker
    assert picker is not None and picker.search.hasFocus()
    QTest.keyClicks(picker.search, "tur")
    assert [i.text() for i in picker.shown_items()] == ["Dr. Alan Turing — General Medicine"]
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    assert picker.list.hasFocus()
    QTest.keyClick(picker.list, Qt.Key.Key_Space)  # ticks Dr. Turing
    picker.search.clear()
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    QTest.keyClicks(picker.list, "hopx")  # letters go back to the search field
    assert picker.search.text() == "hopx" and picker.shown_items() == []
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    QTest.keyClick(picker.list, Qt.Key.Key_Backspace)  # and so does Backspace
    assert picker.search.text() == "hop" and len(picker.shown_items()) == 1
    QTest.keyClick(picker.search, Qt.Key.Key_Down)
    QTest.keyClick(picker.list, Qt.Key.Key_Space)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(picker.list, Qt.Key.Key_Return)
    headers = [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)]
    assert headers == ["Dr. Alan Turing", "Dr. Grace Hopper"]
    assert view.controls.doctors_button.text() == "Do&ctors: 2 chosen"
    # This PC's settings file keeps it; the clinic database knows nothing of it.
    stored = config.load_settings(environ={})
    assert stored.book_doctors == f"{world.other_doctor_id},{other}"
    # A new book on this PC opens with the same doctors.
    again = BookView(sqlite_clinic, f.RECEPTION, ops)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.model.columnCount() == 2, timeout=WAIT)
    # "Every doctor" goes back to all of them.
    view.controls.doctors_button.click()
    qtbot.waitUntil(lambda: view.doctor_picker is not None, timeout=WAIT)
    picker = view.doctor_picker
    assert picker is not None
    picker.all_button.click()
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(picker.search, Qt.Key.Key_Return)
    assert view.model.columnCount() == 3 and config.load_settings(environ={}).book_doctors == ""
    assert view.controls.doctors_button.text() == "Do&ctors: all"


def _open_menu(qtbot: QtBot, view: BookView, row: int, column: int) -> QMenu:
    """The menu key on the cell, as a person does; the menu that opens."""
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(row, column))
    QTest.keyClick(view.table, Qt.Key.Key_Menu)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=WAIT)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def test_a_series_visit_moves_or_cancels_with_its_later_ones(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    clinic = sqlite_clinic
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    made = series.book_series(
        clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
        dates=[world.day + timedelta(weeks=w) for w in range(3)], at="10:00",
    )  # fmt: skip
    assert len(made.booked) == 3
    third = world.day + timedelta(weeks=2)
    booking.book(clinic, SYSTEM, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
                 day=third, at="11:00")  # fmt: skip
    reload(qtbot, view)
    m = view.model
    ten, eleven = m.row_for(time(10, 0)), m.row_for(time(11, 0))
    menu = _open_menu(qtbot, view, ten, 0)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[2:7] == [
        "&Move this visit…",
        "Move this and all &later…",
        "&Cancel this visit…",
        "Cancel this and all la&ter…",
        "&No-show",
    ]
    QTest.keyClick(menu, Qt.Key.Key_L)  # Move this and all later
    qtbot.waitUntil(lambda: view.acts.moving is not None, timeout=WAIT)
    view.table.setFocus()
    view.table.setCurrentIndex(m.index(eleven, 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    box = view.acts.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Nothing was moved" in box.text() and "Tue, 30 Jun 2026 at 11:00" in box.text()
    box.close()
    mine = booking.AppointmentFilter(patient_id=world.patient_id, statuses=("booked",))
    assert {a.time for a in booking.list_appointments(clinic, SYSTEM, mine)} == {time(10, 0)}
    assert not view.confirmation.isVisible()

    # To 11:30 all three fit: they move together, the bar says so.
    menu = _open_menu(qtbot, view, ten, 0)
    QTest.keyClick(menu, Qt.Key.Key_L)
    view.table.setCurrentIndex(m.index(m.row_for(time(11, 30)), 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    rows = booking.list_appointments(clinic, SYSTEM, mine)
    assert [(a.date, a.time) for a in rows] == [
        (world.day + timedelta(weeks=w), time(11, 30)) for w in range(3)
    ]
    moved = view.confirmation.text()
    assert f"from {when_text(world.day, time(10, 0), clinic.today())} to " in moved
    assert moved.endswith("; the later ones of the series are at 11:30 too.")

    # Next week: "Cancel this and all later" lists both visits before anything goes.
    reload(qtbot, view, lambda: view.set_date(world.day + timedelta(weeks=1)))
    menu = _open_menu(qtbot, view, m.row_for(time(11, 30)), 0)
    QTest.keyClick(menu, Qt.Key.Key_T)
    box = asked(qtbot, view)  # once the visits are read on the worker
    assert "Cancel these 2 visits of José Núñez?" in box.text() and "30 Jun" in box.text()
    assert len(booking.list_appointments(clinic, SYSTEM, mine)) == 3  # nothing yet
    [yes] = [b for b in box.buttons() if b.text().replace("&", "") == "Cancel 2 visits"]
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    assert [a.date for a in booking.list_appointments(clinic, SYSTEM, mine)] == [world.day]
    assert view.confirmation.text().startswith("Cancelled 2 visits of José Núñez")


def test_a_series_move_stopped_by_a_time_taken_meanwhile_says_which_and_moves_nothing(
    qtbot: QtBot,
    view: BookView,
    sqlite_clinic: Clinic,
    world: f.World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clinic = sqlite_clinic
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    made = series.book_series(
        clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
        dates=[world.day + timedelta(weeks=w) for w in range(3)], at="10:00",
    )  # fmt: skip
    assert len(made.booked) == 3
    third = world.day + timedelta(weeks=2)
    listed = series.move_conflicts

    def listing_then_another_desk_books(*args: Any, **kw: Any) -> list[series.Conflict]:
        found = listed(*args, **kw)  # every new time free, as the desk chose it
        booking.book(clinic, SYSTEM, patient_id=world.other_patient_id,
                     doctor_id=world.doctor_id, day=third, at="11:00")  # fmt: skip
        return found

    monkeypatch.setattr(series, "move_conflicts", listing_then_another_desk_books)
    reload(qtbot, view)
    m = view.model
    menu = _open_menu(qtbot, view, m.row_for(time(10, 0)), 0)
    QTest.keyClick(menu, Qt.Key.Key_L)  # Move this and all later
    qtbot.waitUntil(lambda: view.acts.moving is not None, timeout=WAIT)
    view.table.setFocus()
    view.table.setCurrentIndex(m.index(m.row_for(time(11, 0)), 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    # One line: which time, why, and that nothing moved (no "Not moved:" before it).
    assert view.message.text() == (
        f"{day_words(third)} 11:00 is taken now (another desk booked it), so none of the 3 "
        "visits was moved."
    )
    assert not view.confirmation.isVisible()
    mine = booking.AppointmentFilter(patient_id=world.patient_id, statuses=("booked",))
    assert [a.time for a in booking.list_appointments(clinic, SYSTEM, mine)] == [time(10, 0)] * 3
    assert m.index(m.row_for(time(10, 0)), 0).data().startswith("José Núñez")


def test_a_repeat_stopped_by_a_date_taken_meanwhile_books_none_and_lists_it_next_time(
    qtbot: QtBot,
    view: BookView,
    sqlite_clinic: Clinic,
    world: f.World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clinic = sqlite_clinic
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    book_at(clinic, world, "10:00", world.patient_id)
    reload(qtbot, view)
    block = view.model.cell(view.model.row_for(time(10, 0)), 0).block
    assert block is not None
    third = world.day + timedelta(weeks=2)
    listed = series.plan

    def listing_then_another_desk_books(*args: Any, **kw: Any) -> list[series.Conflict]:
        found = listed(*args, **kw)
        booking.book(clinic, SYSTEM, patient_id=world.other_patient_id,
                     doctor_id=world.doctor_id, day=third, at="10:00")  # fmt: skip
        return found

    monkeypatch.setattr(series, "plan", listing_then_another_desk_books)
    dialog = view.acts.repeat(block, 0)
    dialog.count.setValue(3)
    dialog.book_button.click()
    assert dialog.isVisible() and dialog.conflicts.text() == (
        f"{day_words(third)} 10:00 is taken now (another desk booked it), so none of the 2 "
        "repeat visits was booked."
    )
    mine = booking.AppointmentFilter(patient_id=world.patient_id)
    assert [a.date for a in booking.list_appointments(clinic, SYSTEM, mine)] == [world.day]
    # Book again: the dates are checked afresh, the taken one is listed, the other books.
    monkeypatch.setattr(series, "plan", listed)
    dialog.book_button.click()
    assert "These dates cannot be booked:" in dialog.conflicts.text()
    assert dialog.book_button.text() == "&Book the others"
    with qtbot.waitSignal(dialog.booked, timeout=WAIT) as made, qtbot.waitSignal(view.loaded):
        dialog.book_button.click()
    assert len(made.args[0]) == 1
    assert [a.date for a in booking.list_appointments(clinic, SYSTEM, mine)] == [
        world.day,
        world.day + timedelta(weeks=1),
    ]


def test_a_repeats_undo_refused_for_one_changed_visit_says_which_and_undoes_nothing(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    clinic = sqlite_clinic
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    book_at(clinic, world, "10:00", world.patient_id)
    reload(qtbot, view)
    block = view.model.cell(view.model.row_for(time(10, 0)), 0).block
    assert block is not None
    dialog = view.acts.repeat(block, 0)
    dialog.count.setValue(3)
    with qtbot.waitSignal(dialog.booked, timeout=WAIT) as made, qtbot.waitSignal(view.loaded):
        dialog.book_button.click()
    repeats: tuple[int, ...] = made.args[0]
    assert len(repeats) == 2 and view.confirmation.can_undo()
    # Another desk cancels the last of them before this desk's Undo.
    last_week = world.day + timedelta(weeks=2)
    [changed] = [i for i in repeats if booking.get_appointment(clinic, SYSTEM, i).date == last_week]
    booking.cancel(clinic, SYSTEM, changed)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=WAIT)
    view.table.setFocus()
    with qtbot.waitSignal(view.visits_changed, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    # One line: which visit, why, and that nothing was taken back.
    assert view.confirmation.text() == (
        f"Could not undo: The visit on {day_words(last_week)} at 10:00 was cancelled "
        "meanwhile, so none of the 2 repeat visits was taken back."
    )
    assert not view.confirmation.can_undo()
    mine = booking.AppointmentFilter(patient_id=world.patient_id, statuses=("booked",))
    assert [a.date for a in booking.list_appointments(clinic, SYSTEM, mine)] == [
        world.day,
        world.day + timedelta(weeks=1),
    ]


def test_the_book_is_read_off_the_ui_thread_newest_date_wins_and_keeps_the_cell(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    view: BookView,
    sqlite_clinic: Clinic,
    world: f.World,
) -> None:
    readers: list[threading.Thread] = []
    real = book.day_book

    def recording(*args: Any, **kw: Any) -> book.DayBook:
        readers.append(threading.current_thread())  # a spy: the real read runs
        return real(*args, **kw)

    monkeypatch.setattr(book, "day_book", recording)
    later = world.day + timedelta(days=1)
    f.open_day(sqlite_clinic, world.doctor_id, later, "14:00", "16:00")
    loads: list[object] = []
    view.loaded.connect(lambda: loads.append(view.day))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.set_date(world.day - timedelta(days=1))  # a quick second change follows
        assert view.is_loading()
        view.set_date(later)
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    assert loads == [later]  # the first read's result was dropped, never shown
    assert readers and threading.main_thread() not in readers
    assert view.model.column_day(0) == later
    assert view.model.index(view.model.row_for(time(14, 0)), 0).data(KIND_ROLE) == "free"

    # A change elsewhere reaches the book through the relay; the cursor stays on its cell.
    reload(qtbot, view, lambda: view.set_date(world.day))
    relay = ChangeRelay(sqlite_clinic, view)
    relay.changed.connect(view.on_changes)
    try:
        view.table.setFocus()
        view.table.setCurrentIndex(view.model.index(view.model.row_for(time(10, 30)), 1))
        with qtbot.waitSignal(view.loaded, timeout=WAIT):
            book_at(sqlite_clinic, world, "09:00", world.other_patient_id, world.other_doctor_id)
        assert view.model.index(view.model.row_for(time(9, 0)), 1).data().startswith("Anna")
        index = view.table.currentIndex()
        assert (index.column(), view.model.row_time(index.row())) == (1, time(10, 30))
        assert view.table.hasFocus()
    finally:
        relay.close()
