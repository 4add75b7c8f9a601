"""The Patient tab, driven through its real widgets on a real SQLite clinic.

Booking, the "slot taken" race, rescheduling, cancelling, the profile, and a
patient seeing only their own data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QMessageBox,
    QTableView,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from hms_desktop.services.views import Slot
from hms_desktop.ui.booking.booking_dialog import BookingDialog
from hms_desktop.ui.common.change_relay import ChangeRelay
from hms_desktop.ui.common.dates import birth_text
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.exports.export_dialog import ExportDialog
from hms_desktop.ui.patient.patient_tab import PAGE_UPCOMING, PatientTab
from tests import factories as f

WAIT = 10_000


@pytest.fixture
def ops(qtbot: QtBot, sqlite_clinic: Clinic) -> Iterator[Operations]:
    """The operation helper; every worker is finished and waited for at teardown."""
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT)
    assert helper.shutdown()


@pytest.fixture
def world(sqlite_clinic: Clinic) -> f.World:
    return f.world(sqlite_clinic)


def make_tab(qtbot: QtBot, clinic: Clinic, actor: Actor, ops: Operations) -> PatientTab:
    tab = PatientTab(clinic, actor, ops)
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitUntil(lambda: tab.browser.departments_model.rowCount() > 0, timeout=WAIT)
    return tab


def click_row(qtbot: QtBot, view: QTableView, row: int) -> None:
    """Click a table row like a person would (on its first visible cell)."""
    column = next(c for c in range(view.model().columnCount()) if not view.isColumnHidden(c))
    index = view.model().index(row, column)
    view.scrollTo(index)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def button_for(widget: QWidget, text: str) -> QAbstractButton:
    """The visible button whose text (without mnemonics) starts with ``text``."""
    for button in widget.findChildren(QAbstractButton):
        if button.text().replace("&", "").startswith(text) and button.isVisible():
            return button
    raise AssertionError(f"no visible button {text!r}")


def is_closed(widget: QWidget) -> bool:
    """Closed dialogs delete themselves (WA_DeleteOnClose)."""
    return not shiboken6.isValid(widget) or not widget.isVisible()


def row_of(view: QTableView, slot: Slot) -> int:
    model = view.model()
    for i in range(model.rowCount()):
        if model.row_at(i).slot == slot:  # type: ignore[attr-defined]
            return i
    raise AssertionError(f"{slot} not listed")


def choose_patient(qtbot: QtBot, tab: PatientTab, text: str, patient_id: int) -> None:
    """Type in the finder and choose the one result with Enter."""
    assert tab.picker is not None
    tab.picker.search.setFocus()
    qtbot.keyClicks(tab.picker.search, text)
    qtbot.waitUntil(
        lambda: [p.id for p in tab.picker.model.rows] == [patient_id],  # type: ignore[union-attr]
        timeout=WAIT,
    )
    qtbot.keyClick(tab.picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.patient is not None and tab.patient.id == patient_id, timeout=WAIT)
    qtbot.waitUntil(lambda: tab.profile.full_name.isEnabled(), timeout=WAIT)


def open_booking(qtbot: QtBot, tab: PatientTab, slot: Slot) -> BookingDialog:
    """Pick the doctor and the slot in the browser, press Book, wait for the dialog's slots."""
    qtbot.waitUntil(lambda: tab.browser.slot_picker.model.rowCount() > 0, timeout=WAIT)
    assert tab.browser.select_doctor(slot.doctor_id)
    view = tab.browser.slot_picker.table.view
    click_row(qtbot, view, row_of(view, slot))
    assert tab.browser.current_slot() == slot
    qtbot.mouseClick(button_for(tab.browser, "Book selected slot"), Qt.MouseButton.LeftButton)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == slot, timeout=WAIT)
    return dialog


