"""The book's changes run on workers: a slow database never freezes the window, and
Enter pressed twice while a booking is on its way books once. On a SQLite file and on
PostgreSQL, with real keys; the slow database is another connection's real write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.booking.book.acts import NOT_YET
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.operations import Operations
from tests import factories as f
from tests.gui.book_support import WAIT, asked, center, drag, tomorrows_book


@pytest.fixture
def ops(qtbot: QtBot, clinic: Clinic) -> Iterator[Operations]:
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT)
    assert helper.shutdown()


@pytest.fixture
def world(clinic: Clinic) -> f.World:
    return f.world(clinic)


@pytest.fixture
def view(qtbot: QtBot, clinic: Clinic, ops: Operations, world: f.World) -> BookView:
    """Tomorrow's book, José chosen, the cursor on Dr. Lovelace's free 09:30."""
    widget = tomorrows_book(qtbot, clinic, ops, world)
    widget.acts.set_patient(patients.get_patient(clinic, SYSTEM, world.patient_id))
    widget.table.setFocus()
    widget.table.setCurrentIndex(widget.model.index(widget.model.row_for(time(9, 30)), 0))
    return widget


@contextmanager
def writes_held(url: str) -> Iterator[None]:
    """Another PC in the middle of a long write: until the block ends, the clinic's
    database takes no booking (reads go on, as they do on both databases)."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # Reads (ACCESS SHARE) pass; the booking's INSERT waits for the lock.
            conn.exec_driver_sql("LOCK TABLE appointments IN EXCLUSIVE MODE")
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def _visits(clinic: Clinic) -> list[tuple[int, int, time]]:
    return [(a.patient_id, a.doctor_id, a.time) for a in booking.list_appointments(clinic, SYSTEM)]


def test_enter_books_through_a_worker_with_the_confirmation(
    qtbot: QtBot, view: BookView, clinic: Clinic, world: f.World
) -> None:
    bar = view.confirmation
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    assert view.acts.saving and view.message.text() == "Booking…"
    qtbot.waitUntil(bar.isVisible, timeout=WAIT)
    assert bar.text() == (
        f"Booked José Núñez (#{world.patient_id}) with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun "
        "at 09:30."
    )
    assert view.message.text() == "" and not view.acts.saving
    assert _visits(clinic) == [(world.patient_id, world.doctor_id, time(9, 30))]
    # The book is read again and shows her where the cursor is.
    qtbot.waitUntil(lambda: str(view.table.currentIndex().data()).startswith("José"), timeout=WAIT)
    assert view.model.row_time(view.table.currentIndex().row()) == time(9, 30)


