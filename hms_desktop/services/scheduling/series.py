"""Recurring bookings: weekly, every N weeks or monthly, for a count or until a date.

Every occurrence is an ordinary appointment (its own reminder, its own status)
carrying the series id (the id of the series' first visit). Conflicts are listed
before anything is booked: the caller then books the rest, or picks another time.

Repeating a visit, and moving or cancelling a visit "and all later", change every
visit in one transaction, each as the single change would (its audit entry, its
message), or none: a time taken after the listing, a visit changed at another desk
or the database failing midway leaves the series as it was, and the refusal names
the visit in one line. The visits are locked in id order (two desks wait for each
other, never in a circle) and their audit entries go last (see
:func:`audit_chain.appended_last`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment
from hms_desktop.errors import (
    ConflictError,
    DatabaseUnavailableError,
    HmsError,
    NotFoundError,
    PermissionDeniedError,
    SlotTakenError,
    ValidationError,
)
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.safety import audit_chain
from hms_desktop.services.scheduling import booking, overlap
from hms_desktop.services.views import day_words

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
    lists them (``booked`` empty). Without ``book_the_rest`` the dates are then booked
    in one transaction, as :func:`repeat_visit` books: a date that became impossible
    after the listing (another desk took the time) books none, so a series is never
    left half made. With ``book_the_rest`` each date is booked on its own and such a
    date is reported as a conflict, the others kept (what "book the rest" asks for).

    Raises:
        PermissionDeniedError, ValidationError: as :func:`booking.book` for the
            first occurrence's actor and visit type.
        SlotTakenError, ValidationError: without ``book_the_rest``, a date became
            impossible after the listing; the message names it, and none was booked.
    """
    the_time = parse_time(at)
    conflicts = plan(
        clinic, patient_id=patient_id, doctor_id=doctor_id, dates=dates, at=the_time,
        visit_type=visit_type, minutes=minutes,
    )  # fmt: skip
    if conflicts and not book_the_rest:
        return SeriesResult(None, (), tuple(conflicts))
    if not book_the_rest:
        template = booking.NewVisit(
            patient_id, doctor_id, dates[0], the_time, visit_type, reason, minutes, -1
        )
        return _book_all(clinic, actor, template, dates)
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


