"""The Doctor tab, driven through its real widgets on a real SQLite clinic.

Closing visits (with confirmation for the destructive ones), recording and
editing a treatment that then shows in both tabs' history, and the
availability editor with the service's own error for an overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt, QTime
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QMenu,
    QMessageBox,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import availability, booking, hours, patient_flow
from hms_desktop.services.views import AppointmentRow
from hms_desktop.ui.booking.book.hours_dialog import HoursDialog
from hms_desktop.ui.booking.book.model import STATUS_COLOURS
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.doctor.doctor_tab import DoctorTab
from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
from hms_desktop.ui.patient.patient_tab import PAGE_PAST, PatientTab
from tests import factories as f
from tests.gui.conftest import styled

__all__ = ["styled"]

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
    """The factories' world, plus Dr. Lovelace open today; José at 10:00, Anna at 11:00."""
    w = f.world(sqlite_clinic)
    f.open_day(sqlite_clinic, w.doctor_id, sqlite_clinic.today())
    for patient_id, at in ((w.patient_id, "10:00"), (w.other_patient_id, "11:00")):
        booking.book(
            sqlite_clinic,
            SYSTEM,
            patient_id=patient_id,
            doctor_id=w.doctor_id,
            day=sqlite_clinic.today(),
            at=at,
            reason="Check-up",
        )
    booking.book(
        sqlite_clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    return w


def doctor(world: f.World) -> Actor:
    return Actor(
        user_id=None,
        username="ada",
        role="doctor",
        doctor_id=world.doctor_id,
        display_name="Dr. Ada Lovelace",
    )


def make_tab(qtbot: QtBot, clinic: Clinic, actor: Actor, ops: Operations) -> DoctorTab:
    tab = DoctorTab(clinic, actor, ops)
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    qtbot.waitUntil(lambda: bool(tab.rows and tab.book.model.blocks()), timeout=WAIT)
    qtbot.waitUntil(lambda: not tab.book.is_loading(), timeout=WAIT)
    return tab


def click_row(qtbot: QtBot, view: QTableView, row: int) -> None:
    column = next(c for c in range(view.model().columnCount()) if not view.isColumnHidden(c))
    rect = view.visualRect(view.model().index(row, column))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def button_for(widget: QWidget, text: str) -> QAbstractButton:
    for button in widget.findChildren(QAbstractButton):
        if button.text().replace("&", "").startswith(text) and button.isVisible():
            return button
    raise AssertionError(f"no visible button {text!r}")


def visit_of(tab: DoctorTab, patient_id: int) -> AppointmentRow:
    """The shown days' visit of a patient (as last read)."""
    return next(r for r in tab.rows if r.patient_id == patient_id)


def click_visit(qtbot: QtBot, tab: DoctorTab, patient_id: int | None = None, *, day=None) -> None:
    """A click on the patient's (or the day's first) visit in the doctor's book."""
    model = tab.book.model
    for on, _doctor, block in model.blocks():
        if (patient_id is None or block.patient_id == patient_id) and day in (None, on):
            column = next(c for c in range(model.columnCount()) if model.column_day(c) == on)
            rect = tab.book.table.visualRect(model.index(model.row_for(block.start), column))
            qtbot.mouseClick(
                tab.book.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
            )
            return
    raise AssertionError(f"no visit of patient {patient_id} in the book")


def mark_completed(qtbot: QtBot, tab: DoctorTab) -> None:
    """Press Mark completed and say yes to its question (an early close before the start)."""
    qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    yes = next(
        b for b in box.buttons() if b.text().replace("&", "") in ("Mark completed", "Close early")
    )
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)


