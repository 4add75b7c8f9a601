"""The history view: amended records are marked and show their versions; a doctor
without a care relationship opens the records by emergency access with a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.records.history_view import HistoryView
from tests import factories as f

WAIT = 20_000
REASON = "Seizure in the waiting room, need the medication list"


@pytest.fixture
def ops(qtbot: QtBot, sqlite_clinic: Clinic) -> Iterator[Operations]:
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT)
    assert helper.shutdown()


def _amended_visit(clinic: Clinic, clock: FakeClock) -> f.World:
    w = f.world(clinic)
    appt = booking.book(
        clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    clock.advance(days=1)
    doctor = f.doctor_actor(w.doctor_id)
    booking.complete(clinic, doctor, appt)
    records.record_treatment(clinic, doctor, appt, records.TreatmentForm(diagnosis="Migraine"))
    records.record_treatment(
        clinic, doctor, appt, records.TreatmentForm(diagnosis="Tension headache")
    )
    return w


def _view(qtbot: QtBot, clinic: Clinic, actor, ops: Operations) -> HistoryView:
    view = HistoryView(clinic, actor, ops)
    qtbot.addWidget(view)
    view.show()
    return view


def test_an_amended_record_is_marked_and_shows_both_versions(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    w = _amended_visit(sqlite_clinic, clock)
    view = _view(qtbot, sqlite_clinic, f.doctor_actor(w.doctor_id), ops)
    with qtbot.waitSignal(view.versions_shown, timeout=WAIT) as shown:
        view.show_patient(w.patient_id, "José Núñez")
    assert shown.args == [2]
    amended = view.model.index(0, view.model.columnCount() - 1).data()
    assert amended == "amended (1×)"
    text = view.detail.toPlainText()
    # The current diagnosis on top; the earlier one, who replaced it, and the change below.
    assert text.index("Tension headache") < text.index("Earlier versions")
    assert "Version 1" in text and "Migraine → Tension headache" in text
    assert f"replaced by doctor{w.doctor_id}" in text


def test_emergency_access_opens_the_records_with_a_reason(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    w = _amended_visit(sqlite_clinic, clock)
    stranger = f.doctor_actor(w.other_doctor_id)
    view = _view(qtbot, sqlite_clinic, stranger, ops)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.show_patient(w.patient_id, "José Núñez")
    assert view.model.rowCount() == 0
    assert view.emergency_action.isVisible()
    assert "no visit with them" in view.table.empty_label.text()
    dialog = view.ask_emergency_reason()
    dialog.setTextValue(REASON)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        dialog.accept()
    assert view.model.rowCount() == 1 and not view.emergency_action.isVisible()
    # Every read under emergency access is listed: the history, and the earlier versions
    # of the amended visit that load after it.
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    entries = records.emergency_accesses(sqlite_clinic, SYSTEM)
    assert len(entries) == 2
    assert {(e.doctor, e.reason) for e in entries} == {(stranger.username, REASON)}


def test_another_patients_record_never_shows_under_this_patients_name(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    """QA: after José's history, opening Anna's (refused: no care relationship) left
    José's diagnosis in the detail pane under "History of Anna Smith"."""
    w = _amended_visit(sqlite_clinic, clock)
    view = _view(qtbot, sqlite_clinic, f.doctor_actor(w.doctor_id), ops)
    with qtbot.waitSignal(view.versions_shown, timeout=WAIT):
        view.show_patient(w.patient_id, "José Núñez")
    assert "Tension headache" in view.detail.toPlainText()
    view.show_patient(w.other_patient_id, "Anna Smith")
    # At once, while Anna's loads: nothing of José's.
    assert view.model.rowCount() == 0 and view.detail.toPlainText() == ""
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert view.title.text() == "History of Anna Smith"
    assert view.model.rowCount() == 0 and view.detail.toPlainText() == ""
    assert "no visit with them" in view.table.empty_label.text()


def test_a_reason_too_short_is_asked_for_again_and_the_access_is_said(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    """QA: a mistyped reason ("ab") was refused and the Emergency access button stayed
    hidden, the short reason sent again at every refresh."""
    w = _amended_visit(sqlite_clinic, clock)
    view = _view(qtbot, sqlite_clinic, f.doctor_actor(w.other_doctor_id), ops)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.show_patient(w.patient_id, "José Núñez")
    dialog = view.ask_emergency_reason()
    dialog.setTextValue("ab")
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        dialog.accept()
    assert "at least" in view.table.empty_label.text()
    assert view.emergency_action.isVisible()
    dialog = view.ask_emergency_reason()
    dialog.setTextValue(REASON)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        dialog.accept()
    assert view.model.rowCount() == 1
    assert "emergency access" in view.subtitle.text()
