"""Recurring bookings: weekly, every N weeks or monthly, for a count or until a date.

Every occurrence is an ordinary appointment (its own reminder, its own status)
carrying the series id (the id of the series' first visit). Conflicts are listed
before anything is booked: the caller then books the rest, or picks another time.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select, update

from hms_desktop.db.models import Appointment
from hms_desktop.errors import HmsError, SlotTakenError, ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.scheduling import booking

REPEATS = ("weekly", "monthly")
#: A series longer than this is most likely a typing error.
MAX_OCCURRENCES = 104


@dataclass(frozen=True)
class Occurrence:
    date: date
    time: time


@dataclass(frozen=True)
class Conflict:
    """An occurrence that cannot be booked, and why (the message the booking gave)."""

    date: date
    time: time
    reason: str


@dataclass(frozen=True)
class SeriesResult:
    series_id: int | None
    booked: tuple[int, ...]
    conflicts: tuple[Conflict, ...]


def _add_months(day: date, months: int, anchor: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    # The 31st becomes the month's last day in a shorter month, and back to the 31st after.
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def occurrence_dates(
    first: date | str,
    repeat: str,
    *,
    every: int = 1,
    count: int | None = None,
    until: date | str | None = None,
) -> list[date]:
    """The dates of a series from ``first``: ``count`` of them, or up to ``until``.

    Raises:
        ValidationError: an unknown repeat, ``every`` below 1, neither or both of
            count and until, until before the first date, or over 104 occurrences.
    """
    start = parse_day(first)
    if repeat not in REPEATS:
        raise ValidationError("Repeat weekly or monthly.", field="repeat")
    if every < 1:
        raise ValidationError("Repeat every 1 or more weeks or months.", field="every")
    if (count is None) == (until is None):
        raise ValidationError("Give a number of visits or an end date, not both.", field="count")
    end = parse_day(until, "until") if until is not None else None
    if count is not None and not 1 <= count <= MAX_OCCURRENCES:
        raise ValidationError(f"A series has 1 to {MAX_OCCURRENCES} visits.", field="count")
    if end is not None and end < start:
        raise ValidationError("The series must end on or after its first visit.", field="until")
    out: list[date] = []
    i = 0
    while True:
        if repeat == "weekly":
            day = start + timedelta(weeks=every * i)
        else:
            day = _add_months(start, every * i, start.day)
        if (count is not None and len(out) == count) or (end is not None and day > end):
            return out
        if len(out) == MAX_OCCURRENCES:
            raise ValidationError(
                f"A series has at most {MAX_OCCURRENCES} visits; choose an earlier end date.",
                field="until",
            )
        out.append(day)
        i += 1


def plan(
    clinic: Clinic,
    *,
    patient_id: int,
    doctor_id: int,
    dates: list[date],
    at: time | str,
    visit_type: str = "consultation",
    minutes: int | None = None,
) -> list[Conflict]:
    """Which occurrences cannot be booked, and why; books nothing."""
    the_time = parse_time(at)
    conflicts = []
    for day in dates:
        try:
            booking.check_bookable(
                clinic, patient_id=patient_id, doctor_id=doctor_id, day=day, at=the_time,
                visit_type=visit_type, minutes=minutes,
            )  # fmt: skip
        except HmsError as err:
            conflicts.append(Conflict(day, the_time, str(err)))
    return conflicts


def book_series(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int,
    doctor_id: int,
    dates: list[date],
    at: time | str,
    visit_type: str = "consultation",
    reason: str = "",
    minutes: int | None = None,
    book_the_rest: bool = False,
) -> SeriesResult:
    """Book every occurrence that is free.

    With conflicts and without ``book_the_rest`` nothing is booked and the result
    lists them (``booked`` empty). A slot taken between the check and the booking
    is reported as a conflict too.

    Raises:
        PermissionDeniedError, ValidationError: as :func:`booking.book` for the
            first occurrence's actor and visit type.
    """
    the_time = parse_time(at)
    conflicts = plan(
        clinic, patient_id=patient_id, doctor_id=doctor_id, dates=dates, at=the_time,
        visit_type=visit_type, minutes=minutes,
    )  # fmt: skip
    if conflicts and not book_the_rest:
        return SeriesResult(None, (), tuple(conflicts))
    skipped = {c.date for c in conflicts}
    series_id: int | None = None
    booked: list[int] = []
    for day in dates:
        if day in skipped:
            continue
        try:
            new_id = booking.book(
                clinic, actor, patient_id=patient_id, doctor_id=doctor_id, day=day,
                at=the_time, visit_type=visit_type, reason=reason, minutes=minutes,
                series_id=series_id if series_id is not None else -1,
            )  # fmt: skip
        except (SlotTakenError, ValidationError) as err:
            if not booked and isinstance(err, ValidationError) and err.field == "visit_type":
                raise
            conflicts.append(Conflict(day, the_time, str(err)))
            continue
        if series_id is None:
            series_id = new_id
        booked.append(new_id)
    return SeriesResult(series_id, tuple(booked), tuple(sorted(conflicts, key=lambda c: c.date)))


def repeat_visit(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    repeat: str,
    *,
    every: int = 1,
    count: int | None = None,
    until: date | str | None = None,
    book_the_rest: bool = False,
) -> SeriesResult:
    """Make a booked visit the first of a series: book the later occurrences (``count``
    counts the visit itself) with the same doctor, time, visit type and reason.

    Conflicts come first, as in :func:`book_series`: without ``book_the_rest`` nothing
    is booked while any date cannot be.

    Raises:
        ValidationError: as :func:`occurrence_dates`; NotFoundError, PermissionDeniedError
            for the visit.
    """
    row = booking.get_appointment(clinic, actor, appointment_id)
    dates = occurrence_dates(row.date, repeat, every=every, count=count, until=until)[1:]
    end = row.end_time or row.time
    minutes = max(5, (end.hour * 60 + end.minute) - (row.time.hour * 60 + row.time.minute))
    conflicts = plan(
        clinic, patient_id=row.patient_id, doctor_id=row.doctor_id, dates=dates, at=row.time,
        visit_type=row.visit_type, minutes=minutes,
    )  # fmt: skip
    if conflicts and not book_the_rest:
        return SeriesResult(None, (), tuple(conflicts))
    series_id = row.id
    with clinic.db.write() as session:
        session.execute(
            update(Appointment).where(Appointment.id == row.id).values(series_id=series_id)
        )
    skipped = {c.date for c in conflicts}
    booked: list[int] = []
    for day in dates:
        if day in skipped:
            continue
        try:
            booked.append(
                booking.book(
                    clinic,
                    actor,
                    patient_id=row.patient_id,
                    doctor_id=row.doctor_id,
                    day=day,
                    at=row.time,
                    visit_type=row.visit_type,
                    reason=row.reason,
                    minutes=minutes,
                    series_id=series_id,
                )
            )
        except (SlotTakenError, ValidationError) as err:
            conflicts.append(Conflict(day, row.time, str(err)))
    return SeriesResult(series_id, tuple(booked), tuple(sorted(conflicts, key=lambda c: c.date)))


def later_occurrences(clinic: Clinic, appointment_id: int) -> list[int]:
    """This visit and the booked visits after it in its series (itself alone if none)."""
    with clinic.db.read() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.series_id is None:
            return [appointment_id]
        return list(
            session.scalars(
                select(Appointment.id)
                .where(
                    Appointment.series_id == appt.series_id,
                    Appointment.status == "booked",
                    (Appointment.day > appt.day)
                    | ((Appointment.day == appt.day) & (Appointment.id >= appt.id)),
                )
                .order_by(Appointment.day, Appointment.start_time)
            )
        )


def cancel_occurrences(
    clinic: Clinic, actor: Actor, appointment_id: int, *, and_later: bool = False
) -> list[int]:
    """Cancel one occurrence, or it and every later booked one; returns the ids.

    Raises:
        as :func:`booking.cancel` (for the first one refused; those before it stay cancelled).
    """
    ids = later_occurrences(clinic, appointment_id) if and_later else [appointment_id]
    for appt_id in ids:
        booking.cancel(clinic, actor, appt_id)
    return ids


def move_occurrences(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    *,
    day: date | str,
    at: time | str,
    and_later: bool = False,
) -> list[Conflict]:
    """Move one occurrence to ``day`` at ``at``, or it and every later one by the same
    shift; nothing moves when any of them cannot (the conflicts are returned).

    Raises:
        as :func:`booking.reschedule` (permission, status).
    """
    target_day, target_time = parse_day(day), parse_time(at)
    ids = later_occurrences(clinic, appointment_id) if and_later else [appointment_id]
    rows = [booking.get_appointment(clinic, actor, i) for i in ids]
    shift = target_day - rows[0].date
    moves = [(r, r.date + shift) for r in rows]
    conflicts = []
    for row, new_day in moves:
        end = row.end_time or row.time
        length = (end.hour * 60 + end.minute) - (row.time.hour * 60 + row.time.minute)
        try:
            booking.check_bookable(
                clinic, patient_id=row.patient_id, doctor_id=row.doctor_id, day=new_day,
                at=target_time, minutes=max(5, length), ignore_id=row.id,
            )  # fmt: skip
        except HmsError as err:
            conflicts.append(Conflict(new_day, target_time, str(err)))
    if conflicts:
        return conflicts
    for row, new_day in moves:
        booking.reschedule(clinic, actor, row.id, day=new_day, at=target_time)
    return []
