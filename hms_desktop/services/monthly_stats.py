"""A doctor's month in numbers: what the monthly report counts, and month arithmetic.

A month is a range of clinic-local dates (appointments store the clinic's
wall-clock date), 1st to last day inclusive, so a visit at 00:30 on the 1st
belongs to that month whatever UTC says.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, time
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import Row, Select, select
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


# The table lines are named tuples rather than frozen dataclasses: just as immutable,
# and four times cheaper to build, which matters at 30,000 lines a month.
class AppointmentLine(NamedTuple):
    id: int
    date: date
    time: time
    patient: str
    visit_type: str
    status: str


class TreatmentLine(NamedTuple):
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


def month_rows_statement(first: date, last: date) -> Select[Any]:
    """Every appointment from ``first`` to ``last`` with what the report tables show.

    Plain columns in visit order, over the ``day`` range that
    ``ix_appointments_day_status`` serves (the test suite checks SQLite's plan).
    """
    return (
        select(
            Appointment.doctor_id,  # _DOCTOR
            Appointment.id,
            Appointment.day,
            Appointment.start_time,
            Patient.full_name,
            Appointment.visit_type,
            Appointment.status,  # _STATUS
            Appointment.patient_id,  # _PATIENT
            Treatment.id,  # _TREATMENT
            Treatment.diagnosis,
            Treatment.treatment_given,
            Treatment.prescription,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
        .where(Appointment.day >= first, Appointment.day <= last)
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )


def compute_all_stats(session: Session, month: str) -> list[MonthlyStats]:
    """Every doctor's numbers and tables for ``month``, in two queries whatever the clinic's size.

    Each entry equals what :func:`compute_stats` gives for that doctor (the test suite
    compares them), doctors without a visit that month included, ordered by name then
    id as the monthly job walks them. One query reads the doctors; one reads the
    month's appointments with their patient's name and treatment as plain columns
    (no ORM entities) over the ``day`` range that ``ix_appointments_day_status``
    serves. The figures are counted here from those same rows rather than by a second,
    grouped query.

    Raises:
        ValidationError: ``month`` is not ``YYYY-MM``.
    """
    first, last = month_bounds(month)
    doctors = session.execute(
        select(Doctor.id, Doctor.full_name, Department.name, Doctor.email)
        .join(Department, Department.id == Doctor.department_id)
        .order_by(Doctor.full_name, Doctor.id)
    ).all()
    # A Core statement on the session's connection, fetched at once: the ORM's per-row
    # wrapping and a row-by-row fetch each cost more than the rest of this function.
    rows = list(session.connection().execute(month_rows_statement(first, last)).all())
    # A stable sort by doctor keeps each doctor's rows in visit order (compute_stats'
    # order) as one contiguous run. Everything below is C-level map/filter/Counter
    # passes over plain values, sliced per doctor: a Python statement per row, or a
    # (doctor, value) tuple per row to count, would cost more than the query itself.
    rows.sort(key=_DOCTOR)
    treated = list(filter(_TREATMENT, rows))  # ids start at 1, so "has a treatment"
    appointment_lines = _lines(AppointmentLine, _APPOINTMENT_FIELDS, rows)
    treatment_lines = _lines(TreatmentLine, _TREATMENT_FIELDS, treated)
    per_doctor = Counter(map(_DOCTOR, rows))
    treated_per_doctor = Counter(map(_DOCTOR, treated))
    starts = _offsets(per_doctor)
    treated_starts = _offsets(treated_per_doctor)
    result: list[MonthlyStats] = []
    for doctor_id, name, department, email in doctors:
        at, end = starts.get(doctor_id, 0), starts.get(doctor_id, 0) + per_doctor[doctor_id]
        t_at = treated_starts.get(doctor_id, 0)
        t_end = t_at + treated_per_doctor[doctor_id]
        statuses = Counter(map(_STATUS, rows[at:end]))
        result.append(
            MonthlyStats(
                doctor_id=doctor_id,
                doctor=name,
                department=department,
                doctor_email=email,
                month=month,
                total=end - at,
                completed=statuses["completed"],
                cancelled=statuses["cancelled"],
                no_shows=statuses["no_show"],
                booked=statuses["booked"],
                treatments=t_end - t_at,
                unique_patients=len(set(map(_PATIENT, rows[at:end]))),
                appointments=tuple(appointment_lines[at:end]),
                treatment_lines=tuple(treatment_lines[t_at:t_end]),
            )
        )
    return result


# Pickers of compute_all_stats' row: one column, or a line's fields in the line's order.
_DOCTOR, _STATUS, _PATIENT, _TREATMENT = (itemgetter(i) for i in (0, 6, 7, 8))
_APPOINTMENT_FIELDS = itemgetter(1, 2, 3, 4, 5, 6)  # id, day, time, patient, visit, status
_TREATMENT_FIELDS = itemgetter(1, 2, 4, 9, 10, 11)  # id, day, patient, diagnosis, given, rx


_Line = TypeVar("_Line", AppointmentLine, TreatmentLine)


def _lines(cls: type[_Line], fields: itemgetter[Any], rows: list[Row[Any]]) -> list[_Line]:
    """``cls._make(fields(row))`` for each row, without a Python-level call per row."""
    # NamedTuple._make is tuple.__new__(cls, values) plus a length check, which the
    # fixed itemgetter makes redundant; calling tuple.__new__ through map stays in C.
    return cast(list[_Line], list(map(tuple.__new__, repeat(cls), map(fields, rows))))


def _offsets(counts: Counter[int]) -> dict[int, int]:
    """Where each doctor's run starts in rows sorted by doctor id."""
    offsets: dict[int, int] = {}
    at = 0
    for doctor_id in sorted(counts):
        offsets[doctor_id] = at
        at += counts[doctor_id]
    return offsets
