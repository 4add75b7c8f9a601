"""Doctors' hours (weekly hours plus dated exceptions) and the free slots they leave.

A doctor's hours on a date are their weekly hours for that weekday, unless the date
has an ``off`` exception (leave, a holiday, or hours set for that date alone), plus
that date's ``extra`` windows. Bookings are taken from today up to the clinic's
horizon. Weekly hours and leave are edited in :mod:`.hours`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Date,
    Integer,
    String,
    Time,
    bindparam,
    cast,
    delete,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from hms_desktop.db.models import (
    LIVE_CONDITION,
    Appointment,
    Availability,
    Doctor,
    Patient,
    VisitType,
    WeeklyHours,
)
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor, require_doctor_or_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.safety import audit
from hms_desktop.services.views import AvailabilityWindow, Slot, day_words

#: The dated editor's days (today and the next six): weekly hours cover the rest.
EDITOR_DAYS = 7
#: An ``off`` exception covers the whole date.
DAY_START, DAY_END = time(0, 0), time(23, 59, 59)

_live = Appointment.status != "cancelled"
assert LIVE_CONDITION == "status <> 'cancelled'"


@dataclass(frozen=True, order=True)
class Window:
    """Hours on one date, with the slot grid they were published with."""

    start: time
    end: time
    slot_minutes: int


def add_minutes(t: time, minutes: int) -> time:
    """``t`` plus ``minutes`` on the same day (the caller keeps it before midnight)."""
    return (datetime.combine(date.min, t) + timedelta(minutes=minutes)).time()


def slot_starts(start: time, end: time, minutes: int) -> Iterable[time]:
    """Slot start times in a window; a slot must end by the window's end."""
    moment = datetime.combine(date.min, start)
    finish = datetime.combine(date.min, end)
    step = timedelta(minutes=minutes)
    while moment + step <= finish:
        yield moment.time()
        moment += step


def horizon_days(clinic: Clinic) -> int:
    """How many days ahead of today visits are booked (the clinic setting)."""
    return clinic.settings.booking_horizon_days


def last_bookable_day(clinic: Clinic) -> date:
    return clinic.today() + timedelta(days=horizon_days(clinic))


def horizon(clinic: Clinic) -> list[date]:
    """Every date bookings are taken on: today up to the clinic's horizon."""
    today = clinic.today()
    return [today + timedelta(days=i) for i in range(horizon_days(clinic) + 1)]


def week_ahead(clinic: Clinic) -> list[date]:
    """Today and the next six days (the dated hours editor's list)."""
    today = clinic.today()
    return [today + timedelta(days=i) for i in range(EDITOR_DAYS)]


#: The two queries of :func:`windows_by_day`, built once (their compiled form is reused).
_WEEKLY = select(
    WeeklyHours.doctor_id,
    WeeklyHours.weekday,
    WeeklyHours.start_time,
    WeeklyHours.end_time,
    WeeklyHours.slot_minutes,
).where(WeeklyHours.doctor_id.in_(bindparam("ids", expanding=True)))
_DATED = select(
    Availability.doctor_id,
    Availability.day,
    Availability.start_time,
    Availability.end_time,
    Availability.slot_minutes,
    Availability.kind,
).where(
    Availability.doctor_id.in_(bindparam("ids", expanding=True)),
    Availability.day >= bindparam("first"),
    Availability.day <= bindparam("last"),
)


@dataclass(frozen=True)
class Hours:
    """Some doctors' hours from ``first`` to ``last`` as read (:func:`read_hours`): their
    weekly windows, the dates they are off and the dates' extra windows. Expanded to dates
    by :meth:`on`, a stretch at a time, without reading again."""

    ids: tuple[int, ...]
    first: date
    last: date
    weekly: dict[tuple[int, int], list[Window]]
    off: set[tuple[int, date]]
    extras: dict[tuple[int, date], list[Window]]

    def on(self, first: date, last: date) -> dict[tuple[int, date], list[Window]]:
        """Each doctor's hours on each date from ``first`` to ``last`` (inside the stretch
        read); dates without hours are left out."""
        first, last = max(first, self.first), min(last, self.last)
        out: dict[tuple[int, date], list[Window]] = {}
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            weekday = day.weekday()
            for doctor_id in self.ids:
                key = (doctor_id, day)
                found = [] if key in self.off else list(self.weekly.get((doctor_id, weekday), ()))
                found += self.extras.get(key, ())
                if found:
                    out[key] = sorted(found)
        return out


