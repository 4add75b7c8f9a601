"""The policy module: time rules (past, begun, may close, DST) and actions per role."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services import policy
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
#: The days the clocks go forward (02:00 -> 03:00 local).
GAPS = [("Europe/Berlin", date(2026, 3, 29)), ("America/New_York", date(2026, 3, 8))]


@pytest.mark.parametrize(("zone", "day"), GAPS)
def test_a_time_in_the_gap_does_not_exist(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    assert policy.exists(day, time(1, 59), tz)
    assert not policy.exists(day, time(2, 0), tz)
    assert not policy.exists(day, time(2, 30), tz)
    assert policy.exists(day, time(3, 0), tz)
    with pytest.raises(ValidationError, match="does not exist"):
        policy.instant(day, time(2, 30), tz)


@pytest.mark.parametrize(("zone", "day"), GAPS)
def test_no_slot_is_offered_or_booked_inside_a_dst_gap(
    clinic: Clinic, clock: FakeClock, zone: str, day: date
) -> None:
    tz = ZoneInfo(zone)
    f.set_settings(clinic, timezone=zone)
    clock.set(datetime.combine(day - timedelta(days=1), time(9, 0), tzinfo=tz))
    w = f.world(clinic)
    f.open_day(clinic, w.doctor_id, day, "01:00", "04:00")
    times = [f"{s.time:%H:%M}" for s in availability.free_slots(clinic, w.doctor_id, day)]
    assert times == ["01:00", "01:30", "03:00", "03:30"]
    with pytest.raises(ValidationError, match="does not exist"):
        booking.book(
            clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=day,
            at="02:30",
        )  # fmt: skip


def test_a_time_in_the_fold_means_its_first_occurrence() -> None:
    day = date(2026, 10, 25)  # Berlin: 03:00 summer time -> 02:00 winter time
    first = policy.instant(day, time(2, 30), BERLIN)
    assert first.utcoffset() == timedelta(hours=2)
    # 02:15 winter time (the second 02:15) is after the first 02:30: the visit has begun.
    second_quarter_past = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN)
    assert policy.has_begun(day, time(2, 30), second_quarter_past)
    assert not policy.has_begun(day, time(2, 30), datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN))


def test_begun_and_past_compare_instants_in_the_clinic_zone() -> None:
    now = datetime(2026, 6, 15, 10, 30, tzinfo=BERLIN)
    assert policy.in_the_past(date(2026, 6, 15), time(9, 0), now)
    assert policy.has_begun(date(2026, 6, 15), time(10, 30), now)
    assert not policy.has_begun(date(2026, 6, 15), time(10, 31), now)
    assert policy.may_close(date(2026, 6, 15), now)
    assert not policy.may_close(date(2026, 6, 16), now)


def test_a_booking_for_earlier_today_is_refused_whatever_the_pc_zone(
    clinic: Clinic, clock: FakeClock
) -> None:
    """A PC whose clock runs in UTC at 10:30 Berlin time must not book 09:00 that day."""
    w = f.world(clinic)
    today = clinic.today()
    f.open_day(clinic, w.doctor_id, today, "08:00", "12:00")
    clock.set(datetime.combine(today, time(8, 30), tzinfo=ZoneInfo("UTC")))  # 10:30 in Berlin
    assert clinic.now().tzinfo == BERLIN and clinic.now().hour == 10
    with pytest.raises(ValidationError, match="in the past"):
        booking.book(
            clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=today,
            at="09:00",
        )  # fmt: skip
    times = [f"{s.time:%H:%M}" for s in availability.free_slots(clinic, w.doctor_id, today)]
    assert times == ["11:00", "11:30"]


def _visit(day: date, start: time, status: str = "booked") -> policy.VisitFacts:
    return policy.VisitFacts(doctor_id=1, patient_id=2, day=day, start=start, status=status)


def test_which_actions_each_role_may_take() -> None:
    now = datetime(2026, 6, 15, 10, 0, tzinfo=BERLIN)
    later_today = _visit(date(2026, 6, 15), time(11, 0))
    begun = _visit(date(2026, 6, 15), time(9, 0))
    tomorrow = _visit(date(2026, 6, 16), time(9, 0))
    patient = f.patient_actor(2)
    doctor = f.doctor_actor(1)
    assert policy.allowed_actions(patient, later_today, now) == {"reschedule", "cancel"}
    assert policy.allowed_actions(patient, begun, now) == frozenset()
    assert policy.allowed_actions(doctor, begun, now) == {
        "cancel", "complete", "no_show", "record_treatment",
    }  # fmt: skip
    assert policy.allowed_actions(doctor, tomorrow, now) == {"cancel"}
    assert policy.allowed_actions(f.RECEPTION, tomorrow, now) == {"reschedule", "cancel"}
    assert policy.allowed_actions(f.doctor_actor(9), begun, now) == frozenset()
    done = _visit(date(2026, 6, 15), time(9, 0), "completed")
    # Clinical fields are the treating doctor's alone (#15): not the desk's.
    assert policy.allowed_actions(f.RECEPTION, done, now) == frozenset()
    assert policy.allowed_actions(doctor, done, now) == {"record_treatment"}
    with pytest.raises(PermissionDeniedError, match="Doctors do not move"):
        policy.require_action(doctor, later_today, "reschedule", now)
    with pytest.raises(ValidationError, match="has started"):
        policy.require_action(patient, begun, "cancel", now)
    with pytest.raises(PermissionDeniedError):
        policy.require_action(f.patient_actor(3), later_today, "cancel", now)


def test_a_patient_who_is_here_has_a_visit_to_close_not_to_move_or_miss() -> None:
    """Arrived (checked in) and in consultation are a booked visit's places on its day: it
    is closed or cancelled as a booked one, never moved nor marked a no-show."""
    now = datetime(2026, 6, 15, 10, 0, tzinfo=BERLIN)
    doctor = f.doctor_actor(1)
    for state in policy.PRESENT:
        later_today = _visit(date(2026, 6, 15), time(11, 0), state)
        begun = _visit(date(2026, 6, 15), time(9, 0), state)
        assert policy.allowed_actions(doctor, begun, now) == {
            "cancel", "complete", "record_treatment",
        }  # fmt: skip
        assert policy.allowed_actions(doctor, later_today, now) == {
            "cancel", "complete", "record_treatment",
        }  # fmt: skip
        assert policy.allowed_actions(f.RECEPTION, later_today, now) == {"cancel", "complete"}
        with pytest.raises(ValidationError, match="cannot be a no-show"):
            policy.require_action(doctor, begun, "no_show", now)
        with pytest.raises(ValidationError, match="checked in"):
            policy.require_action(f.RECEPTION, later_today, "reschedule", now)


def test_minutes_since_start_counts_real_minutes_across_the_clock_change() -> None:
    """How late a patient is: 0 before the start, then minutes that passed, an hour
    jump of the clocks not counted as an hour of waiting."""
    berlin = ZoneInfo("Europe/Berlin")
    day = date(2026, 3, 29)  # 02:00 -> 03:00 that night
    before = datetime(2026, 3, 29, 1, 20, tzinfo=berlin)
    assert policy.minutes_since_start(day, time(1, 30), before) == 0
    after_jump = datetime(2026, 3, 29, 3, 15, tzinfo=berlin)
    assert policy.minutes_since_start(day, time(1, 30), after_jump) == 45
    noon = datetime(2026, 6, 15, 12, 0, 59, tzinfo=berlin)
    assert policy.minutes_since_start(date(2026, 6, 15), time(9, 30), noon) == 150
    assert policy.minutes_since_start(date(2026, 6, 16), time(9, 30), noon) == 0
