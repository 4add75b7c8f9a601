"""Least privilege for clinical records: the care relationship, emergency access with a
reason (audited and listed for the administrator), and the front desk's refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.policy import CareRelationshipRequiredError, care_window_days
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import booking
from tests import factories as f

ADMIN = Actor(user_id=None, username="boss", role="admin")
REASON = "Collapsed in the waiting room, needs medication history"


def _treated_visit(w: f.World, clock: FakeClock) -> int:
    appt = booking.book(
        w.clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    clock.advance(days=1)
    doctor = f.doctor_actor(w.doctor_id)
    booking.complete(w.clinic, doctor, appt)
    records.record_treatment(w.clinic, doctor, appt, records.TreatmentForm(diagnosis="Asthma"))
    return appt


def test_a_doctor_reads_the_history_while_the_care_relationship_holds(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    _treated_visit(world, clock)
    doctor = f.doctor_actor(world.doctor_id)
    assert [h.diagnosis for h in records.patient_history(clinic, doctor, world.patient_id)] == [
        "Asthma"
    ]
    clock.advance(days=care_window_days(clinic))  # the last day of the window
    assert records.patient_history(clinic, doctor, world.patient_id)
    clock.advance(days=1)
    with pytest.raises(CareRelationshipRequiredError, match="no visit with them"):
        records.patient_history(clinic, doctor, world.patient_id)
    # A visit booked for today renews it, before it is even completed.
    today = clinic.today()
    f.open_day(clinic, world.doctor_id, today, "10:00", "12:00")
    booking.book(
        clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id, day=today,
        at="11:00",
    )  # fmt: skip
    assert records.patient_history(clinic, doctor, world.patient_id)


def test_a_booking_ahead_is_not_care_but_emergency_access_opens_with_a_reason(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    _treated_visit(world, clock)
    other = f.doctor_actor(world.other_doctor_id)
    ahead = clinic.today() + timedelta(days=5)
    f.open_day(clinic, world.other_doctor_id, ahead)
    booking.book(
        clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.other_doctor_id, day=ahead,
        at="09:00",
    )  # fmt: skip
    with pytest.raises(CareRelationshipRequiredError):
        records.patient_history(clinic, other, world.patient_id)
    with pytest.raises(ValidationError, match="at least 10 characters"):
        records.patient_history(clinic, other, world.patient_id, emergency_reason="urgent")
    rows = records.patient_history(clinic, other, world.patient_id, emergency_reason=REASON)
    assert [h.diagnosis for h in rows] == ["Asthma"]
    # Listed for the administrator, with the typed reason; nobody else sees the list.
    (entry,) = records.emergency_accesses(clinic, ADMIN)
    assert (entry.doctor, entry.patient_id, entry.reason) == (
        other.username,
        world.patient_id,
        REASON,
    )
    for actor in (other, f.RECEPTION):
        with pytest.raises(PermissionDeniedError):
            records.emergency_accesses(clinic, actor)


def test_the_front_desk_and_administrators_see_no_clinical_fields(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _treated_visit(world, clock)
    for actor in (f.RECEPTION, ADMIN):
        with pytest.raises(PermissionDeniedError, match="clinical records"):
            records.patient_history(clinic, actor, world.patient_id)
        with pytest.raises(PermissionDeniedError):
            records.get_treatment(clinic, actor, appt)
        # Emergency access is a doctor's: a reason does not open it for the desk.
        with pytest.raises(PermissionDeniedError):
            records.patient_history(clinic, actor, world.patient_id, emergency_reason=REASON)
        # Appointments and contact data stay theirs.
        assert booking.get_appointment(clinic, actor, appt).id == appt
