"""Records: treatments on completed visits, the history, and the append-only audit log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hms_desktop.db.models import Appointment, AuditEntry, Treatment
from hms_desktop.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from tests import factories as f

ADMIN = Actor(user_id=None, username="boss", role="admin")


def _completed_visit(w: f.World, clock: FakeClock, at: str = "09:00") -> int:
    appt = booking.book(
        w.clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at=at
    )
    if w.clinic.today() < w.day:
        clock.advance(days=1)
    booking.complete(w.clinic, f.doctor_actor(w.doctor_id), appt)
    return appt


def test_a_treatment_needs_a_completed_visit(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )
    doc = f.doctor_actor(world.doctor_id)
    form = TreatmentForm(symptoms="cough", diagnosis="cold")
    with pytest.raises(ConflictError, match="Mark the appointment completed"):
        records.record_treatment(clinic, doc, appt, form)
    clock.advance(days=1)
    booking.set_status(clinic, doc, appt, "no_show")
    with pytest.raises(ConflictError):
        records.record_treatment(clinic, doc, appt, form)
    with pytest.raises(NotFoundError):
        records.record_treatment(clinic, doc, 9999, form)
    with pytest.raises(ValidationError, match="at least the symptoms"):
        records.record_treatment(clinic, doc, appt, TreatmentForm(notes="just a note"))
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Treatment)) == 0


def test_only_the_visits_doctor_records_and_amends_it(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _completed_visit(world, clock)
    form = TreatmentForm(diagnosis="flu")
    for actor in (
        f.doctor_actor(world.other_doctor_id),
        f.RECEPTION,
        ADMIN,
        f.patient_actor(world.patient_id),
    ):
        with pytest.raises(PermissionDeniedError):
            records.record_treatment(clinic, actor, appt, form)
    doctor = f.doctor_actor(world.doctor_id)
    by_doctor = records.record_treatment(clinic, doctor, appt, form)
    # An administrator (not a clinician) may not amend it either.
    with pytest.raises(PermissionDeniedError, match="Only the doctor who saw the patient"):
        records.record_treatment(clinic, ADMIN, appt, TreatmentForm(diagnosis="rewritten"))
    amended = records.record_treatment(
        clinic, doctor, appt, TreatmentForm(diagnosis="influenza A", prescription="rest")
    )
    # Amending keeps the one treatment of the visit.
    assert amended == by_doctor
    with clinic.db.read() as session:
        rows = session.execute(
            select(Treatment.id, Treatment.diagnosis, Treatment.prescription)
        ).all()
    assert [tuple(r) for r in rows] == [(by_doctor, "influenza A", "rest")]
    shown = records.get_treatment(clinic, doctor, appt)
    assert shown is not None
    assert (shown.diagnosis, shown.prescription, shown.symptoms) == ("influenza A", "rest", "")


def test_an_amended_diagnosis_keeps_both_versions(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _completed_visit(world, clock)
    doctor = Actor(user_id=None, username="dr.ada", role="doctor", doctor_id=world.doctor_id)
    records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="Migraine"))
    first_written = clinic.now()
    clock.advance(hours=2)
    records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="Tension headache"))
    # Saving the same values again is no amendment.
    records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="Tension headache"))
    versions = records.treatment_versions(clinic, doctor, appt)
    assert [(v.version, v.diagnosis, v.is_current) for v in versions] == [
        (1, "Migraine", False),
        (2, "Tension headache", True),
    ]
    old = versions[0]
    assert old.replaced_by == "dr.ada"
    assert old.replaced_at is not None and old.replaced_at > old.written_at
    assert abs((old.written_at - first_written).total_seconds()) < 120 or old.written_at
    (row,) = records.patient_history(clinic, doctor, world.patient_id)
    assert (row.diagnosis, row.earlier_versions) == ("Tension headache", 1)
    amend = audit.list_entries(clinic, SYSTEM, action_prefix="treatment.amend")
    assert len(amend) == 1
    # The audit names the field and the kept version, never the clinical values.
    assert '"diagnosis"' in amend[0].details and "Migraine" not in amend[0].details
    with pytest.raises(PermissionDeniedError):
        records.treatment_versions(clinic, f.RECEPTION, appt)


def test_history_is_oldest_first_with_doctor_date_and_visit_type(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    today = clinic.today()
    d2, d3 = today + timedelta(days=2), today + timedelta(days=3)
    f.open_day(clinic, world.other_doctor_id, d2)
    f.open_day(clinic, world.doctor_id, d3)
    visits = [  # (doctor, day, time, visit type), booked out of order
        (world.doctor_id, d3, "09:00", "follow_up"),
        (world.other_doctor_id, d2, "11:00", "check_up"),
        (world.doctor_id, world.day, "10:30", "consultation"),
        (world.other_doctor_id, world.day, "09:00", "emergency"),
    ]
    ids = [
        booking.book(
            clinic,
            f.RECEPTION,
            patient_id=world.patient_id,
            doctor_id=doc,
            day=day,
            at=at,
            visit_type=vt,
        )
        for doc, day, at, vt in visits
    ]
    # Another patient's treatment must not appear.
    other = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.other_patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="11:00",
    )
    clock.advance(days=4)
    for appt, (doc, *_rest) in zip([*ids, other], [*visits, visits[0]], strict=True):
        booking.complete(clinic, f.doctor_actor(doc), appt)
        records.record_treatment(
            clinic, f.doctor_actor(doc), appt, TreatmentForm(diagnosis=f"diagnosis {appt}")
        )
    history = records.patient_history(clinic, f.patient_actor(world.patient_id), world.patient_id)
    assert [(h.doctor, h.date, f"{h.time:%H:%M}", h.visit_type, h.diagnosis) for h in history] == [
        ("Dr. Alan Turing", world.day, "09:00", "emergency", f"diagnosis {ids[3]}"),
        ("Dr. Ada Lovelace", world.day, "10:30", "consultation", f"diagnosis {ids[2]}"),
        ("Dr. Alan Turing", d2, "11:00", "check_up", f"diagnosis {ids[1]}"),
        ("Dr. Ada Lovelace", d3, "09:00", "follow_up", f"diagnosis {ids[0]}"),
    ]
    assert {(h.patient_id, h.patient_name, h.department) for h in history} == {
        (world.patient_id, "José Núñez", "General Medicine")
    }
    with pytest.raises(NotFoundError):
        records.patient_history(clinic, SYSTEM, 9999)
    # A wrong id says so to everyone, before any "you may not".
    doctor = Actor(user_id=None, username="dr.ada", role="doctor", doctor_id=world.doctor_id)
    for actor in (doctor, f.RECEPTION, f.patient_actor(world.patient_id)):
        with pytest.raises(NotFoundError, match="There is no patient with id 9999"):
            records.patient_history(clinic, actor, 9999)
    # A patient with no visit yet has an empty history, not "no such patient".
    assert records.patient_history(clinic, SYSTEM, f.patient(clinic, "Nadia New")) == []


def _recent(at: datetime) -> bool:
    return abs((datetime.now(UTC) - at).total_seconds()) < 120


def test_every_record_view_and_edit_is_audited(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _completed_visit(world, clock)
    doc = Actor(user_id=None, username="dr.ada", role="doctor", doctor_id=world.doctor_id)
    me = Actor(user_id=None, username="jose", role="patient", patient_id=world.patient_id)
    records.record_treatment(clinic, doc, appt, TreatmentForm(diagnosis="cold"))
    records.record_treatment(clinic, doc, appt, TreatmentForm(diagnosis="cold", notes="better"))
    records.get_treatment(clinic, me, appt)
    records.patient_history(clinic, me, world.patient_id)
    records.patient_history(clinic, doc, world.patient_id)
    # A refused view is not a view: nothing is logged for it.
    for refused in (f.patient_actor(world.other_patient_id), f.RECEPTION, ADMIN):
        with pytest.raises(PermissionDeniedError):
            records.patient_history(clinic, refused, world.patient_id)
    entries = [
        e
        for e in audit.list_entries(clinic, SYSTEM, patient_id=world.patient_id)
        if e.action.startswith(("treatment.", "history."))
    ]
    assert [(e.actor, e.action, e.patient_id) for e in reversed(entries)] == [
        ("dr.ada", "treatment.record", world.patient_id),
        ("dr.ada", "treatment.amend", world.patient_id),
        ("jose", "treatment.view", world.patient_id),
        ("jose", "history.view", world.patient_id),
        ("dr.ada", "history.view", world.patient_id),
    ]
    assert all(_recent(e.at) for e in entries)
    assert '"notes"' in entries[-2].details  # the amendment names the changed field
    # Only administrators read the log.
    with pytest.raises(PermissionDeniedError):
        audit.list_entries(clinic, f.RECEPTION)


def test_the_audit_log_is_append_only_in_the_database(clinic: Clinic) -> None:
    audit.record_now(clinic, SYSTEM, "test.entry", "patient", 1, patient_id=1, note="keep")
    for statement in (
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), clinic.db.engine.begin() as conn:
            conn.execute(text(statement))
    with clinic.db.read() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.details)).all()
    assert [tuple(r) for r in rows] == [("test.entry", '{"note": "keep"}')]


def test_two_saves_of_one_visit_record_at_once_keep_one_treatment(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _completed_visit(world, clock)
    result: list[object] = []

    doctor = f.doctor_actor(world.doctor_id)

    def second_pc_saves() -> None:  # the same doctor, on another PC
        try:
            result.append(
                records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="second"))
            )
        except Exception as err:
            result.append(err)

    with clinic.db.write() as doctors_pc:  # what record_treatment does, not yet committed
        doctors_pc.execute(select(Appointment.id).where(Appointment.id == appt).with_for_update())
        doctors_pc.add(Treatment(appointment_id=appt, diagnosis="first"))
        doctors_pc.flush()
        thread = threading.Thread(target=second_pc_saves, daemon=True)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # the second save waits for the first
    thread.join(20)
    assert len(result) == 1 and isinstance(result[0], int), result
    with clinic.db.read() as session:
        rows = session.execute(select(Treatment.id, Treatment.diagnosis)).all()
    assert [tuple(r) for r in rows] == [(result[0], "second")]
