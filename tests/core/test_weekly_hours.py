"""Weekly hours with dated exceptions: bookings months ahead, leave removes time."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import availability, booking, hours
from hms_desktop.services.views import day_words
from tests import factories as f


def _times(clinic: Clinic, doctor_id: int, day: object) -> list[str]:
    return [f"{s.time:%H:%M}" for s in availability.free_slots(clinic, doctor_id, day)]  # type: ignore[arg-type]


def test_a_booking_60_days_ahead_from_weekly_hours(clinic: Clinic, world: f.World) -> None:
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "mon", [("09:00", "10:00")])
    hours.add_weekly(clinic, SYSTEM, world.doctor_id, "mon", "14:00", "15:00")
    day = clinic.today() + timedelta(days=63)  # a Monday (the clock starts on one)
    assert day.weekday() == 0
    assert _times(clinic, world.doctor_id, day) == ["09:00", "09:30", "14:00", "14:30"]
    new_id = booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=day, at="14:30",
    )  # fmt: skip
    assert booking.get_appointment(clinic, SYSTEM, new_id).date == day
    assert _times(clinic, world.doctor_id, day) == ["09:00", "09:30", "14:00"]
    # A Tuesday has no weekly hours; past the horizon nothing is taken.
    assert _times(clinic, world.doctor_id, day + timedelta(days=1)) == []
    beyond = clinic.today() + timedelta(days=91)
    assert beyond.weekday() == 0
    assert _times(clinic, world.doctor_id, beyond) == []
    with pytest.raises(ValidationError, match="up to 90 days ahead"):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=beyond, at="09:00",
        )  # fmt: skip


def test_leave_removes_the_free_time_and_is_refused_for_booking(
    clinic: Clinic, world: f.World
) -> None:
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "mon", [("09:00", "12:00")])
    day = clinic.today() + timedelta(days=63)
    assert len(_times(clinic, world.doctor_id, day)) == 6
    last = day + timedelta(days=4)
    assert hours.take_leave(clinic, SYSTEM, world.doctor_id, day, last, "holiday") == 5
    assert _times(clinic, world.doctor_id, day) == []
    with pytest.raises(ValidationError, match="does not see patients"):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=day, at="09:00",
        )  # fmt: skip
    # The Monday after is open again; ending the leave restores the day.
    assert len(_times(clinic, world.doctor_id, day + timedelta(days=7))) == 6
    hours.end_leave(clinic, SYSTEM, world.doctor_id, day, day)
    assert len(_times(clinic, world.doctor_id, day)) == 6
    shown = hours.exceptions(clinic, world.doctor_id, day)
    assert [(e.date, e.kind, e.reason) for e in shown][:1] == [
        (day + timedelta(days=1), "off", "holiday")
    ]


def test_leave_over_a_booked_visit_is_refused_and_changes_nothing(
    clinic: Clinic, world: f.World
) -> None:
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "mon", [("09:00", "12:00")])
    day = clinic.today() + timedelta(days=14)
    booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=day, at="10:00",
    )  # fmt: skip
    with pytest.raises(
        ValidationError, match=rf"booked at 10:00 \(José Núñez until 10:30\) on {day_words(day)}"
    ):
        hours.take_leave(clinic, SYSTEM, world.doctor_id, day, day)
    with pytest.raises(ValidationError, match="Patients are booked at 10:00"):
        hours.set_weekly(clinic, SYSTEM, world.doctor_id, "mon", [("11:00", "12:00")])
    assert len(_times(clinic, world.doctor_id, day)) == 5
    assert hours.exceptions(clinic, world.doctor_id, day) == []


def test_hours_for_one_date_replace_the_weekly_hours_of_that_date(
    clinic: Clinic, world: f.World
) -> None:
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, 0, [("09:00", "12:00")])
    day = clinic.today() + timedelta(days=7)
    availability.set_day(clinic, SYSTEM, world.doctor_id, day, [("15:00", "16:00")])
    assert _times(clinic, world.doctor_id, day) == ["15:00", "15:30"]
    assert [
        (w.start_time, w.end_time) for w in availability.get_windows(clinic, world.doctor_id, [day])
    ] == [(time(15, 0), time(16, 0))]
    availability.set_day(clinic, SYSTEM, world.doctor_id, day, [])
    assert _times(clinic, world.doctor_id, day) == []


def test_only_the_doctor_or_staff_edit_hours(clinic: Clinic, world: f.World) -> None:
    hours.set_weekly(
        clinic, f.doctor_actor(world.doctor_id), world.doctor_id, "tue", [("09:00", "10:00")]
    )
    assert [w.day_name for w in hours.weekly_hours(clinic, world.doctor_id)] == ["tue"]
    with pytest.raises(PermissionDeniedError):
        hours.set_weekly(clinic, f.doctor_actor(world.other_doctor_id), world.doctor_id, "tue", [])
    with pytest.raises(PermissionDeniedError):
        hours.take_leave(
            clinic,
            f.patient_actor(world.patient_id),
            world.doctor_id,
            clinic.today(),
            clinic.today(),
        )
    with pytest.raises(ValidationError, match="one of mon"):
        hours.set_weekly(clinic, SYSTEM, world.doctor_id, "funday", [])
