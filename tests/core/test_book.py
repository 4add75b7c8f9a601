"""The appointment book (a day's columns, the next free time) and recurring series."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import doctors
from hms_desktop.services.scheduling import book, booking, hours, series
from tests import factories as f


def _book(
    clinic: Clinic, w: f.World, at: str, *, patient: int | None = None, day: date | None = None
) -> int:
    return booking.book(
        clinic, f.RECEPTION, patient_id=patient or w.patient_id, doctor_id=w.doctor_id,
        day=day or w.day, at=at,
    )  # fmt: skip


def test_day_book_has_a_column_per_doctor_with_visits_hours_and_free_time(
    clinic: Clinic, world: f.World
) -> None:
    first = _book(clinic, world, "09:30")
    cancelled = _book(clinic, world, "10:00", patient=world.other_patient_id)
    booking.cancel(clinic, f.RECEPTION, cancelled)
    day = book.day_book(clinic, f.RECEPTION, world.day)
    assert [c.doctor for c in day.columns] == ["Dr. Ada Lovelace", "Dr. Alan Turing"]
    ada = day.columns[0]
    assert [(v.appointment_id, v.start, v.end, v.patient, v.status) for v in ada.visits] == [
        (first, time(9, 30), time(10, 0), "José Núñez", "booked")
    ]
    assert [(h.start, h.end) for h in ada.hours] == [(time(9, 0), time(12, 0))]
    assert [r.start for r in ada.free] == [
        time(9, 0),
        *(time(h, m) for h in (10, 11) for m in (0, 30)),
    ]
    assert (day.grid_start, day.grid_end, day.step_minutes) == (time(8, 0), time(18, 0), 30)
    # A chosen set, a department, a doctor's own book only.
    only = book.day_book(clinic, f.RECEPTION, world.day, doctor_ids=[world.other_doctor_id])
    assert [c.doctor_id for c in only.columns] == [world.other_doctor_id]
    other_dept = f.department(clinic)
    assert book.day_book(clinic, f.RECEPTION, world.day, department_id=other_dept).columns == ()
    mine = book.day_book(clinic, f.doctor_actor(world.doctor_id), world.day)
    assert [c.doctor_id for c in mine.columns] == [world.doctor_id]
    with pytest.raises(PermissionDeniedError):
        book.day_book(
            clinic, f.doctor_actor(world.doctor_id), world.day, doctor_ids=[world.other_doctor_id]
        )
    with pytest.raises(PermissionDeniedError):
        book.day_book(clinic, f.patient_actor(world.patient_id), world.day)


def test_next_free_finds_the_first_free_time_of_a_doctor_or_department(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    _book(clinic, world, "09:00")
    found = book.next_free(clinic, doctor_id=world.doctor_id)
    assert found is not None and (found.date, found.time) == (world.day, time(9, 30))
    # The department: Turing is free at 09:00.
    found = book.next_free(clinic, department_id=world.department_id)
    assert found is not None and (found.doctor_id, found.time) == (
        world.other_doctor_id,
        time(9, 0),
    )
    # A 60-minute visit needs two free slots in a row; within a time of day.
    _book(clinic, world, "10:00", patient=world.other_patient_id)
    found = book.next_free(clinic, doctor_id=world.doctor_id, minutes=60)
    assert found is not None and (found.time, found.end_time) == (time(10, 30), time(11, 30))
    # A visit type's length (read with the hours); an unknown type: one slot.
    admin = Actor(user_id=1, username="boss", role="admin")
    clinic_settings.set_visit_type(clinic, admin, "procedure", minutes=60)
    found = book.next_free(clinic, doctor_id=world.doctor_id, visit_type="procedure")
    assert found is not None and (found.time, found.end_time) == (time(10, 30), time(11, 30))
    found = book.next_free(clinic, doctor_id=world.doctor_id, visit_type="no such type")
    assert found is not None and (found.time, found.end_time) == (time(9, 30), time(10, 0))
    found = book.next_free(clinic, doctor_id=world.doctor_id, between=(time(11, 0), time(12, 0)))
    assert found is not None and found.time == time(11, 0)
    # Weekly hours further ahead; after a date; nothing left: None.
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "fri", [("14:00", "15:00")])
    found = book.next_free(clinic, doctor_id=world.doctor_id, after=world.day + timedelta(days=30))
    assert found is not None and found.date.weekday() == 4 and found.time == time(14, 0)
    assert found.date >= world.day + timedelta(days=30)
    assert (
        book.next_free(clinic, doctor_id=world.doctor_id, between=(time(6, 0), time(7, 0))) is None
    )
    clock.advance(days=2)  # the open day is past now: only Fridays remain
    found = book.next_free(clinic, doctor_id=world.doctor_id)
    assert found is not None and found.date.weekday() == 4
    with pytest.raises(ValidationError):
        book.next_free(clinic)


def test_next_free_reads_past_a_full_first_date_weeks_of_leave_and_a_blacklisted_doctor(
    clinic: Clinic, world: f.World
) -> None:
    """next_free reads the horizon's hours and the first date's visits at once, then the
    visits a date, then a week at a time: the times found are the dates' own."""
    ada, turing = world.doctor_id, world.other_doctor_id
    # Ada's first date full (its visits come with the hours); her next date with hours.
    for at in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30"):
        _book(clinic, world, at, patient=f.patient(clinic))
    f.open_day(clinic, ada, world.day + timedelta(days=3), "10:00", "11:00")
    found = book.next_free(clinic, doctor_id=ada, after=world.day)
    assert found is not None and (found.date, found.time) == (
        world.day + timedelta(days=3),
        time(10, 0),
    )
    # The department: Turing is free on the first date, until he is blacklisted.
    found = book.next_free(clinic, department_id=world.department_id, after=world.day)
    assert found is not None and (found.doctor_id, found.date, found.time) == (
        turing,
        world.day,
        time(9, 0),
    )
    # Weeks of leave: the first Wednesday after it.
    hours.set_weekly(clinic, SYSTEM, turing, "wed", [("09:00", "10:00")])
    leave_end = world.day + timedelta(days=40)
    hours.take_leave(clinic, SYSTEM, turing, world.day + timedelta(days=1), leave_end)
    found = book.next_free(clinic, doctor_id=turing, after=world.day + timedelta(days=1))
    assert found is not None and found.date.weekday() == 2 and found.time == time(9, 0)
    assert leave_end < found.date <= leave_end + timedelta(days=7)
    doctors.set_blacklisted(clinic, SYSTEM, turing, True)
    assert book.next_free(clinic, doctor_id=turing) is None
    found = book.next_free(clinic, department_id=world.department_id, after=world.day)
    assert found is not None and (found.doctor_id, found.date) == (
        ada,
        world.day + timedelta(days=3),
    )
    # A doctor without any hours offers nothing.
    assert book.next_free(clinic, doctor_id=f.doctor(clinic, world.department_id)) is None


