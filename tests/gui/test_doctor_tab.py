"""The Doctor tab, driven through its real widgets on a real SQLite clinic.

Closing visits (with confirmation for the destructive ones), recording and
editing a treatment that then shows in both tabs' history, and the
availability editor with the service's own error for an overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt, QTime
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QMessageBox,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.doctor.doctor_tab import DoctorTab
from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
from hms_desktop.ui.patient.patient_tab import PAGE_PAST, PatientTab
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
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0, timeout=WAIT)
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


def row_for(tab: DoctorTab, patient_id: int) -> int:
    return next(i for i, r in enumerate(tab.model.rows) if r.patient_id == patient_id)


def test_doctor_completes_a_visit_and_records_a_treatment(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    assert tab.showing_today()
    assert [(r.time, r.patient) for r in tab.model.rows] == [
        (time(10, 0), "José Núñez"),
        (time(11, 0), "Anna Smith"),
    ]
    qtmodeltester.check(tab.model)  # type: ignore[attr-defined]

    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
    assert not tab.treatment_action.isEnabled()  # only a completed visit gets a treatment
    with qtbot.waitSignal(tab.appointment_changed, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.model.rows[row_for(tab, world.patient_id)].status == "completed", timeout=WAIT
    )
    assert tab.treatment_action.isEnabled()

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
    qtbot.waitUntil(
        lambda: tab.model.rows[row_for(tab, world.patient_id)].has_treatment, timeout=WAIT
    )

    # The Doctor tab's history of that patient shows it.
    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
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
    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
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
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)

    click_row(qtbot, tab.table.view, row_for(tab, world.other_patient_id))
    qtbot.mouseClick(button_for(tab, "Mark no-show"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    assert box.defaultButton().text() == "Keep it"  # Enter must not destroy anything
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert tab.model.rows[row_for(tab, world.other_patient_id)].status == "booked"

    qtbot.mouseClick(button_for(tab, "Mark no-show"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark no-show"), Qt.MouseButton.LeftButton)
    assert tab.model.rows[row_for(tab, world.other_patient_id)].status == "no_show"

    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
    qtbot.mouseClick(button_for(tab, "Cancel appointment"), Qt.MouseButton.LeftButton)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Cancel appointment"), Qt.MouseButton.LeftButton)
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

    # This week: tomorrow's visit is listed, and cannot be completed before its day.
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    assert not tab.table.view.isColumnHidden(0)
    tomorrow = [i for i, r in enumerate(tab.model.rows) if r.date == world.day]
    assert len(tomorrow) == 1
    click_row(qtbot, tab.table.view, tomorrow[0])
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
    assert tab.table.is_showing_empty_state()
    assert tab.table.empty_label.text() == "No appointments today."
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
    """Another doctor of the same patient may read the visit but not write its treatment."""
    clinic = sqlite_clinic
    tomorrow_visit = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.other_doctor_id,
        day=world.day,
        at="11:00",
    )
    assert tomorrow_visit
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    visit = tab.model.rows[row_for(tab, world.patient_id)]
    assert visit.status == "completed"

    turing = Actor(None, "turing", "doctor", doctor_id=world.other_doctor_id)
    dialog = TreatmentDialog(clinic, turing, ops, visit)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT):
        dialog.open()
    qtbot.keyClicks(dialog.fields["diagnosis"], "Migraine")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.banner.isVisible, timeout=WAIT)
    assert "Only the doctor who saw the patient" in dialog.banner.text()
    assert dialog.fields["diagnosis"].toPlainText() == "Migraine"
    assert dialog.isVisible()
    assert records.get_treatment(clinic, SYSTEM, visit.id) is None
    # Esc or Cancel with typed text asks first; "Keep editing" keeps it all.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    question = dialog.discard_question
    assert question is not None and question.isVisible()
    assert "not saved" in question.text()
    keep = next(b for b in question.buttons() if b.text() == "Keep editing")
    assert question.defaultButton() is keep  # Enter must not throw the text away
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.fields["diagnosis"].toPlainText() == "Migraine"
    dialog.reject()
    question = dialog.discard_question
    assert question is not None
    discard = next(b for b in question.buttons() if b.text() == "Discard")
    qtbot.mouseClick(discard, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)


def test_keyboard_only_close_visit_record_treatment_and_open_history(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    clinic = sqlite_clinic
    tab = make_tab(qtbot, clinic, doctor(world), ops)
    tab.activateWindow()
    qtbot.waitActive(tab)
    # Tab walks: page tabs, the table, its enabled actions, Today, This week.
    tab.pages.tabBar().setFocus()
    order = []
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order[0] is tab.table.view
    assert [w.text().replace("&", "") for w in order[1:]] == [
        "Mark completed",
        "Mark no-show",
        "Cancel appointment",
        "Patient history",  # Record treatment is skipped: the visit is not completed yet
        "Today",
    ]
    tab.table.view.setFocus()
    assert tab.selected_appointment() is not None  # the first visit to close is preselected
    assert tab.selected_appointment().patient_id == world.patient_id  # type: ignore[union-attr]
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.keySequence(tab, "Ctrl+Shift+C")
    assert tab.model.rows[0].status == "completed"
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
    click_row(qtbot, tab.table.view, row_for(tab, world.other_patient_id))
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


def test_sorting_by_a_column_keeps_actions_on_the_clicked_visit(
    qtbot: QtBot, qtmodeltester: object, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    view = tab.table.view
    header = view.horizontalHeader()
    patient_column = 2
    rect = header.sectionViewportPosition(patient_column) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect, 5))
    shown = [view.model().index(r, patient_column).data() for r in range(view.model().rowCount())]
    assert shown == sorted(shown, key=str.casefold) and shown[0] == "Anna Smith"
    assert [r.patient for r in tab.model.rows] == ["José Núñez", "Anna Smith"]  # source untouched
    qtmodeltester.check(view.model())  # type: ignore[attr-defined]
    click_row(qtbot, view, 0)  # the top row on screen: Anna's visit, second in the source
    selected = tab.selected_appointment()
    assert selected is not None and selected.patient_id == world.other_patient_id
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    status = {r.patient_id: r.status for r in tab.model.rows}
    assert status == {world.other_patient_id: "completed", world.patient_id: "booked"}


def test_enter_on_a_booked_visit_asks_before_completing_it(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    row = row_for(tab, world.patient_id)
    click_row(qtbot, tab.table.view, row)
    qtbot.keyClick(tab.table.view, Qt.Key.Key_Return)  # easily pressed by mistake
    box = tab.active_dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "as completed" in box.text()
    assert box.defaultButton().text() == "Keep it"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert tab.model.rows[row_for(tab, world.patient_id)].status == "booked"
    qtbot.keyClick(tab.table.view, Qt.Key.Key_Return)
    box = tab.active_dialog
    assert isinstance(box, QMessageBox)
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(box, "Mark completed"), Qt.MouseButton.LeftButton)
    assert tab.model.rows[row_for(tab, world.patient_id)].status == "completed"


def test_a_visit_changed_elsewhere_is_shown_as_it_is_and_the_message_goes_later(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World, ops: Operations
) -> None:
    tab = make_tab(qtbot, sqlite_clinic, doctor(world), ops)
    click_row(qtbot, tab.table.view, row_for(tab, world.patient_id))
    visit = tab.selected_appointment()
    assert visit is not None
    # Another front-desk PC cancels it; this window hears nothing of it.
    booking.set_status(sqlite_clinic, SYSTEM, visit.id, "cancelled")
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(button_for(tab, "Mark completed"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: tab.model.rows[row_for(tab, world.patient_id)].status == "cancelled",
        timeout=WAIT,
    )
    assert tab.error.isVisible() and "cancelled already" in tab.error.text()
    assert not tab.complete_action.isEnabled()  # the row as it is now
    click_row(qtbot, tab.table.view, row_for(tab, world.other_patient_id))
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