def read_hours(session: Session, doctor_ids: Sequence[int], first: date, last: date) -> Hours:
    """The doctors' weekly hours and their exceptions from ``first`` to ``last``, in two
    indexed queries whatever the stretch's length (a doctor's weekly hours are a handful
    of rows; the exceptions of a stretch are its leave and extra hours)."""
    ids = tuple(doctor_ids)
    weekly: dict[tuple[int, int], list[Window]] = defaultdict(list)
    extras: dict[tuple[int, date], list[Window]] = defaultdict(list)
    off: set[tuple[int, date]] = set()
    if ids and first <= last:
        for doctor_id, weekday, start, end, minutes in session.execute(_WEEKLY, {"ids": list(ids)}):
            weekly[(doctor_id, weekday)].append(Window(start, end, minutes))
        params = {"ids": list(ids), "first": first, "last": last}
        for doctor_id, day, start, end, minutes, kind in session.execute(_DATED, params):
            if kind == "off":
                off.add((doctor_id, day))
            else:
                extras[(doctor_id, day)].append(Window(start, end, minutes))
    return Hours(ids, first, last, weekly, off, extras)


def _hours_of(by_department: bool) -> CompoundSelect:
    """The weekly hours and the exceptions from ``first`` to ``last`` of the bookable
    doctors (not blacklisted) of ``of``, a doctor or a department, their live visits on
    ``first`` and the length of the visit type ``visit_type``, in one statement: rows
    ``(doctor, day, weekday, start, end, minutes, kind)``; ``kind`` ``weekly`` for the
    weekly windows (with their weekday; the others with their date), ``visit`` for a
    visit, ``length`` for the visit type's minutes (no row for no such type)."""
    chosen = select(Doctor.id).where(
        (Doctor.department_id if by_department else Doctor.id) == bindparam("of"),
        Doctor.blacklisted.is_(False),
    )
    return union_all(
        select(
            WeeklyHours.doctor_id,
            cast(null(), Date).label("day"),
            WeeklyHours.weekday,
            WeeklyHours.start_time,
            WeeklyHours.end_time,
            WeeklyHours.slot_minutes,
            literal("weekly", String(16)).label("kind"),
        ).where(WeeklyHours.doctor_id.in_(chosen)),
        select(
            Availability.doctor_id,
            Availability.day,
            cast(null(), Integer),
            Availability.start_time,
            Availability.end_time,
            Availability.slot_minutes,
            Availability.kind,
        ).where(
            Availability.doctor_id.in_(chosen),
            Availability.day >= bindparam("first"),
            Availability.day <= bindparam("last"),
        ),
        select(
            Appointment.doctor_id,
            Appointment.day,
            cast(null(), Integer),
            Appointment.start_time,
            Appointment.end_time,
            cast(null(), Integer),
            literal("visit", String(16)),
        ).where(Appointment.doctor_id.in_(chosen), Appointment.day == bindparam("first"), _live),
        select(
            cast(null(), Integer),
            cast(null(), Date),
            cast(null(), Integer),
            cast(null(), Time),
            cast(null(), Time),
            VisitType.minutes,
            literal("length", String(16)),
        ).where(VisitType.name == bindparam("visit_type")),
    )


#: :func:`_hours_of` for a doctor and for a department, built once.
_HOURS_OF_DOCTOR, _HOURS_OF_DEPARTMENT = _hours_of(False), _hours_of(True)


Busy = dict[tuple[int, date], list[tuple[time, time]]]


@dataclass(frozen=True)
class Bookable:
    """What :func:`read_bookable_hours` read in one round trip."""

    hours: Hours
    #: The live visits on the stretch's first date, as :func:`busy_times` gives them.
    first_busy: Busy
    #: The visit type's length (``None``: no type asked for, or no such type).
    visit_minutes: int | None


def read_bookable_hours(
    session: Session,
    first: date,
    last: date,
    *,
    doctor_id: int | None,
    department_id: int | None,
    visit_type: str | None = None,
) -> Bookable:
    """:func:`read_hours` of a bookable doctor, or of a department's bookable doctors,
    :func:`busy_times` of ``first`` and the length of ``visit_type``, in one round trip.
    The doctors are those with hours (a doctor without any offers no time)."""
    by_department = doctor_id is None
    stmt = _HOURS_OF_DEPARTMENT if by_department else _HOURS_OF_DOCTOR
    params = {
        "of": department_id if by_department else doctor_id,
        "first": first,
        "last": last,
        "visit_type": visit_type,
    }
    weekly: dict[tuple[int, int], list[Window]] = defaultdict(list)
    extras: dict[tuple[int, date], list[Window]] = defaultdict(list)
    off: set[tuple[int, date]] = set()
    busy: Busy = defaultdict(list)
    visit_minutes: int | None = None
    if first <= last:
        for doctor, day, weekday, start, end, minutes, kind in session.execute(stmt, params):
            if kind == "visit":
                busy[(doctor, day)].append((start, end))
            elif kind == "length":
                visit_minutes = minutes
            elif kind == "weekly":
                weekly[(doctor, weekday)].append(Window(start, end, minutes))
            elif kind == "off":
                off.add((doctor, day))
            else:
                extras[(doctor, day)].append(Window(start, end, minutes))
    ids = sorted({d for d, _ in weekly} | {d for d, _ in extras})
    return Bookable(Hours(tuple(ids), first, last, weekly, off, extras), busy, visit_minutes)


