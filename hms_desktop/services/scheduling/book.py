"""The appointment book: a day's columns of doctors, and the next free time.

A day of 50 doctors is read with four indexed queries (doctors, weekly hours,
dated exceptions, the day's visits); the next free time reads the horizon's hours
and the first date's visits in one statement, then the visits of a date, then of a
week at a time, so it reads little more than the first date with room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment, Department, Doctor, Patient
from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day
from hms_desktop.services.scheduling.availability import (
    Window,
    busy_times,
    last_bookable_day,
    read_bookable_hours,
    windows_by_day,
)
from hms_desktop.services.views import Slot

#: Visits the book shows: a cancelled one frees its time and leaves the book.
SHOWN_STATUSES = ("booked", "completed", "no_show")
#: The grid shown at least (the clinic grid setting replaces it), widened to the hours.
GRID_START, GRID_END = time(8, 0), time(18, 0)
#: How many days the next free time reads at once.
_CHUNK_DAYS = 7


@dataclass(frozen=True)
class Block:
    """A visit in the book, from ``start`` to ``end``."""

    appointment_id: int
    start: time
    end: time
    patient_id: int
    patient: str
    visit_type: str
    reason: str
    status: str
    series_id: int | None = None


@dataclass(frozen=True)
class TimeRange:
    start: time
    end: time


@dataclass(frozen=True)
class BookColumn:
    """One doctor's day: visits, the hours, and the free time in them."""

    doctor_id: int
    doctor: str
    department_id: int
    department: str
    blacklisted: bool
    visits: tuple[Block, ...]
    hours: tuple[TimeRange, ...]
    #: Free slots (start, end) on the hours' own grid; may be in the past.
    free: tuple[TimeRange, ...]


@dataclass(frozen=True)
class DayBook:
    day: date
    grid_start: time
    grid_end: time
    step_minutes: int
    columns: tuple[BookColumn, ...]


def _doctors(
    session: Session, actor: Actor, doctor_ids: Sequence[int] | None, department_id: int | None
) -> list[tuple[int, str, int, str, bool]]:
    if actor.role == "patient":
        raise PermissionDeniedError("The appointment book is for the clinic's staff.")
    if actor.role == "doctor":
        if doctor_ids is not None and set(doctor_ids) - {actor.doctor_id}:
            raise PermissionDeniedError("A doctor sees their own book only.")
        doctor_ids = [actor.doctor_id] if actor.doctor_id is not None else []
    stmt = (
        select(Doctor.id, Doctor.full_name, Department.id, Department.name, Doctor.blacklisted)
        .join(Department, Department.id == Doctor.department_id)
        .order_by(Department.name, Doctor.full_name, Doctor.id)
    )
    if doctor_ids is not None:
        stmt = stmt.where(Doctor.id.in_(doctor_ids))
    if department_id is not None:
        stmt = stmt.where(Doctor.department_id == department_id)
    return [tuple(r) for r in session.execute(stmt)]


def grid_step(clinic: Clinic) -> int:
    """Minutes per row of the book (the clinic grid; today each PC's slot setting)."""
    return clinic.settings.slot_minutes


def _merge(ranges: list[TimeRange]) -> tuple[TimeRange, ...]:
    out: list[TimeRange] = []
    for r in sorted(ranges, key=lambda r: (r.start, r.end)):
        if out and r.start <= out[-1].end:
            out[-1] = TimeRange(out[-1].start, max(out[-1].end, r.end))
        else:
            out.append(r)
    return tuple(out)


def _m(t: time) -> int:
    return t.hour * 60 + t.minute