def test_doctor_completes_a_visit_and_records_a_treatment(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    assert tab.showing_today()
    assert [(r.time, r.patient) for r in tab.rows] == [
        (time(10, 0), "José Núñez"),
        (time(11, 0), "Anna Smith"),
    ]
    qtmodeltester.check(tab.book.model, force_py=True)  # type: ignore[attr-defined]

    click_visit(qtbot, tab, world.patient_id)
    assert not tab.treatment_action.isEnabled()  # only a completed visit gets a treatment
    with qtbot.waitSignal(tab.appointment_changed, timeout=WAIT):
        mark_completed(qtbot, tab)
    qtbot.waitUntil(lambda: visit_of(tab, world.patient_id).status == "completed", timeout=WAIT)
    assert tab.treatment_action.isEnabled()
    assert tab.confirmation.can_undo()  # Mark completed can be taken back, for now

    qtbot.mouseClick(button_for(tab, "Record treatment"), Qt.MouseButton.LeftButton)
    dialog = tab.active_dialog
    assert isinstance(dialog, TreatmentDialog)
    qtbot.waitUntil(lambda: dialog.fields["symptoms"].isEnabled(), timeout=WAIT)
    assert not dialog.save_button.isEnabled()  # nothing entered yet
    qtbot.keyClicks(dialog.fields["symptoms"], "Cough for two weeks")
    qtbot.keyClicks(dialog.fields["diagnosis"], "Acute bronchitis")
    qtbot.keyClicks(dialog.fields["treatment_given"], "Auscultation, advice")
    qtbot.keyClicks(dialog.fields["prescription"], "Ambroxol 30 mg 3x daily")
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visit_of(tab, world.patient_id).has_treatment, timeout=WAIT)
    # With a treatment recorded the visit stays completed: no Undo that would be refused.
    assert not tab.confirmation.can_undo() and not tab.confirmation.undo_button.isVisible()
    assert "Treatment saved for José Núñez" in tab.confirmation.text()

    # The Doctor tab's history of that patient shows it.
    click_visit(qtbot, tab, world.patient_id)
    with qtbot.waitSignal(tab.history.loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Patient history"), Qt.MouseButton.LeftButton)
    assert tab.pages.currentIndex() == 1
    [entry] = tab.history.model.rows
    assert (entry.diagnosis, entry.prescription) == ("Acute bronchitis", "Ambroxol 30 mg 3x daily")
    assert "Cough for two weeks" in tab.history.detail.toPlainText()
    assert tab.history.export_action.isEnabled()
    qtmodeltester.check(tab.history.model)  # type: ignore[attr-defined]

    # Editing: the dialog opens filled in; the change reaches the history.
    tab.pages.setCurrentIndex(0)
    click_visit(qtbot, tab, world.patient_id)
    assert tab.treatment_action.text().replace("&", "") == "Edit treatment…"
    qtbot.mouseClick(button_for(tab, "Edit treatment"), Qt.MouseButton.LeftButton)
    dialog = tab.active_dialog
    assert isinstance(dialog, TreatmentDialog)
    qtbot.waitUntil(
        lambda: dialog.fields["diagnosis"].toPlainText() == "Acute bronchitis", timeout=WAIT
    )
    dialog.fields["prescription"].selectAll()
    qtbot.keyClicks(dialog.fields["prescription"], "Ambroxol 15 mg 2x daily")
    with qtbot.waitSignal(tab.history.loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert tab.history.model.rows[0].prescription == "Ambroxol 15 mg 2x daily"

    # The patient sees the visit with its diagnosis and prescription under Past visits.
    patient_tab = PatientTab(clinic, f.patient_actor(world.patient_id), ops)
    qtbot.addWidget(patient_tab)
    patient_tab.show()
    patient_tab.pages.setCurrentIndex(PAGE_PAST)
    qtbot.waitUntil(lambda: patient_tab.past_model.rowCount() == 1, timeout=WAIT)
    [visit] = patient_tab.past_model.rows
    assert (visit.status, visit.diagnosis, visit.prescription) == (
        "completed",
        "Acute bronchitis",
        "Ambroxol 15 mg 2x daily",
    )
    qtmodeltester.check(patient_tab.past_model)  # type: ignore[attr-defined]
    assert [r.time for r in patient_tab.upcoming_model.rows] == [time(9, 0)]  # tomorrow's


def test_cancel_and_no_show_ask_first(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations, clock: FakeClock
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)

    # At 09:00 nobody is missing from an 11:00 visit: no-show is not offered yet.
    click_visit(qtbot, tab, world.other_patient_id)
    assert not tab.no_show_action.isEnabled()
    assert not button_for(tab, "Mark no-show").isEnabled()
    qtbot.keyClick(tab.book.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
    assert tab.active_dialog is None
    clock.set(datetime.combine(clinic.today(), time(11, 5), tzinfo=clock.tz))
    tab._tick.timeout.emit()  # the half-minute look at the clock, without moving
    assert tab.no_show_action.isEnabled()

    qtbot.mouseClick(button_for(tab, "Mark no-show"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    assert box.defaultButton().text() == "&Keep it"  # Enter must not destroy anything
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert visit_of(tab, world.other_patient_id).status == "booked"

    qtbot.mouseClick(button_for(tab, "Mark no-show"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    assert "cannot be undone" not in box.text()
    # The question names who, with whom and when; Alt+M answers it.
    assert "Anna Smith's visit with Dr. Ada Lovelace, Today, Mon, 15 Jun at 11:00" in box.text()
    assert sorted(b.text() for b in box.buttons()) == ["&Keep it", "&Mark no-show"]
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark no-show"), Qt.MouseButton.LeftButton)
    assert visit_of(tab, world.other_patient_id).status == "no_show"
    # The patient turns up after all: Undo books the visit again.
    assert tab.confirmation.can_undo() and "no-show" in tab.confirmation.text()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.confirmation.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visit_of(tab, world.other_patient_id).status == "booked")
    click_visit(qtbot, tab, world.other_patient_id)
    qtbot.mouseClick(button_for(tab, "Mark no-show"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark no-show"), Qt.MouseButton.LeftButton)
    assert visit_of(tab, world.other_patient_id).status == "no_show"

    click_visit(qtbot, tab, world.patient_id)
    qtbot.mouseClick(button_for(tab, "Cancel appointment"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    assert "José Núñez's visit with Dr. Ada Lovelace, Today, Mon, 15 Jun at 10:00" in box.text()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keyClick(box, Qt.Key.Key_C)  # its letter answers it (one key, not Left, Enter)
    statuses = {
        a.patient_id: a.status
        for a in booking.list_appointments(
            clinic,
            SYSTEM,
            booking.AppointmentFilter(date_from=clinic.today(), date_to=clinic.today()),
        )
    }
    assert statuses == {world.patient_id: "cancelled", world.other_patient_id: "no_show"}
    assert not tab.complete_action.isEnabled()  # a closed visit cannot change again

    # The next 7 days: tomorrow's visit is listed, and cannot be completed before its day.
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    assert tab.book.model.columnCount() == 7  # the book shows the seven days
    tomorrow = [r for r in tab.rows if r.date == world.day]
    assert len(tomorrow) == 1
    click_visit(qtbot, tab, day=world.day)
    assert tab.selected_appointment() == tomorrow[0]
    assert tab.cancel_action.isEnabled() and not tab.complete_action.isEnabled()


def test_empty_day_says_so(qtbot: QtBot, sqlite_clinic: Clinic, ops: Operations) -> None:
    clinic = sqlite_clinic
    dept = f.department(clinic, "Dermatology")
    doc = f.doctor(clinic, dept, "Dr. Grace Hopper")
    actor = Actor(None, "grace", "doctor", doctor_id=doc, display_name="Dr. Grace Hopper")
    tab = DoctorTab(clinic, actor, ops)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.subtitle.text().startswith("Dermatology"), timeout=WAIT)
    assert tab.rows == [] and not tab.book.model.blocks()
    assert tab.summary.text() == "No appointments today."
    assert not any(a.isEnabled() for a in (tab.complete_action, tab.cancel_action))
    # A hidden tab's shortcuts go quiet (even if the window lists them in a menu).
    tab.hide()
    assert not any(a.isVisible() for a in tab.actions())
    tab.show()
    assert all(a.isVisible() for a in tab.actions())


def test_availability_editor_saves_and_shows_the_services_overlap_error(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    editor = tab.availability
    assert editor is not None
    tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: editor.days_model.rowCount() == 7, timeout=WAIT)
    qtmodeltester.check(editor.days_model)  # type: ignore[attr-defined]
    day = clinic.today() + timedelta(days=2)
    click_row(qtbot, editor.days_table.view, 2)
    assert editor.current_day() == day
    assert editor.windows_table.is_showing_empty_state()  # nothing offered that day yet

    # As you type: a window that ends before it starts cannot be added.
    editor.start_edit.setTime(QTime(14, 0))
    editor.end_edit.setTime(QTime(13, 0))
    assert editor.new_window_error.isVisible()
    assert not editor.add_button.isEnabled()

    for start, end in ((QTime(8, 0), QTime(12, 0)), (QTime(14, 0), QTime(16, 0))):
        editor.start_edit.setTime(start)
        editor.end_edit.setTime(end)
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert [r.slots for r in editor.windows_model.rows] == [8, 4]
    qtmodeltester.check(editor.windows_model)  # type: ignore[attr-defined]
    assert editor.days_model.rows[2].changed
    with qtbot.waitSignal(editor.save_finished, timeout=WAIT) as done:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert done.args == [True]
    saved = [
        (w.start_time, w.end_time) for w in availability.get_windows(clinic, world.doctor_id, [day])
    ]
    assert saved == [(time(8, 0), time(12, 0)), (time(14, 0), time(16, 0))]
    assert not editor.days_model.rows[2].changed

    # An overlap is the service's rule: its message shows next to the windows; the draft stays.
    editor.start_edit.setTime(QTime(11, 0))
    editor.end_edit.setTime(QTime(15, 0))
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(editor.save_finished, timeout=WAIT) as done:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert done.args == [False]
    assert editor.day_error.isVisible()
    assert editor.day_error.text() == "Availability windows on one day must not overlap."
    assert len(editor.windows_of(day)) == 3
    assert editor.current_day() == day
    saved = [
        (w.start_time, w.end_time) for w in availability.get_windows(clinic, world.doctor_id, [day])
    ]
    assert len(saved) == 2  # nothing half-written

    # Removing booked time is refused too (today 10:00 is José's).
    click_row(qtbot, editor.days_table.view, 0)
    click_row(qtbot, editor.windows_table.view, 0)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(editor.save_finished, timeout=WAIT) as done:
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert done.args == [False]
    assert "booked at 10:00 (José Núñez until 10:30), 11:00" in editor.day_error.text()
    assert editor.current_day() == clinic.today()
    # Revert drops the drafts.
    qtbot.mouseClick(editor.revert_button, Qt.MouseButton.LeftButton)
    assert not editor.is_dirty()


def test_treatment_dialog_shows_service_refusal_and_keeps_input(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """Another doctor who sees the patient today (a care relationship) may read the visit
    but not write its treatment: that is the visit's own doctor's; the input stays."""
    clinic = sqlite_clinic
    f.open_day(clinic, world.other_doctor_id, clinic.today(), "13:00", "15:00")
    today_visit = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.other_doctor_id,
        day=clinic.today(),
        at="14:00",
    )
    assert today_visit
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    click_visit(qtbot, tab, world.patient_id)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        mark_completed(qtbot, tab)
    visit = visit_of(tab, world.patient_id)
    assert visit.status == "completed"

    turing = Actor(None, "turing", "doctor", doctor_id=world.other_doctor_id)
    dialog = TreatmentDialog(clinic, turing, ops, visit)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT):
        dialog.open()
    qtbot.keyClicks(dialog.fields["diagnosis"], "Migraine")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: "Only the doctor who saw the patient" in dialog.banner.text(), timeout=WAIT
    )
    assert dialog.fields["diagnosis"].toPlainText() == "Migraine"
    assert dialog.isVisible()
    assert records.get_treatment(clinic, SYSTEM, visit.id) is None
    # Esc or Cancel with typed text asks first; "Keep editing" keeps it all.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    question = dialog.discard_question
    assert question is not None and question.isVisible()
    assert "not saved" in question.text()
    keep = next(b for b in question.buttons() if b.text().replace("&", "") == "Keep editing")
    assert question.defaultButton() is keep  # Enter must not throw the text away
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.fields["diagnosis"].toPlainText() == "Migraine"
    dialog.reject()
    question = dialog.discard_question
    assert question is not None
    discard = next(b for b in question.buttons() if b.text().replace("&", "") == "Discard")
    qtbot.mouseClick(discard, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)


def test_ctrl_enter_saves_the_treatment_from_a_multi_line_field(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    clock.set(datetime.combine(clinic.today(), time(10, 40), tzinfo=clock.tz))
    visit_id = next(  # José's 10:00 visit today
        r.id
        for r in booking.list_appointments(clinic, SYSTEM)
        if r.patient_id == world.patient_id and r.date == clinic.today()
    )
    booking.complete(clinic, SYSTEM, visit_id)
    visit = booking.get_appointment(clinic, SYSTEM, visit_id)
    ada = doctor(world)

    def opened() -> TreatmentDialog:
        dialog = TreatmentDialog(clinic, ada, ops, visit)
        qtbot.addWidget(dialog)
        with qtbot.waitSignal(dialog.loaded, timeout=WAIT):
            dialog.show()
        dialog.activateWindow()
        qtbot.waitActive(dialog)
        qtbot.waitUntil(lambda: dialog.fields["symptoms"].hasFocus(), timeout=WAIT)
        return dialog

    # Ctrl+Return (the main keyboard) in the symptoms box, where Return starts a new line.
    dialog = opened()
    symptoms = dialog.fields["symptoms"]
    qtbot.keyClicks(symptoms, "Fever")
    qtbot.keyClick(symptoms, Qt.Key.Key_Return)
    qtbot.keyClicks(symptoms, "Cough")
    assert symptoms.toPlainText() == "Fever\nCough" and dialog.isVisible()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(symptoms, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    saved = records.get_treatment(clinic, SYSTEM, visit_id)
    assert saved is not None and saved.symptoms == "Fever\nCough"
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)

    # Ctrl+Enter (the keypad's) in the notes box saves a correction.
    dialog = opened()
    notes = dialog.fields["notes"]
    notes.setFocus()
    qtbot.keyClicks(notes, "Rest")
    keypad_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.KeypadModifier
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(notes, Qt.Key.Key_Enter, keypad_ctrl)
    saved = records.get_treatment(clinic, SYSTEM, visit_id)
    assert saved is not None and saved.notes == "Rest" and saved.symptoms == "Fever\nCough"


def test_keyboard_only_close_visit_record_treatment_and_open_history(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    clock.set(datetime.combine(clinic.today(), time(10, 5), tzinfo=clock.tz))  # José is in
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    # Tab walks: page tabs, the table, its enabled actions, then the day buttons.
    tab.pages.tabBar().setFocus()
    order = []
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order[0] is tab.book.table
    assert [w.text().replace("&", "") for w in order[1:]] == [
        "Mark completed",
        "Mark no-show",
        "Cancel appointment",
        "Patient history",  # Record treatment is skipped: the visit is not completed yet
        "Today",
    ]
    tab.book.table.setFocus()
    assert tab.selected_appointment() is not None  # the first visit to close is preselected
    assert tab.selected_appointment().patient_id == world.patient_id  # type: ignore[union-attr]
    qtbot.keySequence(tab, "Ctrl+Shift+C")  # asks first; the visit has begun: Enter says yes
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and box.defaultButton().text() == "&Mark completed"
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert tab.rows[0].status == "completed"
    tab.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab, timeout=WAIT)
    qtbot.keySequence(tab, "Ctrl+T")
    dialog = tab.active_dialog
    assert isinstance(dialog, TreatmentDialog)
    qtbot.waitUntil(lambda: dialog.fields["symptoms"].hasFocus(), timeout=WAIT)
    qtbot.keyClicks(dialog.fields["symptoms"], "Fever")
    qtbot.keyClick(dialog.fields["symptoms"], Qt.Key.Key_Tab)  # Tab leaves the text box
    assert dialog.fields["diagnosis"].hasFocus()
    qtbot.keyClicks(dialog.fields["diagnosis"], "Influenza")
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    # Tab walks to Save (mnemonics such as Alt+S do not fire on the offscreen platform).
    for _ in range(8):
        if dialog.save_button.hasFocus():
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert dialog.save_button.hasFocus()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.save_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible())
    tab.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab, timeout=WAIT)
    qtbot.waitUntil(lambda: tab.history_action.isEnabled(), timeout=WAIT)
    with qtbot.waitSignal(tab.history.loaded, timeout=WAIT):
        qtbot.keySequence(tab, "Ctrl+H")
    assert [r.diagnosis for r in tab.history.model.rows] == ["Influenza"]
    assert {a.shortcut().toString() for a in tab.actions()} >= {
        "Ctrl+Shift+C",
        "Ctrl+Shift+N",
        "Ctrl+Shift+X",
        "Ctrl+T",
        "Ctrl+H",
    }


def test_history_export_action_opens_the_export_dialog(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    from hms_desktop.ui.exports.export_dialog import ExportDialog

    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    assert not tab.history.export_action.isEnabled()  # no patient chosen yet
    click_visit(qtbot, tab, world.other_patient_id)
    with qtbot.waitSignal(tab.history.loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Patient history"), Qt.MouseButton.LeftButton)
    assert tab.history.table.empty_label.text() == "No treatments recorded for this patient yet."
    qtbot.mouseClick(button_for(tab.history, "Export Full History"), Qt.MouseButton.LeftButton)
    [dialog] = [d for d in tab.history.findChildren(ExportDialog) if d.isVisible()]
    assert dialog._patient_id == world.other_patient_id
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)  # the dialog finishes loading first
    dialog.reject()


def test_my_reports_section_embeds_the_reports_list(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    from hms_desktop.ui.doctor.my_reports import MyReportsWidget

    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    assert isinstance(tab.reports, MyReportsWidget)
    assert tab.pages.tabText(3).replace("&", "") == "My reports"


def test_the_books_menu_and_keys_act_on_the_visit_under_the_cursor(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    """The list's column sorting is gone with the list; what it guarded stays: the
    actions act on the visit the doctor clicked, also after the book reads again."""
    clock.set(datetime.combine(sqlite_clinic.today(), time(11, 5), tzinfo=clock.tz))
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    click_visit(qtbot, tab, world.other_patient_id)  # Anna, the second visit
    selected = tab.selected_appointment()
    assert selected is not None and selected.patient_id == world.other_patient_id
    # The menu key opens the book's menu with the doctor's actions first.
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Menu)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=WAIT)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts == [
        "Mark completed", "Mark no-show", "Cancel appointment…", "Record treatment…",
        "Patient history", "Open", "Print the day…",
    ]  # fmt: skip
    qtbot.keyClick(menu, Qt.Key.Key_C)  # Mark &completed: it asks first
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and "Anna Smith" in box.text()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark completed"), Qt.MouseButton.LeftButton)
    status = {r.patient_id: r.status for r in tab.rows}
    assert status == {world.other_patient_id: "completed", world.patient_id: "booked"}
    assert tab.selected_appointment().patient_id == world.other_patient_id  # type: ignore[union-attr]
    assert (
        "Anna Smith's visit, Today, Mon, 15 Jun at 11:00, is completed" in tab.confirmation.text()
    )
    # Enter on the completed visit records its treatment.
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab, timeout=WAIT)
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, TreatmentDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.fields["symptoms"].isEnabled(), timeout=WAIT)
    dialog.reject()
    # Delete on José's visit asks to cancel it.
    click_visit(qtbot, tab, world.patient_id)
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Delete)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and "Cancel José Núñez's visit" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Escape)


def test_alt_arrows_step_a_day_or_seven_days_in_the_doctors_book(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    today = sqlite_clinic.today()
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    tab.book.table.setFocus()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keyClick(tab.book.table, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert tab.days.span() == (world.day, world.day) and not tab.showing_today()
    assert [b.patient for _d, _i, b in tab.book.model.blocks()] == ["José Núñez"]
    assert tab.days.date_edit.date().toPython() == world.day
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    assert tab.book.model.column_day(0) == today and tab.book.model.columnCount() == 7
    tab.book.table.setFocus()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keyClick(tab.book.table, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    week = today + timedelta(days=7)
    assert tab.days.span() == (week, week + timedelta(days=6))
    assert tab.book.model.column_day(0) == week and tab.range_title.text().startswith("Mon, 22 Jun")
    assert tab.summary.text() == "No appointments from Mon, 22 Jun 2026 to Sun, 28 Jun 2026."


def test_enter_on_a_booked_visit_asks_before_completing_it(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    click_visit(qtbot, tab, world.patient_id)
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Return)  # easily pressed by mistake
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "as completed" in box.text()
    assert box.defaultButton().text() == "&Keep it"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert visit_of(tab, world.patient_id).status == "booked"
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Return)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Close early"), Qt.MouseButton.LeftButton)
    assert visit_of(tab, world.patient_id).status == "completed"


def test_a_visit_changed_elsewhere_is_shown_as_it_is_and_the_message_goes_later(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    click_visit(qtbot, tab, world.patient_id)
    visit = tab.selected_appointment()
    assert visit is not None
    # Another front-desk PC cancels it; this window hears nothing of it.
    booking.set_status(sqlite_clinic, SYSTEM, visit.id, "cancelled")
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        mark_completed(qtbot, tab)
    qtbot.waitUntil(
        lambda: visit_of(tab, world.patient_id).status == "cancelled",
        timeout=WAIT,
    )
    assert tab.error.isVisible() and "cancelled already" in tab.error.text()
    assert not tab.complete_action.isEnabled()  # the row as it is now
    click_visit(qtbot, tab, world.other_patient_id)
    assert not tab.error.isVisible()  # moving on to another visit clears it


def test_log_out_and_quit_ask_before_dropping_unsaved_availability(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World
) -> None:
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.main_window import MainWindow

    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, doctor(world), stats)
    qtbot.addWidget(window)
    window.show()
    editor = window.doctor_tab.availability
    qtbot.waitUntil(lambda: editor.days_model.rowCount() == 7, timeout=WAIT)
    editor.select_day(sqlite_clinic.today() + timedelta(days=2))
    editor.start_edit.setTime(QTime(14, 0))
    editor.end_edit.setTime(QTime(16, 0))
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert editor.is_dirty()
    logged_out: list[bool] = []
    window.logged_out.connect(lambda: logged_out.append(True))
    window.logout_action.trigger()
    box = window.leave_question
    assert box is not None and "availability changes" in box.text()
    qtbot.mouseClick(button_for(box, "Keep editing"), Qt.MouseButton.LeftButton)
    assert window.isVisible() and not logged_out and editor.is_dirty()
    # Closing the window asks too, and stays open on "Keep editing".
    assert not window.close()
    box = window.leave_question
    assert box is not None
    with qtbot.waitSignal(window.quit_requested, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Discard and quit"), Qt.MouseButton.LeftButton)
    assert not window.isVisible()
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    stats.close()


def test_mark_completed_before_the_start_is_an_early_close_that_can_be_undone(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic  # 09:00; José's visit is at 10:00
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    click_visit(qtbot, tab, world.patient_id)
    qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    assert "has not begun yet" in box.text() and box.defaultButton().text() == "&Keep it"
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter keeps it: refused without the yes
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert visit_of(tab, world.patient_id).status == "booked"
    visit = tab.selected_appointment()
    assert visit is not None
    with pytest.raises(ValidationError, match="has not begun yet"):
        booking.complete(clinic, doctor(world), visit.id)  # the service refuses it too

    mark_completed(qtbot, tab)  # "Close early"
    qtbot.waitUntil(
        lambda: visit_of(tab, world.patient_id).status == "completed",
        timeout=WAIT,
    )
    bar = tab.confirmation
    assert bar.isVisible() and "José Núñez's visit, Today, Mon, 15 Jun at 10:00" in bar.text()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert bar.text().startswith("Undone:")
    assert visit_of(tab, world.patient_id).status == "booked"


def test_tomorrow_the_next_7_days_and_a_picked_day(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    in_6_days = clinic.today() + timedelta(days=6)  # Sunday 21 June
    f.open_day(clinic, world.doctor_id, in_6_days)
    booking.book(
        clinic, SYSTEM, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
        day=in_6_days, at="09:30",
    )  # fmt: skip
    # A Sunday: "this week" used to be the week now ending, without tomorrow's visits.
    clock.set(datetime.combine(clinic.today() - timedelta(days=1), time(8, 0), tzinfo=clock.tz))
    assert clinic.today().weekday() == 6
    tab = make_tab_empty_ok(qtbot, clinic, doctor(world), ops)
    assert tab.summary.text() == "No appointments today."
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.days.tomorrow_button, Qt.MouseButton.LeftButton)
    assert [(r.time, r.patient) for r in tab.rows] == [
        (time(10, 0), "José Núñez"),
        (time(11, 0), "Anna Smith"),
    ]
    assert tab.range_title.text().startswith("Tomorrow")
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    assert len(tab.rows) == 3 and tab.book.model.columnCount() == 7  # + Tuesday's
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        tab.show_day(in_6_days)
    assert [(r.date, r.time) for r in tab.rows] == [(in_6_days, time(9, 30))]
    assert not any(b.isChecked() for b in (tab.today_button, tab.week_button))
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keySequence(tab, "Ctrl+Shift+D")
    assert tab.showing_today() and tab.summary.text() == "No appointments today."


def make_tab_empty_ok(qtbot: QtBot, clinic: Clinic, actor: Actor, ops: Operations) -> DoctorTab:
    tab = DoctorTab(clinic, actor, ops)
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    tab.activateWindow()
    qtbot.waitActive(tab)
    qtbot.waitUntil(lambda: tab.subtitle.text() != "", timeout=WAIT)
    return tab


def test_availability_times_are_typed_layout_stays_and_revert_clears_unsaved(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    editor = tab.availability
    assert editor is not None
    tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: editor.days_model.rowCount() == 7, timeout=WAIT)
    click_row(qtbot, editor.days_table.view, 3)

    # A click lands on the minutes of From (09:00); typing a whole time still gives it.
    start = editor.start_edit
    minutes = QPoint(start.width() * 2 // 3 - 10, start.height() // 2)
    qtbot.mouseClick(start, Qt.MouseButton.LeftButton, pos=minutes)
    assert start.hasFocus()
    qtbot.keyClicks(start, "22:30")
    assert start.time() == QTime(22, 30)
    # To: Tab, then type over it (Alt+T's buddy works the same way).
    qtbot.keyClick(start, Qt.Key.Key_Tab)
    assert editor.end_edit.hasFocus()
    qtbot.keyClicks(editor.end_edit, "23:30")
    assert editor.end_edit.time() == QTime(23, 30)

    # An error under the From/To row: the row and the buttons stay where they were.
    before = [w.mapTo(tab, QPoint(0, 0)) for w in (editor.add_button, editor.save_button)]
    editor.end_edit.setTime(QTime(21, 0))
    assert editor.new_window_error.isVisible()
    editor.day_error.show_message("Availability windows on one day must not overlap.")
    QApplication.processEvents()
    after = [w.mapTo(tab, QPoint(0, 0)) for w in (editor.add_button, editor.save_button)]
    assert after == before
    editor.day_error.clear_message()

    # "Unsaved changes." says what is true: there after an edit, gone after Revert.
    editor.end_edit.setTime(QTime(23, 30))
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert editor.status_label.text() == "Unsaved changes."
    qtbot.mouseClick(editor.revert_button, Qt.MouseButton.LeftButton)
    assert not editor.is_dirty() and editor.status_label.text() == ""


def test_the_line_under_the_book_follows_the_cursor_and_the_status(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    line = tab.book.message
    tab.book.table.setFocus()
    qtbot.waitUntil(lambda: "José Núñez" in line.text(), timeout=WAIT)  # the first to close
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Return)  # opens it (asks to close early)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert "José Núñez" in line.text() and "booked" in line.text()
    assert f"Visit {visit_of(tab, world.patient_id).id}" not in line.text()  # no internal id

    for _ in range(12):  # down the day to Anna's visit at 11:00
        qtbot.keyClick(tab.book.table, Qt.Key.Key_Down)
        row = tab.selected_appointment()
        if row is not None and row.patient_id == world.other_patient_id:
            break
    assert "Anna Smith" in line.text() and "José" not in line.text()
    assert "11:00" in line.text() and "Check-up" in line.text()

    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        mark_completed(qtbot, tab)
    qtbot.waitUntil(lambda: "completed" in line.text(), timeout=WAIT)
    assert "Anna Smith" in line.text() and "booked" not in line.text()

    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.days.tomorrow_button, Qt.MouseButton.LeftButton)
    assert "Tomorrow" in line.text() and "09:00" in line.text() and "Anna" not in line.text()


def _week_problems(tab: DoctorTab) -> list[str]:
    """What keeps the next 7 days from reading whole in the tab as it is sized now."""
    table = tab.book.table
    header, room = table.horizontalHeader(), table.viewport().width()
    found = []
    if table.horizontalScrollBar().maximum():
        found.append("the book scrolls sideways")
    end = header.sectionPosition(6) + header.sectionSize(6)
    if end > room:
        found.append(f"the seventh day ends at {end}px of the {room}px shown")
    for column in range(7):
        need, width = header.sectionSizeFromContents(column).width(), header.sectionSize(column)
        if need > width:
            title = tab.book.model.headerData(column, Qt.Orientation.Horizontal)
            found.append(f"{title!r} needs {need}px, has {width}px")
    return found


def test_the_next_7_days_fit_a_1024_px_window_with_whole_date_headings(
    qtbot: QtBot, styled: QApplication, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    # Maximised on a 1024x768 screen the tab is 1024 px wide. Seven days of 160 px each
    # used to leave Saturday and Sunday off the right edge and the book scrolling sideways.
    tab = DoctorTab(sqlite_clinic, doctor(world), ops)
    qtbot.addWidget(tab)
    tab.resize(1024, 768)
    tab.show()
    qtbot.waitExposed(tab)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    model, table = tab.book.model, tab.book.table
    assert model.columnCount() == 7 and model.headerData(0, Qt.Orientation.Horizontal) == (
        "Mon, 15 Jun"
    )
    assert _week_problems(tab) == []
    widths = [table.horizontalHeader().sectionSize(c) for c in range(7)]
    # The days with hours share the width; those without (here most) take only their
    # heading's, so the names in the working days are not squeezed by empty ones.
    working = [w for c, w in enumerate(widths) if not model.is_closed(c)]
    assert len(working) == 2 and max(working) - min(working) <= 1
    assert all(widths[c] * 2 < min(working) for c in range(7) if model.is_closed(c))
    # The visits stay readable: José's name whole in its 10:00 cell today.
    today = model.index(model.row_for(time(10, 0)), 0)
    assert today.data() == "José Núñez"

    # At 1280 px too (and the days share the wider width).
    tab.resize(1280, 800)
    qtbot.waitUntil(lambda: table.horizontalHeader().sectionSize(0) > max(widths), timeout=WAIT)
    assert _week_problems(tab) == []


def test_the_doctor_closes_the_visit_of_a_patient_who_is_here(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """Checked in at the desk and called in by the doctor: the visit is still the doctor's to
    close (QA found every action greyed out once the patient was here). The book starts
    on the patient with the doctor; Enter asks to mark it completed, not to close early
    (the patient was seen), and a checked-in patient cannot be a no-show."""
    me = doctor(world)
    jose = visit_of_today(sqlite_clinic, world.patient_id)
    anna = visit_of_today(sqlite_clinic, world.other_patient_id)
    for visit in (jose, anna):
        patient_flow.check_in(sqlite_clinic, f.RECEPTION, visit)
    patient_flow.call_in(sqlite_clinic, me, anna)
    tab = make_tab(qtbot, sqlite_clinic, me, ops)
    qtbot.waitUntil(lambda: tab.selected_appointment() is not None, timeout=WAIT)
    assert tab.selected_appointment().id == anna  # type: ignore[union-attr]
    assert "1 in consultation, 1 arrived" in tab.summary.text()
    assert "in consultation" in tab.book.message.text()
    assert tab.complete_action.isEnabled() and not tab.no_show_action.isEnabled()
    qtbot.keyClick(tab.book.table, Qt.Key.Key_Return)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "as completed" in box.text() and "early" not in box.text()
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark completed"), Qt.MouseButton.LeftButton)
    assert visit_of(tab, world.other_patient_id).status == "completed"
    # The book tells them apart: who waits, who is with the doctor (colour and words).
    model = tab.book.model
    for on, _doctor, block in model.blocks():
        if block.appointment_id in (jose, anna) and on == sqlite_clinic.today():
            column = next(c for c in range(model.columnCount()) if model.column_day(c) == on)
            index = model.index(model.row_for(block.start), column)
            tip = index.data(Qt.ItemDataRole.ToolTipRole)
            colour = index.data(Qt.ItemDataRole.BackgroundRole).color()
            assert (tip.split(" · ")[-1].splitlines()[0], colour) == (
                ("Arrived", STATUS_COLOURS["arrived"])
                if block.appointment_id == jose
                else ("Completed", STATUS_COLOURS["completed"])
            )
    # José waits (arrived): his visit can be closed too, never marked a no-show.
    click_visit(qtbot, tab, world.patient_id, day=sqlite_clinic.today())
    assert visit_of(tab, world.patient_id).status == "arrived"
    assert tab.complete_action.isEnabled() and not tab.no_show_action.isEnabled()


def visit_of_today(clinic: Clinic, patient_id: int) -> int:
    today = clinic.today()
    flt = booking.AppointmentFilter(patient_id=patient_id, date_from=today, date_to=today)
    (row,) = booking.list_appointments(clinic, SYSTEM, flt)
    return row.id


def test_the_doctor_sets_their_own_weekly_hours_and_leave_from_their_book(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    """QA: a doctor could not set weekly hours or leave (the button was hidden: only the
    desk's book had it). Alt+S opens the doctor's own hours."""
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    button = tab.book.controls.hours_button
    assert button.isVisible()
    qtbot.keyClick(tab.book.table, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), HoursDialog), timeout=WAIT)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, HoursDialog) and dialog.doctor_id == world.doctor_id
    dialog.days[0].setText("08:00-12:00")
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)
    weekly = hours.weekly_hours(sqlite_clinic, world.doctor_id)
    assert [(w.weekday, f"{w.start_time:%H:%M}", f"{w.end_time:%H:%M}") for w in weekly] == [
        (0, "08:00", "12:00")
    ]


def test_calling_a_patient_in_puts_the_doctors_book_on_their_visit(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World
) -> None:
    """QA: after a call-in from the waiting room the doctor's book stayed on another visit,
    so Enter would act on a patient who was not there. The book goes to the one called in."""
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.main_window import MainWindow

    me = doctor(world)
    jose = visit_of_today(sqlite_clinic, world.patient_id)
    anna = visit_of_today(sqlite_clinic, world.other_patient_id)
    for visit in (jose, anna):
        patient_flow.check_in(sqlite_clinic, f.RECEPTION, visit)
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, me, stats)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    tab, room = window.doctor_tab, window.desk_tab
    qtbot.waitUntil(lambda: tab.selected_appointment() is not None, timeout=WAIT)
    assert tab.selected_appointment().id == jose  # type: ignore[union-attr]  # first waiting
    window.tabs.setCurrentWidget(room)
    qtbot.waitUntil(lambda: len(room.waiting_model.rows) == 2, timeout=WAIT)
    [row] = [i for i, r in enumerate(room.waiting_model.rows) if r.appointment_id == anna]
    room.waiting.view.setCurrentIndex(room.waiting_model.index(row, 0))
    with qtbot.waitSignal(room.called_in, timeout=WAIT):
        room.on_call_in()
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: getattr(tab.selected_appointment(), "id", None) == anna, timeout=WAIT)
    assert "in consultation" in tab.book.message.text()
    window.close()
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    stats.close()