def windows_by_day(
    session: Session, doctor_ids: Sequence[int], first: date, last: date
) -> dict[tuple[int, date], list[Window]]:
    """Each doctor's hours on each date from ``first`` to ``last`` (two indexed queries).

    Dates without hours are left out of the result.
    """
    if not doctor_ids or last < first:
        return {}
    return read_hours(session, doctor_ids, first, last).on(first, last)


def offered_starts(windows: Sequence[Window]) -> dict[time, int]:
    """Every slot start in ``windows`` with its slot length in minutes."""
    return {t: w.slot_minutes for w in windows for t in slot_starts(w.start, w.end, w.slot_minutes)}


def fits(windows: Sequence[Window], at: time, end: time | None = None) -> bool:
    """True when ``at`` starts a slot of a window (on its own grid) and the visit,
    ending at ``end``, stays inside that window."""
    return any(
        at in set(slot_starts(w.start, w.end, w.slot_minutes)) and (end is None or end <= w.end)
        for w in windows
    )


#: One doctor's hours on one date in one statement (parameters ``doctor``, ``wd`` its
#: weekday, ``day``): the weekday's weekly windows (``kind`` ``weekly``) and the date's
#: exceptions. Rows for :func:`windows_from`.
DAY_HOURS = (
    select(
        WeeklyHours.start_time,
        WeeklyHours.end_time,
        WeeklyHours.slot_minutes,
        literal("weekly", String(16)).label("kind"),
    )
    .where(WeeklyHours.doctor_id == bindparam("doctor"), WeeklyHours.weekday == bindparam("wd"))
    .union_all(
        select(
            Availability.start_time,
            Availability.end_time,
            Availability.slot_minutes,
            Availability.kind,
        ).where(Availability.doctor_id == bindparam("doctor"), Availability.day == bindparam("day"))
    )
)


def windows_from(rows: Iterable[Sequence[Any]]) -> list[Window]:
    """The hours on a date from :data:`DAY_HOURS` rows ``(start, end, minutes, kind)``, as
    :func:`windows_by_day` gives them (rows of an outer join without hours are skipped)."""
    weekly: list[Window] = []
    dated: list[Window] = []
    off = False
    for start, end, minutes, kind in rows:
        if kind == "off":
            off = True
        elif kind is not None:
            (weekly if kind == "weekly" else dated).append(Window(start, end, minutes))
    return sorted(dated if off else weekly + dated)


def day_windows(session: Session | Connection, doctor_id: int, day: date) -> list[Window]:
    """The doctor's hours on ``day`` (as :func:`windows_by_day`, in one indexed query)."""
    return windows_from(
        session.execute(DAY_HOURS, {"doctor": doctor_id, "wd": day.weekday(), "day": day})
    )


def offers_slot(
    session: Session, doctor_id: int, day: date, at: time, end: time | None = None
) -> bool:
    """True when the doctor's hours on ``day`` hold a visit from ``at`` to ``end``
    (starting on a window's own grid)."""
    return fits(day_windows(session, doctor_id, day), at, end)


def clean_windows(
    windows: Sequence[tuple[time | str, time | str]], minutes: int
) -> list[tuple[time, time]]:
    """Parsed, sorted windows of one day.

    Raises:
        ValidationError: a bad time, a window that ends before it starts, is shorter
            than one slot, or overlaps another.
    """
    parsed = sorted((parse_time(s, "start_time"), parse_time(e, "end_time")) for s, e in windows)
    for start, end in parsed:
        if start >= end:
            raise ValidationError(
                f"A window must end after it starts ({start:%H:%M}-{end:%H:%M}).", field="end_time"
            )
        if not list(slot_starts(start, end, minutes)):
            raise ValidationError(
                f"The window {start:%H:%M}-{end:%H:%M} is shorter than one {minutes}-minute slot.",
                field="end_time",
            )
    for (_, prev_end), (start, _) in itertools.pairwise(parsed):
        if start < prev_end:
            raise ValidationError(
                "Availability windows on one day must not overlap.", field="start_time"
            )
    return parsed