def _book_all(
    clinic: Clinic, actor: Actor, template: booking.NewVisit, dates: list[date]
) -> SeriesResult:
    """``template`` on every one of ``dates``, in one transaction (the first starts the
    series), or none of them."""
    booked: list[int] = []
    series_id = -1  # the first visit's own id, once it has one
    try:
        with clinic.db.write() as session, audit_chain.appended_last(session):
            for day in dates:
                visit = replace(template, day=day, series_id=series_id)
                try:
                    new_id = booking.book_in(session, clinic, actor, visit)
                except (PermissionDeniedError, NotFoundError, DatabaseUnavailableError):
                    raise  # the person, the patient or doctor, or the database: not this date
                except HmsError as err:
                    unknown_type = isinstance(err, ValidationError) and err.field == "visit_type"
                    if unknown_type and not booked:
                        raise  # said of the series, not of its first date
                    raise _date_refused(err, day, template.at, len(dates), "") from err
                if series_id == -1:
                    series_id = new_id
                booked.append(new_id)
    except overlap.OverlapError as refused:
        raise _taken(clinic, refused.attempt, None, "booked", len(dates)) from None
    clinic.changes.notify("appointments")
    return SeriesResult(booked[0] if booked else None, tuple(booked), ())


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
    is booked while any date cannot be. Then every date (but the conflicts listed) is
    booked in one transaction, each as :func:`booking.book` books it (its own audit
    entry and confirmation), or none is.

    Raises:
        ValidationError: as :func:`occurrence_dates`; NotFoundError, PermissionDeniedError
            for the visit.
        SlotTakenError, ValidationError: a date became impossible after the listing
            (another desk booked the time, the doctor's hours changed); the message names
            it, and no visit was booked.
        DatabaseUnavailableError: the database failed on the way; no visit was booked.
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
    skipped = {c.date for c in conflicts}
    todo = [day for day in dates if day not in skipped]
    series_id = row.id
    booked: list[int] = []
    try:
        with clinic.db.write() as session:
            # The repeated visit's row first, as every change of a visit takes it first.
            first = session.get(Appointment, row.id, with_for_update=True)
            if first is None:
                raise NotFoundError("This appointment no longer exists.")
            first.series_id = series_id
            session.flush()
            with audit_chain.appended_last(session):
                for day in todo:
                    visit = booking.NewVisit(
                        row.patient_id, row.doctor_id, day, row.time, row.visit_type,
                        row.reason, minutes, series_id,
                    )  # fmt: skip
                    try:
                        booked.append(booking.book_in(session, clinic, actor, visit))
                    except (PermissionDeniedError, NotFoundError, DatabaseUnavailableError):
                        raise  # the person, the visit or the database, not this date
                    except HmsError as err:
                        raise _date_refused(err, day, row.time, len(todo)) from err
    except overlap.OverlapError as refused:
        raise _taken(clinic, refused.attempt, None, "booked", len(todo), "repeat ") from None
    clinic.changes.notify("appointments")
    return SeriesResult(series_id, tuple(booked), tuple(sorted(conflicts, key=lambda c: c.date)))


def _later(appt: Appointment) -> Select[tuple[int]]:
    """The ids of the booked visits of ``appt``'s series from it on, by date."""
    return (
        select(Appointment.id)
        .where(
            Appointment.series_id == appt.series_id,
            Appointment.status == "booked",
            (Appointment.day > appt.day)
            | ((Appointment.day == appt.day) & (Appointment.id >= appt.id)),
        )
        .order_by(Appointment.day, Appointment.start_time)
    )


def later_occurrences(clinic: Clinic, appointment_id: int) -> list[int]:
    """This visit and the booked visits after it in its series (itself alone if none)."""
    with clinic.db.read() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.series_id is None:
            return [appointment_id]
        return list(session.scalars(_later(appt)))


def _locked_later(session: Session, appointment_id: int) -> list[Appointment]:
    """The visit and the booked visits after it in its series, locked, by date.

    Raises:
        NotFoundError: the visit no longer exists.
    """
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFoundError(f"There is no appointment {appointment_id}.")
    ids = {appt.id}
    if appt.series_id is not None:
        ids.update(session.scalars(_later(appt)))
    # One statement, in id order: two desks changing visits of one series wait for each
    # other, never in a circle (and read each visit as the other desk left it).
    visits = session.scalars(
        select(Appointment)
        .where(Appointment.id.in_(ids))
        .order_by(Appointment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if appointment_id not in {v.id for v in visits}:
        raise NotFoundError(f"There is no appointment {appointment_id}.")
    # Changed in date order, as one by one: each day's count is taken in the same order.
    return sorted(visits, key=lambda v: (v.day, v.start_time, v.id))


def cancel_occurrences(
    clinic: Clinic, actor: Actor, appointment_id: int, *, and_later: bool = False
) -> list[int]:
    """Cancel one occurrence, or it and every later booked one: all in one transaction,
    or none. Returns the ids, by date.

    Each visit is cancelled as :func:`booking.cancel` cancels it: its own audit entry, its
    cancellation message (queued in the same transaction).

    Raises:
        as :func:`booking.cancel`, for the visit that cannot be cancelled (with later
            visits the message names it, in one line); nothing was cancelled.
        DatabaseUnavailableError: the database failed on the way; nothing was cancelled.
    """
    if not and_later:
        booking.cancel(clinic, actor, appointment_id)
        return [appointment_id]
    with clinic.db.write() as session:
        visits = _locked_later(session, appointment_id)
        with audit_chain.appended_last(session):
            for appt in visits:
                try:
                    booking.change_status(session, clinic, actor, appt, "cancelled")
                except (PermissionDeniedError, DatabaseUnavailableError):
                    raise  # the person or the database, not this visit
                except HmsError as err:
                    raise _visit_refused(err, appt, "cancelled", len(visits)) from err
                session.flush()  # this visit's day count now, in date order
    clinic.changes.notify("appointments")
    return [v.id for v in visits]


def move_conflicts(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    *,
    day: date,
    at: time,
    and_later: bool = False,
) -> list[Conflict]:
    """Which visits cannot go where :func:`move_occurrences` would move them, and why;
    moves nothing.

    Raises:
        NotFoundError, PermissionDeniedError: for a visit (as :func:`booking.get_appointment`).
    """
    ids = later_occurrences(clinic, appointment_id) if and_later else [appointment_id]
    rows = [booking.get_appointment(clinic, actor, i) for i in ids]
    shift = day - rows[0].date
    conflicts = []
    for row in rows:
        new_day = row.date + shift
        end = row.end_time or row.time
        length = (end.hour * 60 + end.minute) - (row.time.hour * 60 + row.time.minute)
        try:
            booking.check_bookable(
                clinic, patient_id=row.patient_id, doctor_id=row.doctor_id, day=new_day,
                at=at, minutes=max(5, length), ignore_id=row.id,
            )  # fmt: skip
        except HmsError as err:
            conflicts.append(Conflict(new_day, at, str(err)))
    return conflicts


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

    The conflicts are listed first (:func:`move_conflicts`); then every visit moves in
    one transaction, each as :func:`booking.reschedule` moves it (its own audit entry and
    update message), or none does.

    Raises:
        as :func:`booking.reschedule` (permission, status), for a visit that cannot move
            after the listing (e.g. another desk booked one of the new times meanwhile:
            "Tue 7 Jul 2026 10:00 is taken now (another desk booked it), so none of the
            4 visits was moved."); nothing was moved.
        DatabaseUnavailableError: the database failed on the way; nothing was moved.
    """
    target_day, target_time = parse_day(day), parse_time(at)
    conflicts = move_conflicts(
        clinic, actor, appointment_id, day=target_day, at=target_time, and_later=and_later
    )
    if conflicts:
        return conflicts
    if and_later:
        _move_later(clinic, actor, appointment_id, target_day, target_time)
    else:
        booking.reschedule(clinic, actor, appointment_id, day=target_day, at=target_time)
    return []


def _move_later(
    clinic: Clinic, actor: Actor, appointment_id: int, target_day: date, at: time
) -> None:
    """Move the visit to ``target_day`` at ``at`` and its later ones by the same shift, in
    one transaction (see :func:`move_occurrences`)."""
    count, moving = 0, 0
    attempt: overlap.Attempt | None = None  # the new time being written
    try:
        with clinic.db.write() as session:
            visits = _locked_later(session, appointment_id)
            count = len(visits)
            shift = target_day - next(v for v in visits if v.id == appointment_id).day
            with audit_chain.appended_last(session):
                for appt in visits:
                    new_day = appt.day + shift
                    length = datetime.combine(new_day, appt.end_time) - datetime.combine(
                        new_day, appt.start_time
                    )
                    new_end = (datetime.combine(new_day, at) + length).time()
                    moving = appt.id
                    attempt = overlap.Attempt(appt.doctor_id, appt.patient_id, new_day, at, new_end)
                    try:
                        booking.move_in(session, clinic, actor, appt, day=new_day, at=at)
                    except (PermissionDeniedError, DatabaseUnavailableError, SlotTakenError):
                        raise  # the person or the database; or the time, told after the rollback
                    except HmsError as err:
                        raise _visit_refused(err, appt, "moved", count, to=(new_day, at)) from err
    except (overlap.OverlapError, SlotTakenError):
        raise _taken(clinic, attempt, moving, "moved", count) from None
    clinic.changes.notify("appointments")


# --- one line for a change of several visits that one of them stopped ----------------------


def _none_of(count: int, done: str, kind: str = "") -> str:
    if count == 1:
        return f"so the {kind}visit was not {done}."
    return f"so none of the {count} {kind}visits was {done}."


def _visit_refused(
    err: HmsError,
    appt: Appointment,
    done: str,
    count: int,
    *,
    to: tuple[date, time] | None = None,
) -> HmsError:
    """``err``, said of one visit of ``count``, as the reason none was ``done``."""
    when = f"{day_words(appt.day)} at {appt.start_time:%H:%M}"
    if isinstance(err, ConflictError) and appt.status in booking.CLOSED_WORDS:
        why = f"was {booking.CLOSED_WORDS[appt.status]} meanwhile"
    else:
        where = f" to {day_words(to[0])} at {to[1]:%H:%M}" if to is not None else ""
        why = f"cannot be {done}{where} ({str(err).rstrip('.')})"
    tail = f", {_none_of(count, done)}" if count > 1 else "."
    return type(err)(f"The visit on {when} {why}{tail}", field=err.field)


def _date_refused(
    err: HmsError, day: date, at: time, count: int, kind: str = "repeat "
) -> HmsError:
    """``err``, said of one date of a series, as the reason none was booked."""
    return type(err)(
        f"{day_words(day)} {at:%H:%M} cannot be booked now ({str(err).rstrip('.')}), "
        f"{_none_of(count, 'booked', kind)}",
        field=err.field,
    )


def _taken(
    clinic: Clinic,
    attempt: overlap.Attempt | None,
    ignore_id: int | None,
    done: str,
    count: int,
    kind: str = "",
) -> SlotTakenError:
    """After the rollback: the time one of ``count`` visits could not have (another visit
    has it now; ``ignore_id``: the visit that was moving there), as the reason none was
    ``done``."""
    if attempt is None:
        raise RuntimeError("the overlap refused names no time")
    why = "another desk booked it"
    a = attempt
    query = overlap.clash_query(a.doctor_id, a.patient_id, a.day, a.start, a.end, ignore_id)
    with clinic.db.read() as session:
        found = [(other.doctor_id, patient) for other, _, patient in session.execute(query)]
    if found and all(doctor_id != a.doctor_id for doctor_id, _ in found):
        why = f"{found[0][1]} has another visit then"  # the patient's time, not the doctor's
    return SlotTakenError(
        f"{day_words(attempt.day)} {attempt.start:%H:%M} is taken now ({why}), "
        f"{_none_of(count, done, kind)}",
        field="time",
    )
