"""Diagnoses in appointment lists are medical records: only on request, for one patient, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hms_desktop.errors import PermissionDeniedError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.records import records
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from tests import factories as f


def _treated_visit(clinic, clock):
    w = f.world(clinic)
    appt = booking.book(
        clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    clock.advance(timedelta(days=1, hours=1))
    booking.complete(clinic, f.doctor_actor(w.doctor_id), appt)
    records.record_treatment(
        clinic,
        f.doctor_actor(w.doctor_id),
        appt,
        records.TreatmentForm(diagnosis="Otitis media", prescription="Amoxicillin"),
    )
    return w, appt


def _record_views(clinic) -> list[audit.AuditRow]:
    return [e for e in audit.list_entries(clinic, SYSTEM) if e.action == "records.view"]


def test_lists_leave_diagnoses_out_unless_asked(clinic, clock) -> None:
    w, _appt = _treated_visit(clinic, clock)
    plain = booking.list_appointments(clinic, f.RECEPTION, AppointmentFilter())
    assert [(r.has_treatment, r.diagnosis, r.prescription) for r in plain] == [(True, "", "")]
    assert _record_views(clinic) == []

    doctor = f.doctor_actor(w.doctor_id)
    rows = booking.list_appointments(
        clinic, doctor, AppointmentFilter(patient_id=w.patient_id), include_records=True
    )
    assert [(r.diagnosis, r.prescription) for r in rows] == [("Otitis media", "Amoxicillin")]
    (entry,) = _record_views(clinic)
    assert (entry.actor, entry.patient_id) == (doctor.username, w.patient_id)
    # The front desk sees the appointments, never the diagnoses.
    with pytest.raises(PermissionDeniedError, match="front desk"):
        booking.list_appointments(
            clinic, f.RECEPTION, AppointmentFilter(patient_id=w.patient_id), include_records=True
        )


def test_records_in_lists_need_one_patient_and_access(clinic, clock) -> None:
    w, _appt = _treated_visit(clinic, clock)
    with pytest.raises(PermissionDeniedError):
        booking.list_appointments(clinic, f.RECEPTION, AppointmentFilter(), include_records=True)
    stranger = f.doctor_actor(w.other_doctor_id)
    with pytest.raises(PermissionDeniedError):
        booking.list_appointments(
            clinic, stranger, AppointmentFilter(patient_id=w.patient_id), include_records=True
        )
    mine = booking.list_appointments(clinic, f.patient_actor(w.patient_id), include_records=True)
    assert [r.diagnosis for r in mine] == ["Otitis media"]
    assert _record_views(clinic) and _record_views(clinic)[0].patient_id == w.patient_id
