"""Overlapping visits: finding them, and naming the one that won a race.

"Overlap" means two live (not cancelled) visits of one doctor, or of one patient,
on one day whose [start, end) times intersect. The booking service checks with
:func:`clash_error`; the database refuses it again (migration 0006), and
:func:`flush_or_overlap` turns that refusal into :class:`OverlapError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment, Doctor, Patient
from hms_desktop.errors import SlotTakenError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.views import day_words


@dataclass(frozen=True)
class Attempt:
    """The time a visit was being written at: whose, which day, from when to when."""

    doctor_id: int
    patient_id: int
    day: date
    start: time
    end: time
    overbooked: bool = False


class OverlapError(Exception):
    """The database refused an overlap (another PC won a race); described after rollback.

    ``attempt``: the refused time, when the writer named it (see :func:`raise_refused`).
    """

    def __init__(self, attempt: Attempt | None = None) -> None:
        super().__init__()
        self.attempt = attempt


def clash_query(
    doctor_id: int,
    patient_id: int,
    day: date,
    start: time,
    end: time,
    ignore_id: int | None,
    *,
    overbooked: bool = False,
) -> Select[Any]:
    """Live visits of the doctor or the patient on ``day`` that intersect [start, end).

    An overbooked visit (a walk-in squeezed into a full day) shares the doctor's time:
    it neither clashes with the doctor's visits nor blocks them; the patient's it does.
    """
    doctor_clash = (
        false() if overbooked else and_(Appointment.doctor_id == doctor_id, ~Appointment.overbooked)
    )
    return (
        select(Appointment, Doctor.full_name, Patient.full_name)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.day == day,
            Appointment.status != "cancelled",
            Appointment.id != (ignore_id or -1),
            or_(doctor_clash, Appointment.patient_id == patient_id),
            Appointment.start_time < end,
            Appointment.end_time > start,
        )
        .order_by(Appointment.start_time)
    )


def clash_error(
    session: Session,
    doctor_id: int,
    patient_id: int,
    day: date,
    start: time,
    end: time,
    ignore_id: int | None = None,
    *,
    overbooked: bool = False,
) -> SlotTakenError | None:
    """The one-line "overlaps <doctor or patient> at HH:MM" error, or None when free.

    The doctor's clash names the doctor (never another patient); the patient's names
    the patient and the doctor they are booked with then.
    """
    query = clash_query(doctor_id, patient_id, day, start, end, ignore_id, overbooked=overbooked)
    found = session.execute(query).all()
    for other, doctor_name, _ in found:
        if other.doctor_id == doctor_id and not overbooked:
            return SlotTakenError(
                f"{doctor_name} already has a visit at {other.start_time:%H:%M}-"
                f"{other.end_time:%H:%M} on {day_words(day)} ({start:%H:%M}-{end:%H:%M} "
                "overlaps it). Choose another free slot.",
                field="time",
            )
    for other, doctor_name, patient_name in found:
        return SlotTakenError(
            f"The patient already has an appointment then: {start:%H:%M}-{end:%H:%M} on "
            f"{day_words(day)} overlaps {patient_name} at {other.start_time:%H:%M} with "
            f"{doctor_name} (until {other.end_time:%H:%M}). Choose another time.",
            field="time",
        )
    return None


#: How each database names its overlap guard in the refusal: PostgreSQL names the index
#: or exclusion constraint; SQLite lists the indexed columns or gives the trigger's message.
_OVERLAP_MARKS = (
    "uq_appointments_patient_live_slot",
    "uq_appointments_doctor_live_slot",
    "ex_appointments_doctor_overlap",
    "ex_appointments_patient_overlap",
    "appointments.patient_id",
    "appointments.doctor_id",
    "overlaps a live appointment",
)


@contextmanager
def refused_as_overlap(attempt: Attempt | None = None) -> Iterator[None]:
    """Around a write of appointments: the database refusing an overlap raises
    :class:`OverlapError` (another PC won the race), naming ``attempt``; any other
    refusal is a bug."""
    try:
        yield
    except IntegrityError as err:
        message = str(err.orig)
        if any(mark in message for mark in _OVERLAP_MARKS):
            raise OverlapError(attempt) from None
        raise


def flush_or_overlap(session: Session, attempt: Attempt | None = None) -> None:
    """Flush; an overlap refused by the database means another PC won the race."""
    with refused_as_overlap(attempt):
        session.flush()


def raise_overlap(
    clinic: Clinic,
    doctor_id: int,
    patient_id: int,
    day: date,
    start: time,
    end: time,
    *,
    overbooked: bool = False,
) -> None:
    """After a refused race: name the visit that won, in a fresh transaction."""
    with clinic.db.read() as session:
        clash = clash_error(session, doctor_id, patient_id, day, start, end, overbooked=overbooked)
    raise clash or SlotTakenError(
        f"That time ({day_words(day)} {start:%H:%M}) was just taken. Choose another free slot.",
        field="time",
    )


def raise_refused(clinic: Clinic, refused: OverlapError) -> None:
    """:func:`raise_overlap` for the time the refusal names (it must name one)."""
    attempt = refused.attempt
    if attempt is None:
        raise RuntimeError("the overlap refused names no time") from refused
    overlap_args = (attempt.doctor_id, attempt.patient_id, attempt.day, attempt.start, attempt.end)
    raise_overlap(clinic, *overlap_args, overbooked=attempt.overbooked)
