"""Choosing a patient by keyboard: one key never both picks and books, nor picks the wrong one;
namesakes are told apart by phone, year of birth and number up to the booking."""

from __future__ import annotations

from datetime import date, time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.booking.book.dialogs import PatientChoice
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.patient_text import patient_text
from tests import factories as f
from tests.gui.book_support import WAIT, ops, view, world

__all__ = ["ops", "view", "world"]


def _ask_for_patient(view: BookView, at: time) -> PatientChoice:
    """Enter on free time with nobody chosen: the finder asks."""
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(view.model.row_for(at), 0))
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    dialog = view.acts.patient_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _type_and_wait(qtbot: QtBot, dialog: PatientChoice, text: str) -> None:
    QTest.keyClicks(dialog.picker.search, text)
    qtbot.waitUntil(
        lambda: not dialog.picker.search_pending() and dialog.picker.model.rowCount() == 1,
        timeout=WAIT,
    )


def test_enter_in_the_book_finder_picks_and_the_next_enter_books(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    dialog = _ask_for_patient(view, time(9, 30))
    _type_and_wait(qtbot, dialog, "Jose")  # the results are on screen before Enter
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    assert dialog.chosen is not None and dialog.chosen.id == world.patient_id
    assert view.acts.patient_dialog is dialog and dialog.isVisible()  # picked, not booked
    assert booking.list_appointments(sqlite_clinic, SYSTEM) == []
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    assert view.acts.patient_dialog is None
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert (appt.patient_id, appt.time) == (world.patient_id, time(9, 30))


def test_arrows_only_highlight_and_enter_on_another_row_only_picks_it(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    dialog = _ask_for_patient(view, time(9, 30))
    QTest.keyClicks(dialog.picker.search, "4930")  # both patients' phones begin so
    qtbot.waitUntil(
        lambda: not dialog.picker.search_pending() and dialog.picker.model.rowCount() == 2,
        timeout=WAIT,
    )
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    first = dialog.chosen
    assert first is not None and dialog.isVisible()
    view_ = dialog.picker.results.view
    view_.setFocus()
    QTest.keyClick(view_, Qt.Key.Key_Down)
    assert dialog.chosen is first  # the arrow only moved the highlight
    second = dialog.picker.current_patient()
    assert second is not None and second.id != first.id
    QTest.keyClick(view_, Qt.Key.Key_Return)  # picks the other one; books nothing yet
    assert dialog.chosen is not None and dialog.chosen.id == second.id and dialog.isVisible()
    assert booking.list_appointments(sqlite_clinic, SYSTEM) == []
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view_, Qt.Key.Key_Return)
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert appt.patient_id == second.id


def test_typing_again_drops_the_choice_so_enter_cannot_book_the_old_patient(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    dialog = _ask_for_patient(view, time(9, 30))
    _type_and_wait(qtbot, dialog, "Jose")
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    assert dialog.chosen is not None and dialog.chosen.id == world.patient_id
    dialog.picker.search.selectAll()
    QTest.keyClicks(dialog.picker.search, "Anna")  # José is no longer the one on screen
    assert dialog.chosen is None and not dialog.ok.isEnabled()
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)  # the search has not answered
    qtbot.waitUntil(lambda: dialog.chosen is not None, timeout=WAIT)
    assert dialog.chosen is not None and dialog.chosen.id == world.other_patient_id
    assert dialog.isVisible() and booking.list_appointments(sqlite_clinic, SYSTEM) == []
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert appt.patient_id == world.other_patient_id


def test_patient_text_names_the_year_of_birth_and_the_number() -> None:
    assert patient_text("Anna Hoffmann", 42, date(1987, 3, 2)) == "Anna Hoffmann (born 1987, #42)"
    assert patient_text("Anna Hoffmann", 42) == "Anna Hoffmann (#42)"


def test_namesakes_are_told_apart_by_phone_year_and_number_up_to_the_booking(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    older = f.patient(
        sqlite_clinic, "Maria Kowalski", date_of_birth=date(1962, 5, 1), phone="+49 30 1111111"
    )
    younger = f.patient(
        sqlite_clinic, "Maria Kowalski", date_of_birth=date(1994, 8, 9), phone="+49 30 2222222"
    )
    dialog = _ask_for_patient(view, time(9, 30))
    QTest.keyClicks(dialog.picker.search, "Kowal")
    model = dialog.picker.model
    qtbot.waitUntil(
        lambda: not dialog.picker.search_pending() and model.rowCount() == 2, timeout=WAIT
    )
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert titles == ["Patient", "Born", "Phone", "ID"]
    shown = {tuple(model.index(r, c).data() for c in range(4)) for r in range(2)}
    assert shown == {
        ("Maria Kowalski", "1962", "+49 30 1111111", str(older)),
        ("Maria Kowalski", "1994", "+49 30 2222222", str(younger)),
    }
    row = next(r for r in range(2) if model.rows[r].id == younger)
    dialog.picker.results.view.setFocus()
    dialog.picker.results.view.setCurrentIndex(model.index(row, 0))
    QTest.keyClick(dialog.picker.results.view, Qt.Key.Key_Return)
    who = f"Maria Kowalski (born 1994, #{younger})"
    assert dialog.chosen_label.text() == f"Chosen: {who}"
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(dialog.picker.results.view, Qt.Key.Key_Return)
    assert view.controls.patient_label.text() == f"Patient: {who}"
    assert view.confirmation.text().startswith(f"Booked {who} with Dr. Ada Lovelace")
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert appt.patient_id == younger