def test_desk_registers_patient_and_books_a_slot(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    new_id = patients.register_patient(
        clinic,
        SYSTEM,
        patients.PatientForm(full_name="Maria Kowalski", phone="+49 30 5550100", email="m@k.test"),
    )
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    assert tab.stack.currentIndex() == 0  # "find a patient" until one is chosen
    choose_patient(qtbot, tab, "kowal", new_id)
    assert tab.title.text() == "Maria Kowalski"

    slot = Slot(world.doctor_id, world.day, time(9, 30), time(10, 0))
    dialog = open_booking(qtbot, tab, slot)
    for model in (
        tab.browser.departments_model,
        tab.browser.doctors_model,
        tab.browser.slot_picker.model,
        tab.picker.model,  # type: ignore[union-attr]
        dialog.slot_picker.model,
    ):
        qtmodeltester.check(model)  # type: ignore[attr-defined]
    dialog.visit_type.setCurrentIndex(dialog.visit_type.findData("check_up"))
    qtbot.keyClicks(dialog.reason, "Annual check")
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    with qtbot.waitSignal(tab.booked, timeout=WAIT) as booked:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.upcoming_model.rowCount() == 1, timeout=WAIT)
    assert is_closed(dialog)
    # Named in full, in the status bar and in the confirmation that stays until the next action.
    said = (
        f"Booked Maria Kowalski (#{new_id}) with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun at 09:30."
    )
    assert messages == [said]
    assert tab.confirmation.isVisible() and tab.confirmation.text() == said

    [row] = tab.upcoming_model.rows
    assert row.id == booked.args[0]
    assert (row.patient_id, row.doctor_id, row.date, row.time) == (
        new_id,
        world.doctor_id,
        world.day,
        time(9, 30),
    )
    assert (row.status, row.visit_type, row.reason) == ("booked", "check_up", "Annual check")
    qtmodeltester.check(tab.upcoming_model)  # type: ignore[attr-defined]
    # The slot is gone from the browser once it reloads.
    qtbot.waitUntil(lambda: slot not in tab.browser.slot_picker.slots(), timeout=WAIT)


