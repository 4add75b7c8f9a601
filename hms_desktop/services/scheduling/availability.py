"""Doctors' availability for the coming days, and the free slots it leaves."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import LIVE_CONDITION, Appointment, Availability, Doctor, Patient
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor, require_doctor_or_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.safety import audit
from hms_desktop.services.views import AvailabilityWindow, Slot

#: Doctors publish availability this many days ahead, today included.
HORIZON_DAYS = 7

_live = Appointment.status != "cancelled"
assert LIVE_CONDITION == "status <> 'cancelled'"


def _add(t: time, minutes: int) -> time:
    return (datetime.combine(date.min, t) + timedelta(minutes=minutes)).time()


def slot_starts(start: time, end: time, minutes: int) -> Iterable[time]:
    """Slot start times in a window; a slot must end by the window's end."""
    moment = datetime.combine(date.min, start)
    finish = datetime.combine(date.min, end)
    step = timedelta(minutes=minutes)
    while moment + step <= finish:
        yield moment.time()
        moment += step


def horizon(clinic: Clinic) -> list[date]:
    today = clinic.today()
    return [today + timedelta(days=i) for i in range(HORIZON_DAYS)]


def set_day(
    clinic: Clinic,
    actor: Actor,
    doctor_id: int,
    day: date | str,
    windows: Sequence[tuple[time | str, time | str]],
) -> None:
    """Replace a doctor's availability on one day of the next seven.

    Raises:
        ValidationError: a day outside the next 7 days, a window that ends before it
            starts or overlaps another, or removing time that has live bookings.
        PermissionDeniedError: a doctor editing someone else's availability.
    """
    require_doctor_or_staff(actor, doctor_id, "set availability")
    the_day = parse_day(day)
    if the_day not in horizon(clinic):
        raise ValidationError(
            "Availability can be set for today and the next 6 days only.", field="date"
        )
    parsed = sorted((parse_time(s, "start_time"), parse_time(e, "end_time")) for s, e in windows)
    minutes = clinic.settings.slot_minutes
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
    with clinic.db.write() as session:
        # Lock the doctor row: a booking holds it shared while it checks the windows, so
        # on PostgreSQL no booking can land in time this transaction is removing.
        # (SQLite's write transactions are serialised already.)
        locked = session.scalar(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update())
        if locked is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.")
        booked = session.execute(
            select(Appointment.start_time, Appointment.end_time, Patient.full_name)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(
                Appointment.doctor_id == doctor_id,
                Appointment.day == the_day,
                Appointment.status == "booked",
            )
            .order_by(Appointment.start_time)
        ).all()
        # A booked visit must stay inside a window and on its grid: otherwise it would be
        # stranded outside the hours, or the new grid would offer a slot inside it.
        stranded = [
            f"{start:%H:%M} ({name} until {end:%H:%M})"
            for start, end, name in booked
            if not any(
                s <= start and end <= e and start in set(slot_starts(s, e, minutes))
                for s, e in parsed
            )
        ]
        if stranded:
            raise ValidationError(
                f"Patients are booked at {', '.join(stranded)} on {the_day:%Y-%m-%d}, outside "
                f"the new hours or off their {minutes}-minute grid; move or cancel those "
                "appointments first.",
                field="start_time",
            )
        session.execute(
            delete(Availability).where(
                Availability.doctor_id == doctor_id, Availability.day == the_day
            )
        )
        session.add_all(
            Availability(
                doctor_id=doctor_id, day=the_day, start_time=s, end_time=e, slot_minutes=minutes
            )
            for s, e in parsed
        )
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
    days = list(days) if days is not None else horizon(clinic)
    with clinic.db.read() as session:
        rows = session.scalars(
            select(Availability)
            .where(Availability.doctor_id == doctor_id, Availability.day.in_(days))
            .order_by(Availability.day, Availability.start_time)
        )
        return [AvailabilityWindow(a.day, a.start_time, a.end_time) for a in rows]


def offers_slot(
    session: Session, doctor_id: int, day: date, at: time, end: time | None = None
) -> bool:
    """True when ``at`` starts a slot (on the window's own grid) in the doctor's windows
    and the visit, ending at ``end``, fits in that window."""
    windows = session.execute(
        select(Availability.start_time, Availability.end_time, Availability.slot_minutes).where(
            Availability.doctor_id == doctor_id, Availability.day == day
        )
    ).all()
    return any(
        at in set(slot_starts(s, e, minutes)) and (end is None or end <= e)
        for s, e, minutes in windows
    )


def _free_slots(
    session: Session, clinic: Clinic, doctor_ids: Sequence[int], days: Sequence[date]
) -> list[Slot]:
    now, tz = clinic.now(), clinic.tz
    windows = session.execute(
        select(
            Availability.doctor_id,
            Availability.day,
            Availability.start_time,
            Availability.end_time,
            Availability.slot_minutes,
        )
        .where(Availability.doctor_id.in_(doctor_ids), Availability.day.in_(days))
        .order_by(Availability.day, Availability.start_time)
    ).all()
    busy: dict[tuple[int, date], list[tuple[time, time]]] = {}
    for doctor_id, day, start, end in session.execute(
        select(
            Appointment.doctor_id, Appointment.day, Appointment.start_time, Appointment.end_time
        ).where(Appointment.doctor_id.in_(doctor_ids), Appointment.day.in_(days), _live)
    ):
        busy.setdefault((doctor_id, day), []).append((start, end))

    def free(doctor_id: int, day: date, start: time, end: time) -> bool:
        return all(not (s < end and start < e) for s, e in busy.get((doctor_id, day), ()))

    slots = [
        Slot(doctor_id, day, t, _add(t, minutes))
        for doctor_id, day, start, end, minutes in windows
        for t in slot_starts(start, end, minutes)
        if policy.exists(day, t, tz)  # no slot in a DST gap
        and not policy.in_the_past(day, t, now)
        and free(doctor_id, day, t, _add(t, minutes))
    ]
    return sorted(slots, key=lambda s: (s.date, s.time, s.doctor_id))


def free_slots(clinic: Clinic, doctor_id: int, day: date | str | None = None) -> list[Slot]:
    """Bookable slots of one doctor: one day, or the next 7 days. Empty for a blacklisted doctor."""
    days = [parse_day(day)] if day is not None else horizon(clinic)
    with clinic.db.read() as session:
        doctor = session.get(Doctor, doctor_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.")
        if doctor.blacklisted:
            return []
        return _free_slots(session, clinic, [doctor_id], days)


def free_slots_by_department(clinic: Clinic, department_id: int) -> list[Slot]:
    """Bookable slots of every doctor of a department over the next 7 days."""
    with clinic.db.read() as session:
        doctor_ids = session.scalars(
            select(Doctor.id).where(
                Doctor.department_id == department_id, Doctor.blacklisted.is_(False)
            )
        ).all()
        return _free_slots(session, clinic, doctor_ids, horizon(clinic)) if doctor_ids else []