def lock_doctor(session: Session, doctor_id: int) -> None:
    """Lock the doctor row for a change of hours.

    A booking holds it shared while it checks the hours, so on PostgreSQL no booking
    lands in time this transaction is removing (SQLite serialises writers already).

    Raises:
        NotFoundError: no such doctor.
    """
    locked = session.scalar(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update())
    if locked is None:
        raise NotFoundError(f"There is no doctor with id {doctor_id}.")


def refuse_stranded_bookings(
    session: Session, clinic: Clinic, doctor_id: int, first: date, last: date
) -> None:
    """After a change of hours (flushed, not committed): every booked visit still fits.

    Raises:
        ValidationError: naming the visits the change would leave outside the hours.
    """
    session.flush()
    first = max(first, clinic.today())
    booked = session.execute(
        select(Appointment.day, Appointment.start_time, Appointment.end_time, Patient.full_name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.doctor_id == doctor_id,
            Appointment.day >= first,
            Appointment.day <= last,
            Appointment.status == "booked",
        )
        .order_by(Appointment.day, Appointment.start_time)
    ).all()
    if not booked:
        return
    hours = windows_by_day(session, [doctor_id], first, last)
    # A booked visit must stay inside a window and on its grid: otherwise it would be
    # stranded outside the hours, or the new grid would offer a slot inside it.
    stranded = [
        (day, f"{at:%H:%M} ({name} until {end:%H:%M})")
        for day, at, end, name in booked
        if not fits(hours.get((doctor_id, day), []), at, end)
    ]
    if stranded:
        by_day: dict[date, list[str]] = defaultdict(list)
        for day, text in stranded[:5]:
            by_day[day].append(text)
        shown = "; ".join(f"{', '.join(t)} on {day_words(d)}" for d, t in by_day.items())
        more = f" and {len(stranded) - 5} more" if len(stranded) > 5 else ""
        raise ValidationError(
            f"Patients are booked at {shown}{more}, outside the new hours or off their "
            "grid; move or cancel those appointments first.",
            field="start_time",
        )


def set_day(
    clinic: Clinic,
    actor: Actor,
    doctor_id: int,
    day: date | str,
    windows: Sequence[tuple[time | str, time | str]],
) -> None:
    """Set a doctor's hours on one date (from today up to the horizon), instead of
    the weekly hours of that date. No windows: the doctor is off that date.

    Raises:
        ValidationError: a date outside the horizon, a window that ends before it
            starts or overlaps another, or removing time that has live bookings.
        PermissionDeniedError: a doctor editing someone else's availability.
        NotFoundError: no such doctor.
    """
    require_doctor_or_staff(actor, doctor_id, "set availability")
    the_day = parse_day(day)
    if not clinic.today() <= the_day <= last_bookable_day(clinic):
        raise ValidationError(
            f"Hours can be set from today up to {horizon_days(clinic)} days ahead "
            f"(until {day_words(last_bookable_day(clinic))}).",
            field="date",
        )
    minutes = clinic.settings.slot_minutes
    parsed = clean_windows(windows, minutes)
    with clinic.db.write() as session:
        lock_doctor(session, doctor_id)
        session.execute(
            delete(Availability).where(
                Availability.doctor_id == doctor_id, Availability.day == the_day
            )
        )
        has_weekly = session.scalar(
            select(WeeklyHours.id).where(
                WeeklyHours.doctor_id == doctor_id, WeeklyHours.weekday == the_day.weekday()
            )
        )
        if has_weekly is not None:
            session.add(
                Availability(
                    doctor_id=doctor_id, day=the_day, start_time=DAY_START, end_time=DAY_END,
                    slot_minutes=minutes, kind="off", reason="hours set for this date",
                )
            )  # fmt: skip
        session.add_all(
            Availability(
                doctor_id=doctor_id, day=the_day, start_time=s, end_time=e, slot_minutes=minutes
            )
            for s, e in parsed
        )
        refuse_stranded_bookings(session, clinic, doctor_id, the_day, the_day)
        audit.record(
            session,
            actor,
            "availability.set",
            "doctor",
            doctor_id,
            day=the_day.isoformat(),
            windows=[f"{s:%H:%M}-{e:%H:%M}" for s, e in parsed],
        )
    clinic.changes.notify("availability")