def test_a_recurring_series_with_one_conflict_books_the_others_and_reports_it(
    clinic: Clinic, world: f.World
) -> None:
    hours.set_weekly(clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    dates = series.occurrence_dates(world.day, "weekly", count=4)
    assert dates == [world.day + timedelta(weeks=i) for i in range(4)]
    taken = _book(clinic, world, "10:00", patient=world.other_patient_id, day=dates[2])
    result = series.book_series(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        dates=dates, at="10:00",
    )  # fmt: skip
    assert result.booked == () and [c.date for c in result.conflicts] == [dates[2]]
    assert "already has a visit" in result.conflicts[0].reason
    result = series.book_series(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        dates=dates, at="10:00", book_the_rest=True,
    )  # fmt: skip
    assert len(result.booked) == 3 and [c.date for c in result.conflicts] == [dates[2]]
    rows = [booking.get_appointment(clinic, SYSTEM, i) for i in result.booked]
    assert [r.date for r in rows] == [dates[0], dates[1], dates[3]]
    assert taken not in result.booked
    # Move the second and all later ones an hour later; cancel the last alone.
    assert (
        series.move_occurrences(
            clinic, f.RECEPTION, result.booked[1], day=dates[1], at="11:00", and_later=True
        )
        == []
    )
    moved = [booking.get_appointment(clinic, SYSTEM, i) for i in result.booked]
    assert [r.time for r in moved] == [time(10, 0), time(11, 0), time(11, 0)]
    assert series.cancel_occurrences(clinic, f.RECEPTION, result.booked[2]) == [result.booked[2]]
    assert series.later_occurrences(clinic, result.booked[0]) == list(result.booked[:2])


def test_series_dates_weekly_every_n_monthly_and_until() -> None:
    start = date(2026, 1, 31)
    assert series.occurrence_dates(start, "monthly", count=3) == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
    ]  # fmt: skip
    assert series.occurrence_dates(start, "weekly", every=2, until=date(2026, 3, 1)) == [
        date(2026, 1, 31), date(2026, 2, 14), date(2026, 2, 28)
    ]  # fmt: skip
    for kwargs in ({}, {"count": 2, "until": start}, {"count": 0}, {"count": 500}):
        with pytest.raises(ValidationError):
            series.occurrence_dates(start, "weekly", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at most 104"):
        series.occurrence_dates(start, "weekly", until=date(2030, 1, 1))