def test_enter_pressed_twice_books_once(
    qtbot: QtBot, view: BookView, clinic: Clinic, world: f.World
) -> None:
    changed: list[None] = []
    said: list[str] = []
    view.visits_changed.connect(lambda: changed.append(None))
    view.status_message.connect(said.append)
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    QTest.keyClick(view.table, Qt.Key.Key_Return)  # before the first is answered
    assert said == [NOT_YET]
    qtbot.waitUntil(view.confirmation.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    assert _visits(clinic) == [(world.patient_id, world.doctor_id, time(9, 30))]
    assert changed == [None]
    assert view.acts.active_dialog is None  # not asked about a "second visit that day"


def test_the_window_keeps_working_while_the_database_waits_for_another_write(
    qtbot: QtBot, view: BookView, clinic: Clinic, world: f.World, database_url: str
) -> None:
    ticks: list[None] = []
    timer = QTimer(view)
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(None))
    timer.start()
    bar = view.confirmation
    with writes_held(database_url):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
        # The event loop runs on while the booking waits for the lock on its worker.
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=WAIT)
        assert view.acts.saving and view.message.text() == "Booking…"
        assert not bar.isVisible()
        # The book still moves under the keys, and Enter again starts no second booking.
        QTest.keyClick(view.table, Qt.Key.Key_Down)
        assert view.model.row_time(view.table.currentIndex().row()) == time(10, 0)
        with qtbot.waitSignal(view.status_message, timeout=WAIT) as said:
            QTest.keyClick(view.table, Qt.Key.Key_Return)
        assert said.args == [NOT_YET]
        waited = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= waited + 5, timeout=WAIT)
        assert view.acts.saving and not bar.isVisible()
    # The other write ends: the booking goes through, once, at the time first chosen.
    qtbot.waitUntil(bar.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    timer.stop()
    assert bar.text().startswith("Booked José Núñez") and "at 09:30." in bar.text()
    assert _visits(clinic) == [(world.patient_id, world.doctor_id, time(9, 30))]


def test_a_move_a_cancel_and_a_no_show_wait_for_the_database_and_keep_their_undo(
    qtbot: QtBot, view: BookView, clinic: Clinic, world: f.World, database_url: str
) -> None:
    booking.book(clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                 day=world.day, at="09:00")  # fmt: skip
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.load()
    m, bar = view.model, view.confirmation
    nine, eleven = m.row_for(time(9, 0)), m.row_for(time(11, 0))
    ticks: list[None] = []
    timer = QTimer(view)
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(None))
    timer.start()

    def live() -> list[tuple[int, time, str]]:
        """The visits not cancelled (an Undo of a cancel books the visit again)."""
        rows = booking.list_appointments(clinic, SYSTEM)
        return [(a.doctor_id, a.time, a.status) for a in rows if a.status != "cancelled"]

    # A drag to Dr. Turing's 11:00 waits for the other write; the window does not.
    with writes_held(database_url):
        drag(view, center(view, nine, 0), center(view, eleven, 1))
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=WAIT)
        assert view.acts.saving and view.message.text() == "Moving…" and not bar.isVisible()
        assert str(m.index(nine, 0).data()).startswith("José Núñez")  # not moved yet
        # A second drag meanwhile starts nothing and says why.
        with qtbot.waitSignal(view.status_message, timeout=WAIT) as said:
            drag(view, center(view, nine, 0), center(view, m.row_for(time(10, 0)), 0))
        assert said.args == [NOT_YET] and view.message.text() == "Moving…"
    qtbot.waitUntil(bar.isVisible, timeout=WAIT)
    assert bar.text().startswith("Moved José Núñez's visit with Dr. Ada Lovelace from ")
    assert live() == [(world.other_doctor_id, time(11, 0), "booked")]
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert live() == [(world.doctor_id, time(9, 0), "booked")]

    # Delete, the question, then the cancel waits on its worker; Undo books it again.
    view.table.setFocus()
    view.table.setCurrentIndex(m.index(nine, 0))
    QTest.keyClick(view.table, Qt.Key.Key_Delete)
    box = asked(qtbot, view)
    [yes] = [b for b in box.buttons() if b.text().replace("&", "") == "Cancel visit"]
    with writes_held(database_url):
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
        waited = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= waited + 10, timeout=WAIT)
        assert view.acts.saving and view.message.text() == "Cancelling…"
    qtbot.waitUntil(lambda: bar.isVisible() and bar.text().startswith("Cancelled"), timeout=WAIT)
    assert bar.text().startswith("Cancelled José Núñez's visit with Dr. Ada Lovelace, ")
    assert live() == []
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert live() == [(world.doctor_id, time(9, 0), "booked")]

    # Once the visit has begun, No-show from the menu; the bar says so.
    clinic.clock.set(datetime.combine(world.day, time(9, 1), clinic.clock.tz))
    menu = view.acts.context_menu(nine, 0)
    [no_show] = [a for a in menu.actions() if a.text() == "&No-show"]
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        no_show.trigger()
    menu.deleteLater()
    timer.stop()
    assert bar.text().startswith("José Núñez's visit, ") and bar.text().endswith(
        "at 09:00, is marked a no-show."
    )
    assert live() == [(world.doctor_id, time(9, 0), "no_show")]
    # A no-show marked by mistake is taken back at once (QA: the book had no Undo for it).
    assert bar.undo_button.isVisible()
    qtbot.waitUntil(lambda: not view.ops.busy, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert live() == [(world.doctor_id, time(9, 0), "booked")]


def test_a_cursor_moved_during_a_slow_booking_stays_where_it_was_moved(
    qtbot: QtBot, view: BookView, clinic: Clinic, world: f.World, database_url: str
) -> None:
    """QA: after a slow booking the cursor jumped back to the booked cell, although the
    person had moved on meanwhile (to the next patient's time, say)."""
    bar, m = view.confirmation, view.model
    with writes_held(database_url):
        QTest.keyClick(view.table, Qt.Key.Key_Return)  # Dr. Lovelace's 09:30
        qtbot.waitUntil(lambda: view.acts.saving and view.message.text() == "Booking…")
        # While it waits: Down, Down, Right, to Dr. Turing's 10:30.
        for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Right):
            QTest.keyClick(view.table, key)
        assert view.current_key() == (world.other_doctor_id, world.day, time(10, 30))
    qtbot.waitUntil(bar.isVisible, timeout=WAIT)
    assert bar.text().startswith("Booked José Núñez") and "at 09:30." in bar.text()
    qtbot.waitUntil(lambda: not view.is_loading() and not view.ops.busy, timeout=WAIT)
    # Booked where asked; the cursor where the person put it, not back on the booking.
    assert str(m.index(m.row_for(time(9, 30)), 0).data()).startswith("José Núñez")
    assert view.current_key() == (world.other_doctor_id, world.day, time(10, 30))
    assert view.table.hasFocus()
    # The keys go on from there: Enter books Dr. Turing's 10:30 (asked first: José
    # already has a visit that day).
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    box = asked(qtbot, view)
    assert "Book another at 10:30 with Dr. Alan Turing?" in box.text()
    box.reject()


def test_a_cursor_moved_while_the_book_is_read_again_stays_there(
    qtbot: QtBot, view: BookView, world: f.World
) -> None:
    """The same for any read: a reload that ends after the person moved keeps their cell."""
    m = view.model
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.load()  # as on a change from another PC
        QTest.keyClick(view.table, Qt.Key.Key_Down)  # before the read is answered
        assert view.is_loading()
    assert view.current_key() == (world.doctor_id, world.day, time(10, 0))
    assert m.row_time(view.table.currentIndex().row()) == time(10, 0)