def get_windows(
    clinic: Clinic, doctor_id: int, days: Sequence[date] | None = None
) -> list[AvailabilityWindow]:
    """A doctor's hours on ``days`` (default: today and the next six days)."""
    days = sorted(days) if days is not None else week_ahead(clinic)
    if not days:
        return []
    with clinic.db.read() as session:
        found = windows_by_day(session, [doctor_id], days[0], days[-1])
    wanted = set(days)
    return [
        AvailabilityWindow(day, w.start, w.end)
        for (_, day), windows in sorted(found.items())
        if day in wanted
        for w in windows
    ]


_BUSY = select(
    Appointment.doctor_id, Appointment.day, Appointment.start_time, Appointment.end_time
).where(
    Appointment.doctor_id.in_(bindparam("ids", expanding=True)),
    Appointment.day >= bindparam("first"),
    Appointment.day <= bindparam("last"),
    _live,
)


def busy_times(
    session: Session, doctor_ids: Sequence[int], first: date, last: date
) -> dict[tuple[int, date], list[tuple[time, time]]]:
    """(start, end) of every live visit per doctor and date (ix_appointments_doctor_day)."""
    busy: dict[tuple[int, date], list[tuple[time, time]]] = defaultdict(list)
    params = {"ids": list(doctor_ids), "first": first, "last": last}
    for doctor_id, day, start, end in session.execute(_BUSY, params):
        busy[(doctor_id, day)].append((start, end))
    return busy


def is_free(busy: Sequence[tuple[time, time]], start: time, end: time) -> bool:
    return all(not (s < end and start < e) for s, e in busy)


def free_slots_between(
    session: Session, clinic: Clinic, doctor_ids: Sequence[int], first: date, last: date
) -> list[Slot]:
    """Bookable slots of ``doctor_ids`` (the caller's bookable doctors) from ``first`` to
    ``last``, in date, time and doctor order."""
    now, tz = clinic.now(), clinic.tz
    hours = windows_by_day(session, doctor_ids, first, last)
    busy = busy_times(session, doctor_ids, first, last)
    # Whether a start can be booked at all (it exists: not in a DST gap; not past) is
    # the same for every doctor: asked once per date and time (zone arithmetic, and a
    # department's doctors mostly share their grid).
    startable: dict[tuple[date, time], bool] = {}

    def can_start(day: date, t: time) -> bool:
        known = startable.get((day, t))
        if known is None:
            known = policy.exists(day, t, tz) and not policy.in_the_past(day, t, now)
            startable[(day, t)] = known
        return known

    slots = [
        Slot(doctor_id, day, t, add_minutes(t, minutes))
        for (doctor_id, day), windows in hours.items()
        for t, minutes in offered_starts(windows).items()
        if can_start(day, t) and is_free(busy.get((doctor_id, day), ()), t, add_minutes(t, minutes))
    ]
    return sorted(slots, key=lambda s: (s.date, s.time, s.doctor_id))


def free_slots(clinic: Clinic, doctor_id: int, day: date | str | None = None) -> list[Slot]:
    """Bookable slots of one doctor: one day, or every day up to the horizon.

    Empty for a blacklisted doctor.

    Raises:
        NotFoundError: no such doctor.
    """
    first = last = parse_day(day) if day is not None else None
    if first is None or last is None:
        first, last = clinic.today(), last_bookable_day(clinic)
    elif first > last_bookable_day(clinic):
        return []
    with clinic.db.read() as session:
        doctor = session.get(Doctor, doctor_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.")
        if doctor.blacklisted:
            return []
        return free_slots_between(session, clinic, [doctor_id], first, last)


def bookable_doctor_ids(
    session: Session, *, doctor_id: int | None = None, department_id: int | None = None
) -> list[int]:
    """The doctors who take bookings (not blacklisted): ``doctor_id`` if so, or those of
    ``department_id``."""
    query = select(Doctor.id).where(Doctor.blacklisted.is_(False))
    if doctor_id is not None:
        query = query.where(Doctor.id == doctor_id)
    else:
        query = query.where(Doctor.department_id == department_id)
    return list(session.scalars(query))


def free_slots_by_department(clinic: Clinic, department_id: int) -> list[Slot]:
    """Bookable slots of every doctor of a department up to the horizon."""
    with clinic.db.read() as session:
        doctor_ids = bookable_doctor_ids(session, department_id=department_id)
        if not doctor_ids:
            return []
        return free_slots_between(
            session, clinic, doctor_ids, clinic.today(), last_bookable_day(clinic)
        )
