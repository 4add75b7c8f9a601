"""A doctor's month in numbers: what the monthly report counts, and month arithmetic.

A month is a range of clinic-local dates (appointments store the clinic's
wall-clock date), 1st to last day inclusive, so a visit at 00:30 on the 1st
belongs to that month whatever UTC says.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.errors import NotFoundError, ValidationError

STATUS_LABELS = {
    "booked": "Booked",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str) -> str:
    """Check ``YYYY-MM`` and return it.

    Raises:
        ValidationError: anything else.
    """
    match = _MONTH.match((value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ValidationError(f"A month looks like 2026-11, not {value!r}.", field="month")
    return match.group(0)


def month_bounds(month: str) -> tuple[date, date]:
    """First and last clinic-local day of ``YYYY-MM``."""
    year, mon = (int(p) for p in parse_month(month).split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def previous_month(day: date) -> str:
    """The month that ended before ``day``'s month began (the one a report on the 1st covers)."""
    first = day.replace(day=1)
    last_of_previous = date.fromordinal(first.toordinal() - 1)
    return f"{last_of_previous:%Y-%m}"


def month_label(month: str) -> str:
    first, _ = month_bounds(month)
    return f"{first:%B %Y}"


@dataclass(frozen=True)
class AppointmentLine:
    id: int
    date: date
    time: time
    patient: str
    visit_type: str
    status: str


@dataclass(frozen=True)
class TreatmentLine:
    appointment_id: int
    date: date
    patient: str
    diagnosis: str
    treatment_given: str
    prescription: str


@dataclass(frozen=True)
class MonthlyStats:
    doctor_id: int
    doctor: str
    department: str
    doctor_email: str
    month: str
    total: int
    completed: int
    cancelled: int
    no_shows: int
    booked: int
    treatments: int
    unique_patients: int
    appointments: tuple[AppointmentLine, ...]
    treatment_lines: tuple[TreatmentLine, ...]


def compute_stats(session: Session, doctor_id: int, month: str) -> MonthlyStats:
    """The numbers and tables of one doctor's month.

    Raises:
        NotFoundError: no such doctor.
    """
    first, last = month_bounds(month)
    row = session.execute(
        select(Doctor, Department.name)
        .join(Department, Department.id == Doctor.department_id)
        .where(Doctor.id == doctor_id)
    ).first()
    if row is None:
        raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
    doctor, department = row
    result = session.execute(
        select(Appointment, Patient.full_name, Treatment)
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
        .where(
            Appointment.doctor_id == doctor_id,
            Appointment.day >= first,
            Appointment.day <= last,
        )
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    ).all()
    lines: list[AppointmentLine] = []
    treatments: list[TreatmentLine] = []
    statuses: dict[str, int] = {}
    patients: set[int] = set()
    for appt, patient_name, treatment in result:
        lines.append(
            AppointmentLine(
                appt.id, appt.day, appt.start_time, patient_name, appt.visit_type, appt.status
            )
        )
        statuses[appt.status] = statuses.get(appt.status, 0) + 1
        patients.add(appt.patient_id)
        if treatment is not None:
            treatments.append(
                TreatmentLine(
                    appt.id,
                    appt.day,
                    patient_name,
                    treatment.diagnosis,
                    treatment.treatment_given,
                    treatment.prescription,
                )
            )
    return MonthlyStats(
        doctor_id=doctor.id,
        doctor=doctor.full_name,
        department=department,
        doctor_email=doctor.email,
        month=month,
        total=len(lines),
        completed=statuses.get("completed", 0),
        cancelled=statuses.get("cancelled", 0),
        no_shows=statuses.get("no_show", 0),
        booked=statuses.get("booked", 0),
        treatments=len(treatments),
        unique_patients=len(patients),
        appointments=tuple(lines),
        treatment_lines=tuple(treatments),
    )
