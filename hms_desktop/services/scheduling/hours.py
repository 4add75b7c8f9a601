"""Editing a doctor's hours: weekly hours, and leave (days off) as dated exceptions.

Doctors edit their own hours, administrators and the front desk anyone's. No change
may leave a booked visit outside the hours: it is refused, naming the visits, so
the desk moves or cancels them first. Dates on one day alone are set with
:func:`.availability.set_day`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import delete, select

from hms_desktop.db.models import Availability, WeeklyHours
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor, require_doctor_or_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_text, parse_day
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling.availability import (
    DAY_END,
    DAY_START,
    clean_windows,
    last_bookable_day,
    lock_doctor,
    refuse_stranded_bookings,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Leave longer than this is most likely a typing error (a year instead of a month).
MAX_LEAVE_DAYS = 366


@dataclass(frozen=True)
class WeeklyWindow:
    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.weekday]


@dataclass(frozen=True)
class DayException:
    """A dated exception: ``extra`` hours, or ``off`` (the weekly hours do not apply)."""

    date: date
    kind: str
    start_time: time
    end_time: time
    reason: str


def parse_weekday(value: int | str) -> int:
    """0 (Monday) to 6 from a number or a day name ("mon", "Monday").

    Raises:
        ValidationError: anything else.
    """
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    text = str(value).strip().lower()[:3]
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    raise ValidationError(
        f"The day must be one of {', '.join(WEEKDAYS)}, not {value!r}.", field="day"
    )


def set_weekly(
    clinic: Clinic,
    actor: Actor,
    doctor_id: int,
    weekday: int | str,
    windows: Sequence[tuple[time | str, time | str]],
) -> None:
    """Replace a doctor's weekly hours on one weekday (no windows: not that day).

    Raises:
        ValidationError: bad windows, or booked visits the change would strand.
        PermissionDeniedError: a doctor editing someone else's hours.
        NotFoundError: no such doctor.
    """
    require_doctor_or_staff(actor, doctor_id, "set weekly hours")
    day = parse_weekday(weekday)
    minutes = clinic.settings.slot_minutes
    parsed = clean_windows(windows, minutes)
    with clinic.db.write() as session:
        lock_doctor(session, doctor_id)
        session.execute(
            delete(WeeklyHours).where(
                WeeklyHours.doctor_id == doctor_id, WeeklyHours.weekday == day
            )
        )
        session.add_all(
            WeeklyHours(
                doctor_id=doctor_id, weekday=day, start_time=s, end_time=e, slot_minutes=minutes
            )
            for s, e in parsed
        )
        refuse_stranded_bookings(
            session, clinic, doctor_id, clinic.today(), last_bookable_day(clinic)
        )
        audit.record(
            session, actor, "availability.weekly", "doctor", doctor_id,
            day=WEEKDAYS[day], windows=[f"{s:%H:%M}-{e:%H:%M}" for s, e in parsed],
        )  # fmt: skip
    clinic.changes.notify("availability")


def add_weekly(
    clinic: Clinic,
    actor: Actor,
    doctor_id: int,
    weekday: int | str,
    start: time | str,
    end: time | str,
) -> None:
    """Add one window to a weekday's hours, keeping the others (e.g. 14:00-17:00 after
    09:00-13:00).

    Raises:
        ValidationError: as :func:`set_weekly` (e.g. the window overlaps one there).
    """
    day = parse_weekday(weekday)
    current = [
        (w.start_time, w.end_time) for w in weekly_hours(clinic, doctor_id) if w.weekday == day
    ]
    set_weekly(clinic, actor, doctor_id, day, [*current, (start, end)])


def take_leave(
    clinic: Clinic,
    actor: Actor,
    doctor_id: int,
    first: date | str,
    last: date | str,
    reason: str = "",
) -> int:
    """Mark whole days off (leave, a holiday) from ``first`` to ``last``; returns the days.

    Extra hours on those dates go too. Refused while patients are booked on them.

    Raises:
        ValidationError: ``last`` before ``first``, a range over a year, or booked visits.
        PermissionDeniedError: a doctor editing someone else's hours.
        NotFoundError: no such doctor.
    """
    require_doctor_or_staff(actor, doctor_id, "take leave")
    start, end = parse_day(first, "from"), parse_day(last, "to")
    if end < start:
        raise ValidationError("The leave must end on or after its first day.", field="to")
    days = (end - start).days + 1
    if days > MAX_LEAVE_DAYS:
        raise ValidationError(
            f"Leave is set for at most {MAX_LEAVE_DAYS} days at once.", field="to"
        )
    reason = clean_text(reason, "reason", max_len=200) or "leave"
    minutes = clinic.settings.slot_minutes
    with clinic.db.write() as session:
        lock_doctor(session, doctor_id)
        session.execute(
            delete(Availability).where(
                Availability.doctor_id == doctor_id,
                Availability.day >= start,
                Availability.day <= end,
            )
        )
        session.add_all(
            Availability(
                doctor_id=doctor_id, day=start + timedelta(days=i), start_time=DAY_START,
                end_time=DAY_END, slot_minutes=minutes, kind="off", reason=reason,
            )
            for i in range(days)
        )  # fmt: skip
        refuse_stranded_bookings(session, clinic, doctor_id, start, end)
        audit.record(
            session, actor, "availability.leave", "doctor", doctor_id,
            first=start.isoformat(), last=end.isoformat(), reason=reason,
        )  # fmt: skip
    clinic.changes.notify("availability")
    return days


def end_leave(
    clinic: Clinic, actor: Actor, doctor_id: int, first: date | str, last: date | str
) -> None:
    """Remove every exception from ``first`` to ``last``: the weekly hours apply again.

    Raises:
        ValidationError: booked extra hours would go.
        PermissionDeniedError, NotFoundError: as :func:`take_leave`.
    """
    require_doctor_or_staff(actor, doctor_id, "end leave")
    start, end = parse_day(first, "from"), parse_day(last, "to")
    with clinic.db.write() as session:
        lock_doctor(session, doctor_id)
        session.execute(
            delete(Availability).where(
                Availability.doctor_id == doctor_id,
                Availability.day >= start,
                Availability.day <= end,
            )
        )
        refuse_stranded_bookings(session, clinic, doctor_id, start, end)
        audit.record(
            session, actor, "availability.back", "doctor", doctor_id,
            first=start.isoformat(), last=end.isoformat(),
        )  # fmt: skip
    clinic.changes.notify("availability")


def weekly_hours(clinic: Clinic, doctor_id: int) -> list[WeeklyWindow]:
    """A doctor's weekly hours, Monday first."""
    with clinic.db.read() as session:
        rows = session.execute(
            select(
                WeeklyHours.weekday,
                WeeklyHours.start_time,
                WeeklyHours.end_time,
                WeeklyHours.slot_minutes,
            )
            .where(WeeklyHours.doctor_id == doctor_id)
            .order_by(WeeklyHours.weekday, WeeklyHours.start_time)
        ).all()
    return [WeeklyWindow(*r) for r in rows]


def exceptions(
    clinic: Clinic, doctor_id: int, first: date | None = None, last: date | None = None
) -> list[DayException]:
    """A doctor's dated exceptions from ``first`` (default today) to ``last`` (the horizon)."""
    first = first or clinic.today()
    last = last or last_bookable_day(clinic)
    with clinic.db.read() as session:
        rows = session.execute(
            select(
                Availability.day,
                Availability.kind,
                Availability.start_time,
                Availability.end_time,
                Availability.reason,
            )
            .where(
                Availability.doctor_id == doctor_id,
                Availability.day >= first,
                Availability.day <= last,
            )
            .order_by(Availability.day, Availability.kind.desc(), Availability.start_time)
        ).all()
    return [DayException(*r) for r in rows]