def _column(
    doctor: tuple[int, str, int, str, bool], windows: list[Window], visits: list[Block]
) -> BookColumn:
    # Whole minutes, not datetimes: a day of 50 doctors is built on every date change.
    busy = [(_m(v.start), _m(v.end)) for v in visits]
    slots: set[tuple[int, int]] = set()
    for w in windows:
        t, end, step = _m(w.start), _m(w.end), w.slot_minutes
        while t + step <= end:
            if all(not (b < t + step and t < e) for b, e in busy):
                slots.add((t, t + step))
            t += step
    free = [
        TimeRange(time(a // 60, a % 60), time(b // 60 % 24, b % 60) if b < 1440 else time.max)
        for a, b in sorted(slots)
    ]
    return BookColumn(
        doctor_id=doctor[0],
        doctor=doctor[1],
        department_id=doctor[2],
        department=doctor[3],
        blacklisted=doctor[4],
        visits=tuple(visits),
        hours=_merge([TimeRange(w.start, w.end) for w in windows]),
        free=tuple(free),
    )


#: The day's visits of some doctors, built once (SQLAlchemy then reuses its compiled form).
_VISITS = (
    select(
        Appointment.id,
        Appointment.doctor_id,
        Appointment.start_time,
        Appointment.end_time,
        Appointment.patient_id,
        Patient.full_name,
        Appointment.visit_type,
        Appointment.reason,
        # Where a booked visit is on its day (arrived, with the doctor): the book shows it.
        Appointment.flow_status,
        Appointment.series_id,
    )
    .join(Patient, Patient.id == Appointment.patient_id)
    .where(
        Appointment.doctor_id.in_(bindparam("ids", expanding=True)),
        Appointment.day == bindparam("day"),
        Appointment.status.in_(SHOWN_STATUSES),
    )
    .order_by(Appointment.start_time, Appointment.id)
)


def day_book(
    clinic: Clinic,
    actor: Actor,
    day: date | str,
    *,
    doctor_ids: Sequence[int] | None = None,
    department_id: int | None = None,
) -> DayBook:
    """The book of one date: a column per doctor (all, a chosen set, or a department).

    Raises:
        PermissionDeniedError: a patient; a doctor asking for another doctor's book.
        ValidationError: a date that is not one.
    """
    the_day = parse_day(day)
    step = grid_step(clinic)
    with clinic.db.read() as session:
        doctors = _doctors(session, actor, doctor_ids, department_id)
        ids = [d[0] for d in doctors]
        hours = windows_by_day(session, ids, the_day, the_day)
        rows = session.execute(_VISITS, {"ids": ids, "day": the_day}).all()
    visits: dict[int, list[Block]] = {i: [] for i in ids}
    for appt_id, doctor_id, start, end, patient_id, patient, kind, reason, status, series in rows:
        visits[doctor_id].append(
            Block(appt_id, start, end, patient_id, patient, kind, reason, status, series)
        )
    columns = tuple(_column(d, hours.get((d[0], the_day), []), visits[d[0]]) for d in doctors)
    spans = [(r.start, r.end) for c in columns for r in c.hours]
    spans += [(v.start, v.end) for c in columns for v in c.visits]
    starts = [GRID_START] + [s for s, _ in spans]
    ends = [GRID_END] + [e for _, e in spans]
    first = min(starts)
    # The grid starts on a whole step from midnight, so rows read 08:00, 08:30, ...
    minute = (first.hour * 60 + first.minute) // step * step
    return DayBook(the_day, time(minute // 60, minute % 60), max(ends), step, columns)


def week_books(clinic: Clinic, actor: Actor, doctor_id: int, day: date | str) -> list[DayBook]:
    """One doctor's week (Monday to Sunday) around ``day``, a :class:`DayBook` per date."""
    the_day = parse_day(day)
    return days_books(clinic, actor, doctor_id, the_day - timedelta(days=the_day.weekday()))


def days_books(
    clinic: Clinic, actor: Actor, doctor_id: int, first: date | str, days: int = 7
) -> list[DayBook]:
    """One doctor's ``days`` dates from ``first`` (e.g. the next 7 days), a :class:`DayBook`
    per date.

    Raises:
        PermissionDeniedError, ValidationError: as :func:`day_book`.
    """
    start = parse_day(first)
    return [
        day_book(clinic, actor, start + timedelta(days=i), doctor_ids=[doctor_id])
        for i in range(days)
    ]


def next_free(
    clinic: Clinic,
    *,
    doctor_id: int | None = None,
    department_id: int | None = None,
    after: date | datetime | str | None = None,
    minutes: int | None = None,
    between: tuple[time, time] | None = None,
    visit_type: str | None = None,
) -> Slot | None:
    """The first free time of a doctor (or any doctor of a department) from ``after``.

    ``after``: a date (from its start; default now) or a moment. ``minutes``: the
    visit's length (default: the visit type's, else one slot of the doctor's grid).
    ``between``: only starts at or after its first and ending by its second time.
    Never in the past, never past the horizon, never with a blacklisted doctor.
    ``None`` when nothing is free.

    Raises:
        ValidationError: neither or both of a doctor and a department.
    """
    if (doctor_id is None) == (department_id is None):
        raise ValidationError("Give a doctor or a department.", field="doctor_id")
    aware_now = clinic.now()
    now = aware_now.replace(tzinfo=None)
    if after is None:
        moment = now
    elif isinstance(after, datetime):
        moment = max(after.replace(tzinfo=None), now)
    else:
        moment = max(datetime.combine(parse_day(after), time(0)), now)
    last = last_bookable_day(clinic)
    first = moment.date()
    if first > last:
        return None
    with clinic.db.read() as session:
        # The bookable doctors' hours of the whole stretch, the first date's visits and
        # the visit type's length in one statement (weeks of leave cost no reads): the
        # next free time is mostly on that date. Without hours that date, the next date
        # with hours is read alone; after a date without room, a week at a time; the
        # visits only of the doctors with hours then. Each round trip counts: on a busy
        # machine it is a wait to be scheduled.
        read = read_bookable_hours(
            session,
            first,
            last,
            doctor_id=doctor_id,
            department_id=department_id,
            visit_type=visit_type if minutes is None else None,
        )
        stretch, first_busy = read.hours, read.first_busy
        if minutes is None:
            minutes = read.visit_minutes
        if not stretch.ids:
            return None
        days = 1
        while first <= last:
            chunk_end = min(last, first + timedelta(days=days - 1))
            hours = stretch.on(first, chunk_end)
            if hours:
                working = sorted({doctor for doctor, _ in hours})
                dates = [day for _, day in hours]
                busy = (
                    first_busy
                    if first == chunk_end == stretch.first
                    else busy_times(session, working, min(dates), max(dates))
                )
                found = _first_in(hours, busy, (moment, aware_now), minutes, between)
                if found is not None:
                    return found
                days = _CHUNK_DAYS
            first = chunk_end + timedelta(days=1)
    return None


def _first_in(
    hours: dict[tuple[int, date], list[Window]],
    busy: dict[tuple[int, date], list[tuple[time, time]]],
    moments: tuple[datetime, datetime],
    minutes: int | None,
    between: tuple[time, time] | None,
) -> Slot | None:
    """The earliest free start in ``hours`` (whole minutes: this runs over weeks of hours)."""
    moment, now = moments
    low, high = (_m(between[0]), _m(between[1])) if between else (0, 24 * 60)
    by_day: dict[date, list[tuple[int, list[Window]]]] = {}
    for (doctor_id, day), windows in hours.items():
        by_day.setdefault(day, []).append((doctor_id, windows))
    for day in sorted(by_day):
        if day < moment.date():
            continue
        earliest = max(low, _m(moment.time()) + (moment.second > 0) if day == moment.date() else 0)
        fitting: list[tuple[int, int, int]] = []
        for doctor_id, windows in by_day[day]:
            taken = [(_m(s), _m(e)) for s, e in busy.get((doctor_id, day), ())]
            for w in windows:
                t, end, step = _m(w.start), _m(w.end), w.slot_minutes
                length = minutes or step
                while t + step <= end:
                    stop = t + length
                    if (
                        t >= earliest
                        and stop <= min(end, high)
                        and all(not (b < stop and t < e) for b, e in taken)
                    ):
                        fitting.append((t, doctor_id, stop))
                    t += step
        for t, doctor_id, stop in sorted(fitting):
            at = time(t // 60, t % 60)
            if policy.exists(day, at, now.tzinfo) and not policy.in_the_past(day, at, now):  # type: ignore[arg-type]
                end_time = time(stop // 60, stop % 60) if stop < 24 * 60 else time.max
                return Slot(doctor_id, day, at, end_time)
    return None