def test_slot_taken_meanwhile_keeps_the_form_and_refreshes_slots(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    choose_patient(qtbot, tab, str(world.patient_id), world.patient_id)
    slot = Slot(world.doctor_id, world.day, time(10, 0), time(10, 30))
    dialog = open_booking(qtbot, tab, slot)
    dialog.visit_type.setCurrentIndex(dialog.visit_type.findData("follow_up"))
    qtbot.keyClicks(dialog.reason, "Knee pain again")

    # Another PC books the same slot for someone else while the dialog is open.
    booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.other_patient_id,
        doctor_id=slot.doctor_id,
        day=slot.date,
        at=slot.time,
    )
    with qtbot.waitSignal(dialog.slots_loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.isVisible()
    assert dialog.slot_error.isVisible()
    assert "already has a visit" in dialog.slot_error.text()
    assert "Choose another free slot" in dialog.slot_error.text()
    assert dialog.reason.toPlainText() == "Knee pain again"
    assert dialog.visit_type.currentData() == "follow_up"
    assert slot not in dialog.slot_picker.slots()  # the free slots were refreshed
    assert dialog.slot_picker.current_slot() is None
    assert not dialog.save_button.isEnabled()  # nothing chosen: nothing to book

    # Choosing another slot clears the message and books with everything kept.
    other = Slot(world.doctor_id, world.day, time(10, 30), time(11, 0))
    click_row(qtbot, dialog.slot_picker.table.view, row_of(dialog.slot_picker.table.view, other))
    assert not dialog.slot_error.isVisible()
    with qtbot.waitSignal(tab.booked, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    mine = booking.list_appointments(clinic, SYSTEM, AppointmentFilter(patient_id=world.patient_id))
    assert [(a.time, a.visit_type, a.reason) for a in mine] == [
        (time(10, 30), "follow_up", "Knee pain again")
    ]


def test_patient_reschedules_and_cancels(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    me = f.patient_actor(world.patient_id)
    appt = booking.book(
        clinic,
        me,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )
    tab = make_tab(qtbot, clinic, me, ops)
    qtbot.waitUntil(lambda: tab.upcoming_model.rowCount() == 1, timeout=WAIT)
    tab.pages.setCurrentIndex(PAGE_UPCOMING)
    click_row(qtbot, tab.upcoming.view, 0)
    assert tab.reschedule_action.isEnabled() and tab.cancel_action.isEnabled()

    # Reschedule to 11:30 in the dialog.
    qtbot.mouseClick(button_for(tab, "Reschedule"), Qt.MouseButton.LeftButton)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.model.rowCount() > 0, timeout=WAIT)
    assert not dialog.visit_type.isEnabled()  # moving keeps what the visit is about
    target = Slot(world.doctor_id, world.day, time(11, 30), time(12, 0))
    click_row(qtbot, dialog.slot_picker.table.view, row_of(dialog.slot_picker.table.view, target))
    with qtbot.waitSignal(tab.appointments_changed, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.upcoming_model.rows[0].time == time(11, 30), timeout=WAIT)
    assert booking.get_appointment(clinic, me, appt).time == time(11, 30)

    # Cancel: "Keep it" keeps it; the destructive button cancels.
    click_row(qtbot, tab.upcoming.view, 0)
    qtbot.mouseClick(button_for(tab, "Cancel appointment"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    qtbot.mouseClick(button_for(box, "Keep it"), Qt.MouseButton.LeftButton)
    assert booking.get_appointment(clinic, me, appt).status == "booked"

    qtbot.mouseClick(button_for(tab, "Cancel appointment"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_changed, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Cancel appointment"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.upcoming_model.rows[0].status == "cancelled", timeout=WAIT)
    assert booking.get_appointment(clinic, me, appt).status == "cancelled"
    assert not tab.cancel_action.isEnabled()  # a cancelled visit cannot be cancelled again
    qtmodeltester.check(tab.upcoming_model)  # type: ignore[attr-defined]
    # The freed slot is offered again.
    freed = Slot(world.doctor_id, world.day, time(11, 30), time(12, 0))
    qtbot.waitUntil(lambda: freed in tab.browser.slot_picker.slots(), timeout=WAIT)


def test_patient_sees_only_their_own_data_and_edits_profile(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    for patient_id, at in ((world.patient_id, "09:00"), (world.other_patient_id, "10:00")):
        booking.book(
            clinic, SYSTEM, patient_id=patient_id, doctor_id=world.doctor_id, day=world.day, at=at
        )
    me = Actor(
        user_id=None,
        username="jose",
        role="patient",
        patient_id=world.patient_id,
        display_name="José Núñez",
    )
    tab = make_tab(qtbot, clinic, me, ops)
    assert tab.picker is None  # no finder: a patient cannot act for anyone else
    assert tab.find_action not in tab.actions()
    qtbot.waitUntil(lambda: tab.upcoming_model.rowCount() > 0, timeout=WAIT)
    assert {r.patient_id for r in tab.upcoming_model.rows} == {world.patient_id}
    assert [r.time for r in tab.upcoming_model.rows] == [time(9, 0)]
    qtbot.waitUntil(lambda: tab.profile.full_name.text() == "José Núñez", timeout=WAIT)

    # Validation as you type: a bad phone shows next to the field and blocks Save.
    tab.pages.setCurrentIndex(3)
    tab.profile.phone.clear()
    qtbot.keyClicks(tab.profile.phone, "abc")
    assert tab.profile.errors["phone"].isVisible()
    assert "Phone must be digits" in tab.profile.errors["phone"].text()
    assert not tab.profile.save_button.isEnabled()
    tab.profile.phone.clear()
    qtbot.keyClicks(tab.profile.phone, "+49 30 1234567")
    assert not tab.profile.errors["phone"].isVisible()
    qtbot.mouseClick(tab.profile.reminders_opt_out, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    assert tab.profile.reminders_opt_out.isChecked()
    with qtbot.waitSignal(tab.profile.saved, timeout=WAIT):
        qtbot.mouseClick(tab.profile.save_button, Qt.MouseButton.LeftButton)
    saved = patients.get_patient(clinic, me, world.patient_id)
    assert (saved.phone, saved.reminders_opt_out) == ("+49 30 1234567", True)
    # The service's own refusal (a future birth date) shows under the field; input is kept.
    future = (clinic.today() + timedelta(days=3)).isoformat()
    tab.profile.date_of_birth.setText(future)
    assert "future" in tab.profile.errors["date_of_birth"].text()
    assert tab.profile.date_of_birth.text() == future

    assert tab.export_action in tab.actions()
    assert tab.export_action.isEnabled()
    assert tab.export_action.text().replace("&", "") == "Export Full History…"
    [export_button] = [
        b
        for b in tab.findChildren(QToolButton)
        if b.defaultAction() is tab.export_action and b.isVisible()
    ]
    qtbot.mouseClick(export_button, Qt.MouseButton.LeftButton)
    [dialog] = [d for d in tab.findChildren(ExportDialog) if d.isVisible()]
    assert dialog._patient_id == world.patient_id  # the patient's own history, nobody else's
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    dialog.reject()


def test_keyboard_only_booking(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """Find the patient, pick the second slot and book it without the mouse."""
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    qtbot.keySequence(tab, "Ctrl+F")
    assert tab.picker is not None and tab.picker.search.hasFocus()
    qtbot.waitUntil(lambda: tab.browser.slot_picker.model.rowCount() > 1, timeout=WAIT)
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    # Never seen before: Enter in the finder leaves no doctor and no slot selected, and
    # the keyboard on the departments; Tab goes on past the doctors and the day.
    browser = tab.browser
    view = browser.slot_picker.table.view
    qtbot.waitUntil(lambda: QApplication.focusWidget() is browser.departments.view, timeout=WAIT)
    assert browser.current_slot() is None
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view
    slots = browser.slot_picker.slots()
    assert browser.current_slot() == slots[0]
    qtbot.keyClick(view, Qt.Key.Key_Down)  # the second slot: Down skips nothing
    second = browser.current_slot()
    assert second == slots[1]
    qtbot.keyClick(view, Qt.Key.Key_Return)  # Enter on a slot opens the booking dialog
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == second, timeout=WAIT)
    with qtbot.waitSignal(tab.booked, timeout=WAIT):
        qtbot.keyClick(dialog, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)  # "&Book …"
    mine = booking.list_appointments(
        clinic, SYSTEM, AppointmentFilter(patient_id=world.other_patient_id)
    )
    assert [(a.date, a.time) for a in mine] == [(second.date, second.time)]

    # Tab walks from the results: Export, the page tabs, departments, doctors, day, slots.
    tab.activateWindow()
    qtbot.waitActive(tab)
    tab.picker.results.view.setFocus()
    qtbot.waitUntil(tab.picker.results.view.hasFocus, timeout=WAIT)
    for expected in (
        None,  # the Export Full History button
        tab.pages.tabBar(),
        browser.departments.view,
        browser.doctors.view,
        browser.slot_picker.day_filter,
        view,
    ):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if expected is None:
            assert QApplication.focusWidget().defaultAction() is tab.export_action
        else:
            assert QApplication.focusWidget() is expected


def test_writes_elsewhere_reach_the_tab_through_the_change_relay(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """The main window relays change events; the tab reloads slots and visits on them."""
    clinic = sqlite_clinic
    me = f.patient_actor(world.patient_id)
    tab = make_tab(qtbot, clinic, me, ops)
    relay = ChangeRelay(clinic)
    relay.changed.connect(tab.on_changes)
    try:
        slot = Slot(world.doctor_id, world.day, time(9, 0), time(9, 30))
        qtbot.waitUntil(lambda: slot in tab.browser.slot_picker.slots(), timeout=WAIT)
        assert tab.upcoming.is_showing_empty_state()
        # The desk books this patient on another screen of the same application.
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=world.day, at="09:00",
        )  # fmt: skip
        qtbot.waitUntil(lambda: slot not in tab.browser.slot_picker.slots(), timeout=WAIT)
        qtbot.waitUntil(lambda: tab.upcoming_model.rowCount() == 1, timeout=WAIT)
    finally:
        relay.close()


def test_blacklisted_and_past_time_refusals_keep_the_form(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    slot = Slot(world.doctor_id, world.day, time(9, 0), time(9, 30))
    dialog = open_booking(qtbot, tab, slot)
    qtbot.keyClicks(dialog.reason, "Back pain")

    # Blacklisted at the desk meanwhile: a message over the form says what to do.
    patients.set_blacklisted(clinic, SYSTEM, world.other_patient_id, True)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.banner.isVisible, timeout=WAIT)
    assert "blacklisted and cannot book" in dialog.banner.text()
    assert dialog.reason.toPlainText() == "Back pain"
    assert dialog.slot_picker.current_slot() == slot

    # Reinstated, but the clock passed the slot: the message sits by the slot list.
    patients.set_blacklisted(clinic, SYSTEM, world.other_patient_id, False)
    clock.set(datetime.combine(world.day, time(9, 5), tzinfo=clock.tz))
    with qtbot.waitSignal(dialog.slots_loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.banner.isVisible()
    assert "is in the past" in dialog.slot_error.text()
    assert slot not in dialog.slot_picker.slots()
    assert dialog.reason.toPlainText() == "Back pain"
    assert (
        booking.list_appointments(
            clinic, SYSTEM, AppointmentFilter(patient_id=world.other_patient_id)
        )
        == []
    )
    dialog.reject()


def test_enter_right_after_typing_chooses_from_the_new_search_not_the_old_list(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, f.RECEPTION, ops)
    picker = tab.picker
    assert picker is not None
    qtbot.waitUntil(lambda: picker.model.rowCount() == 2, timeout=WAIT)  # everyone
    first, wanted = picker.model.rows[0].id, picker.model.rows[1].id
    picker.search.setFocus()
    # The receptionist types the second patient's id and presses Enter at once, before
    # the typing delay: the list on screen still starts with the first patient.
    qtbot.keyClicks(picker.search, str(wanted))
    assert picker.search_pending() and picker.model.rows[0].id == first
    with qtbot.waitSignal(picker.patient_chosen, timeout=WAIT) as chosen:
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert chosen.args[0].id == wanted
    qtbot.waitUntil(lambda: tab.patient is not None, timeout=WAIT)
    assert tab.patient is not None and tab.patient.id == wanted


def test_profile_being_edited_survives_a_new_search_showing_the_patient(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, f.RECEPTION, ops)
    picker = tab.picker
    assert picker is not None
    qtbot.waitUntil(lambda: picker.model.rowCount() == 2, timeout=WAIT)
    chosen = picker.model.rows[0].id
    with qtbot.waitSignal(tab.profile.loaded, timeout=WAIT):
        click_row(qtbot, picker.results.view, 0)
    tab.profile.phone.setText("+49 30 999999")  # typed, not saved yet
    # Someone registers another patient: the finder searches again and shows José again.
    f.patient(sqlite_clinic, "Zoe Newcomer")
    with qtbot.waitSignal(picker.results_shown, timeout=WAIT):
        picker.run_search()
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert tab.profile.phone.text() == "+49 30 999999"
    assert tab.patient is not None and tab.patient.id == chosen


def test_a_slot_the_dialog_found_gone_is_not_offered_behind_it_any_more(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, f.RECEPTION, ops)
    choose_patient(qtbot, tab, str(world.patient_id), world.patient_id)
    slot = Slot(world.doctor_id, world.day, time(10, 0), time(10, 30))
    dialog = open_booking(qtbot, tab, slot)
    booking.book(  # another PC takes it; this window hears nothing
        sqlite_clinic,
        f.RECEPTION,
        patient_id=world.other_patient_id,
        doctor_id=slot.doctor_id,
        day=slot.date,
        at=slot.time,
    )
    with qtbot.waitSignal(dialog.slots_loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "already has a visit" in dialog.slot_error.text()
    assert slot in tab.browser.slot_picker.slots()  # the list behind still offers it
    dialog.reject()  # the receptionist gives up on this one
    qtbot.waitUntil(lambda: slot not in tab.browser.slot_picker.slots(), timeout=WAIT)


def test_a_second_cancel_while_the_first_runs_does_nothing(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    booking.book(
        sqlite_clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="10:00",
    )
    tab = make_tab(qtbot, sqlite_clinic, f.RECEPTION, ops)
    choose_patient(qtbot, tab, str(world.patient_id), world.patient_id)
    tab.pages.setCurrentIndex(PAGE_UPCOMING)
    qtbot.waitUntil(lambda: tab.upcoming_model.rowCount() == 1, timeout=WAIT)
    click_row(qtbot, tab.upcoming.view, 0)
    tab.cancel_selected()
    first = tab.active_dialog
    assert isinstance(first, QMessageBox)
    qtbot.mouseClick(button_for(first, "Cancel appointment"), Qt.MouseButton.LeftButton)
    tab.cancel_selected()  # again, at once, while the first cancel runs
    assert tab.active_dialog is first  # no second question was asked
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert not tab.error.isVisible()


def test_a_patient_books_with_ctrl_b_and_the_keyboard_lands_on_the_first_slot(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    me = f.patient_actor(world.patient_id)
    tab = make_tab(qtbot, clinic, me, ops)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    picker = tab.browser.slot_picker
    qtbot.waitUntil(lambda: picker.model.rowCount() > 1, timeout=WAIT)
    first, second = picker.slots()[:2]
    # Tab from the day filter onto the slots: the first slot is selected on arrival, so
    # Down goes to the second (it used to skip the first) and Enter acts on what is shown.
    picker.day_filter.setFocus()
    qtbot.keyClick(picker.day_filter, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is picker.table.view
    assert tab.browser.current_slot() == first
    qtbot.keyClick(picker.table.view, Qt.Key.Key_Down)
    assert tab.browser.current_slot() == second
    # Ctrl+B: back on the Book page with the keyboard on the slots; Enter opens the dialog.
    tab.pages.setCurrentIndex(PAGE_UPCOMING)
    qtbot.keySequence(tab, "Ctrl+B")
    assert tab.pages.currentIndex() == 0 and QApplication.focusWidget() is picker.table.view
    qtbot.keyClick(picker.table.view, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    assert f"#{world.patient_id})" in dialog.windowTitle()
    assert dialog.save_button.text().startswith("&Book José Núñez")
    dialog.reject()


def _seen(clinic: Clinic, clock: FakeClock, patient: int, doctor: int, days_ago: int) -> None:
    """A completed visit of ``patient`` with ``doctor`` ``days_ago`` days back."""
    now = clock.now()
    day = now.date() - timedelta(days=days_ago)
    clock.set(datetime.combine(day, time(8, 0), tzinfo=clock.tz))
    f.open_day(clinic, doctor, day)
    visit = booking.book(
        clinic, f.RECEPTION, patient_id=patient, doctor_id=doctor, day=day, at="09:00"
    )
    clock.set(datetime.combine(day, time(9, 5), tzinfo=clock.tz))
    booking.complete(clinic, f.doctor_actor(doctor), visit)
    clock.set(now)


def _focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard"
    return widget


def test_a_namesake_chosen_any_way_gets_their_own_last_doctor_never_the_previous_ones(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    """QA: Down, Down, Down, Enter chose another Anna Krüger but left the previous one's
    doctor and slot selected, and the keyboard in the results (a second Enter did nothing)."""
    clinic = sqlite_clinic
    cardiology = f.department(clinic, "Cardiology")  # listed before General Medicine
    munoz = f.doctor(clinic, cardiology, "Dr. Sebastián Muñoz")
    f.open_day(clinic, munoz, world.day, "08:00", "12:00")
    annas = [f.patient(clinic, "Anna Krüger", date_of_birth=f"19{y}-01-02") for y in (83, 90, 95)]
    _seen(clinic, clock, annas[0], munoz, 7)  # annas[1] was never seen
    _seen(clinic, clock, annas[2], world.other_doctor_id, 14)
    last_doctor = {annas[0]: munoz, annas[2]: world.other_doctor_id}
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    picker, browser = tab.picker, tab.browser
    assert picker is not None
    slots_view = browser.slot_picker.table.view

    def doctor_shown() -> int | None:
        choice = browser.doctors_model.row_at(browser.doctors.view.currentIndex().row())
        return choice.doctor.id if choice is not None and choice.doctor else None

    def choose(downs: int, then: Qt.Key = Qt.Key.Key_Return) -> int:
        """Ctrl+B, the name, Down ``downs`` times, Enter: the id of the patient chosen."""
        qtbot.keySequence(tab, "Ctrl+B")
        qtbot.keyClicks(_focused(), "anna kr")
        qtbot.waitUntil(
            lambda: not picker.search_pending() and picker.model.rowCount() == 3, timeout=WAIT
        )
        assert [p.id for p in picker.model.rows] == annas
        for _ in range(downs):
            qtbot.keyClick(_focused(), Qt.Key.Key_Down)
        wanted = annas[max(downs - 1, 0)]
        qtbot.keyClick(_focused(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: tab.patient is not None and tab.patient.id == wanted, timeout=WAIT)
        return wanted

    # Enter in the finder, then Down … Enter on a row, each Anna after one of another doctor.
    for downs in (0, 2, 3, 1, 3):
        chosen = choose(downs)
        last = last_doctor.get(chosen)
        if last is None:
            # Never seen: no doctor and no slot selected, so Enter books nobody's doctor.
            qtbot.waitUntil(lambda: _focused() is browser.departments.view, timeout=WAIT)
            assert doctor_shown() is None and browser.current_slot() is None
            assert not tab.book_action.isEnabled()
            continue
        qtbot.waitUntil(lambda: _focused() is slots_view, timeout=WAIT)
        department = "Cardiology" if last == munoz else "General Medicine"
        assert browser.current_department().name == department  # type: ignore[union-attr]
        assert doctor_shown() == last
        first = browser.slot_picker.slots()[0]
        assert first.doctor_id == last and browser.current_slot() == first
        # The next Enter books her, with her doctor, in the slot shown.
        qtbot.keyClick(slots_view, Qt.Key.Key_Return)
        dialog = tab.active_dialog
        assert isinstance(dialog, BookingDialog)
        assert f"#{chosen})" in dialog.windowTitle()
        qtbot.waitUntil(
            lambda d=dialog, s=first: d.slot_picker.current_slot() == s,  # type: ignore[misc]
            timeout=WAIT,
        )
        dialog.reject()
        with qtbot.waitActive(tab):
            tab.activateWindow()


def test_ctrl_f_a_click_or_a_double_click_also_bring_the_chosen_patients_last_doctor(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    munoz = f.doctor(clinic, f.department(clinic, "Cardiology"), "Dr. Sebastián Muñoz")
    f.open_day(clinic, munoz, world.day, "08:00", "12:00")
    annas = [f.patient(clinic, "Anna Krüger", date_of_birth=f"19{y}-01-02") for y in (83, 90)]
    _seen(clinic, clock, annas[0], munoz, 7)
    _seen(clinic, clock, annas[1], world.other_doctor_id, 14)
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    picker, browser = tab.picker, tab.browser
    assert picker is not None
    results, slots_view = picker.results.view, browser.slot_picker.table.view

    def offered(patient: int, doctor: int, *, focused: bool = True) -> None:
        """``patient`` chosen, ``doctor``'s first free slot selected (and the keyboard on it)."""
        qtbot.waitUntil(lambda: tab.patient is not None and tab.patient.id == patient)
        qtbot.waitUntil(
            lambda: (
                browser.current_slot() is not None
                and browser.current_slot() == browser.slot_picker.slots()[0]
                and browser.current_slot().doctor_id == doctor
            ),  # type: ignore[union-attr]
            timeout=WAIT,
        )
        assert (_focused() is slots_view) is focused

    def row_center(patient: int) -> QPoint:
        row = [p.id for p in picker.model.rows].index(patient)
        return results.visualRect(picker.model.index(row, 0)).center()

    qtbot.keySequence(tab, "Ctrl+F")  # 1: Ctrl+F, the name, Enter
    qtbot.keyClicks(_focused(), "anna kr")
    qtbot.waitUntil(lambda: [p.id for p in picker.model.rows] == annas, timeout=WAIT)
    qtbot.keyClick(_focused(), Qt.Key.Key_Return)
    offered(annas[0], munoz)
    # 2: a double-click on the other Anna (a click, then the double-click); the next
    # Enter books her with her doctor.
    qtbot.mouseClick(results.viewport(), Qt.MouseButton.LeftButton, pos=row_center(annas[1]))
    qtbot.mouseDClick(results.viewport(), Qt.MouseButton.LeftButton, pos=row_center(annas[1]))
    offered(annas[1], world.other_doctor_id)
    qtbot.keyClick(slots_view, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog) and f"#{annas[1]})" in dialog.windowTitle()
    qtbot.waitUntil(
        lambda: (
            dialog.slot_picker.current_slot() is not None
            and dialog.slot_picker.current_slot().doctor_id == world.other_doctor_id
        ),  # type: ignore[union-attr]
        timeout=WAIT,
    )
    dialog.reject()
    with qtbot.waitActive(tab):
        tab.activateWindow()
    # 3: a click on the first Anna.
    qtbot.mouseClick(results.viewport(), Qt.MouseButton.LeftButton, pos=row_center(annas[0]))
    offered(annas[0], munoz)
    # 4: from the Upcoming page, Ctrl+F, Down, Down, Enter: the Book page is ready for
    # her (the keyboard stays where it was: the slots are not on screen).
    tab.pages.setCurrentIndex(PAGE_UPCOMING)
    qtbot.keySequence(tab, "Ctrl+F")
    qtbot.keyClick(_focused(), Qt.Key.Key_Down)
    qtbot.keyClick(_focused(), Qt.Key.Key_Down)
    qtbot.keyClick(_focused(), Qt.Key.Key_Return)
    offered(annas[1], world.other_doctor_id, focused=False)


def _anna_booked_by_keys(
    qtbot: QtBot, clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> PatientTab:
    """The tab, after Ctrl+B, "smith", Enter, Enter, Enter booked Anna Smith with her last
    doctor; the window active again."""
    _seen(clinic, clock, world.other_patient_id, world.doctor_id, 7)
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    slots_view = tab.browser.slot_picker.table.view
    qtbot.keySequence(tab, "Ctrl+B")
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    qtbot.waitUntil(lambda: _focused() is slots_view, timeout=WAIT)
    qtbot.keyClick(slots_view, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() is not None, timeout=WAIT)
    with qtbot.waitSignal(tab.booked, timeout=WAIT):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert tab.confirmation.isVisible()
    assert tab.confirmation.text().startswith("Booked Anna Smith")
    with qtbot.waitActive(tab):
        tab.activateWindow()
    return tab


def test_choosing_another_patient_clears_the_last_ones_booked_line(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    """QA: after choosing another patient the bar still said "Booked Anna Smith … Undo"."""
    clinic = sqlite_clinic
    tab = _anna_booked_by_keys(qtbot, clinic, clock, world, ops)
    bar = tab.confirmation
    # Anna chosen again (a new search showing her): still her booking, still undoable.
    qtbot.keySequence(tab, "Ctrl+B")
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    assert bar.isVisible() and bar.text().startswith("Booked Anna Smith")
    # Another patient chosen: Anna's line goes; it says nothing about this patient.
    qtbot.keySequence(tab, "Ctrl+B")
    choose_patient(qtbot, tab, str(world.patient_id), world.patient_id)
    assert not bar.isVisible() and bar.text() == ""
    assert booking.list_appointments(
        clinic, SYSTEM, AppointmentFilter(patient_id=world.other_patient_id, statuses=("booked",))
    )  # and nothing was taken back


def test_the_header_says_when_the_patient_was_born(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """QA: the header named id, phone and email but not the birth date namesakes differ by."""
    anna = f.patient(
        sqlite_clinic, "Anna Kramer", date_of_birth=date(1983, 1, 2), phone="+49 30 3333333"
    )
    tab = make_tab(qtbot, sqlite_clinic, f.RECEPTION, ops)
    choose_patient(qtbot, tab, "kramer", anna)
    born = f"born {birth_text(date(1983, 1, 2))}"
    assert "1983" in born
    assert tab.subtitle.text().startswith(f"Patient #{anna} · {born} · +49 30 3333333")
    # A patient whose birth date is not known: nothing in its place.
    tab.focus_search()  # the text selected: typing replaces it
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    assert "born" not in tab.subtitle.text()


def test_ctrl_z_on_the_patient_tab_undoes_the_booking_once_then_says_so(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    """Ctrl+Z takes the booking back; a second Ctrl+Z says "Nothing to undo." (the bar's
    own key used to be off by then, so it said nothing)."""
    clinic = sqlite_clinic
    tab = _anna_booked_by_keys(qtbot, clinic, clock, world, ops)
    slots_view = tab.browser.slot_picker.table.view
    bar = tab.confirmation
    said: list[str] = []
    tab.status_message.connect(said.append)
    mine = AppointmentFilter(patient_id=world.other_patient_id, statuses=("booked",))
    before = len(booking.list_appointments(clinic, SYSTEM, mine))
    said.clear()
    qtbot.keyClick(slots_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bar.text().startswith("Undone:"), timeout=WAIT)
    assert len(booking.list_appointments(clinic, SYSTEM, mine)) == before - 1
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    qtbot.keyClick(slots_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert said[-1] == "Nothing to undo."
    assert len(booking.list_appointments(clinic, SYSTEM, mine)) == before - 1


def test_after_a_booking_the_next_free_slot_is_selected_and_enter_books_on(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    """QA: after a booking no slot was selected any more, so the next key did nothing useful.
    The slot after the booked one is selected, the keyboard on it: Enter goes on booking."""
    clinic = sqlite_clinic
    _seen(clinic, clock, world.other_patient_id, world.doctor_id, 7)
    tab = make_tab(qtbot, clinic, f.RECEPTION, ops)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    browser = tab.browser
    slots_view = browser.slot_picker.table.view
    qtbot.keySequence(tab, "Ctrl+B")
    choose_patient(qtbot, tab, "smith", world.other_patient_id)
    qtbot.waitUntil(lambda: _focused() is slots_view, timeout=WAIT)
    first, second = browser.slot_picker.slots()[:2]
    qtbot.keyClick(slots_view, Qt.Key.Key_Down)  # the second: the cursor is not at the top
    assert browser.current_slot() == second
    qtbot.keyClick(slots_view, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == second, timeout=WAIT)
    with qtbot.waitSignal(tab.booked, timeout=WAIT):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    with qtbot.waitActive(tab):
        tab.activateWindow()
    qtbot.waitUntil(lambda: second not in browser.slot_picker.slots(), timeout=WAIT)
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    # The one after it is selected, where the booked one was, and the keyboard is there.
    third = browser.slot_picker.slots()[1]
    assert (third.date, third.time) > (second.date, second.time)
    assert browser.current_slot() == third
    assert _focused() is slots_view and tab.book_action.isEnabled()
    # Up goes back to the first slot (the keyboard's row is the selected one).
    qtbot.keyClick(slots_view, Qt.Key.Key_Up)
    assert browser.current_slot() == first
    qtbot.keyClick(slots_view, Qt.Key.Key_Down)
    qtbot.keyClick(slots_view, Qt.Key.Key_Return)  # Enter books on
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == third, timeout=WAIT)
    dialog.reject()
