"""A doctor's month in numbers: what the monthly report counts, and month arithmetic.

A month is a range of clinic-local dates (appointments store the clinic's
wall-clock date), 1st to last day inclusive, so a visit at 00:30 on the 1st
belongs to that month whatever UTC says.
"""

from __future__ import annotations

import calendar
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time
from itertools import compress, repeat
from operator import eq, is_not
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Row, Select, select
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from hms_desktop.db.engine import driver_errors
from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.errors import NotFoundError, ValidationError

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
    #: Different patients with at least one completed visit in the month ("patients seen").
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
        if appt.status == "completed":  # "patients seen": only visits that took place
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

    Plain columns, each doctor's visits together and in visit order (doctor, day,
    start time, id), so every doctor's lines are one run of the rows as they arrive.
    A treatment's columns are NULL when the visit has none (its diagnosis is never
    NULL otherwise: the column is NOT NULL). With the clinic's statistics SQLite reads
    ``ix_appointments_doctor_day`` doctor by doctor over the month's days and sorts
    only each doctor's day by time; without them, a range of an index led by day and
    a sort of the month's rows. The test suite checks SQLite's plan.
    """
    return (
        select(
            Appointment.doctor_id,
            Appointment.id,
            Appointment.day,
            Appointment.start_time,
            Patient.full_name,
            Appointment.visit_type,
            Appointment.status,
            Appointment.patient_id,
            Treatment.diagnosis,
            Treatment.treatment_given,
            Treatment.prescription,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
        .where(Appointment.day >= first, Appointment.day <= last)
        .order_by(Appointment.doctor_id, Appointment.day, Appointment.start_time, Appointment.id)
    )


def compute_all_stats(session: Session, month: str) -> list[MonthlyStats]:
    """Every doctor's numbers and tables for ``month``, in two queries whatever the clinic's size.

    Each entry equals what :func:`compute_stats` gives for that doctor (the test suite
    compares them), doctors without a visit that month included, ordered by name then
    id as the monthly job walks them. One query reads the doctors; one reads the
    month's appointments with their patient's name and treatment as plain columns
    (:func:`month_rows_statement`). The figures are counted here from those same rows
    rather than by a second, grouped query.

    Raises:
        ValidationError: ``month`` is not ``YYYY-MM``.
    """
    first, last = month_bounds(month)
    doctors = session.execute(
        select(Doctor.id, Doctor.full_name, Department.name, Doctor.email)
        .join(Department, Department.id == Doctor.department_id)
        .order_by(Doctor.full_name, Doctor.id)
    ).all()
    dialect = session.get_bind().dialect
    with _collector_paused():
        # The rows are passed, not kept: they are freed before the collector resumes.
        return _per_doctor(
            dialect, month, doctors, _plain_rows(session, month_rows_statement(first, last))
        )


def _plain_rows(session: Session, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    """The statement's rows as the driver returns them, in the session's transaction.

    At 30,000 rows a month, SQLAlchemy's Row objects (one per row, plus a converted
    copy of its values) cost a third as much as the query itself; the few columns
    that need converting are converted by the caller, once per distinct value.
    Parameters are rendered as literals by the dialect, so this is only for
    statements whose parameters are not user text (here: dates from month_bounds).
    """
    connection = session.connection()
    sql = str(stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    with driver_errors(connection):
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()


class _Converted(dict[Any, Any]):
    """Raw column values to what SQLAlchemy returns for the column's type, each distinct
    value converted once, on first sight (a month holds some thirty days and a few
    dozen start times; SQLite stores them as text)."""

    __slots__ = ("_process",)

    def __init__(self, process: Callable[[Any], Any]) -> None:
        super().__init__()
        self._process = process

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = self._process(value)
        return converted


def _converter(dialect: Dialect, type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """A C-level callable converting one raw value of ``type_``, or None when the
    driver's values are already right (PostgreSQL's ``date``/``time``)."""
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return None if process is None else _Converted(process).__getitem__


def _per_doctor(
    dialect: Dialect,
    month: str,
    doctors: Sequence[Row[tuple[int, str, str, str]]],
    rows: list[tuple[Any, ...]],
) -> list[MonthlyStats]:
    """Each doctor's MonthlyStats from the month's rows (by doctor, in visit order)."""
    # The rows come grouped by doctor (month_rows_statement), each doctor's in visit
    # order (compute_stats' order): one contiguous run per doctor. Everything below is
    # C-level passes (zip, map, compress, list.count) over whole columns in the order the
    # rows arrived, so each pass reads memory front to back, sliced per doctor at the
    # end: a Python statement per row would cost more than the query itself.
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 11
    (doctor, appt, raw_day, raw_time, patient, visit, status, patient_id) = columns[:8]
    diagnosis, given, prescription = columns[8:]
    to_day = _converter(dialect, Appointment.day.type)
    to_time = _converter(dialect, Appointment.start_time.type)
    day = raw_day if to_day is None else list(map(to_day, raw_day))
    start = raw_time if to_time is None else map(to_time, raw_time)
    treated = list(map(is_not, diagnosis, repeat(None)))
    # tuple.__new__(cls, values) is what NamedTuple._make does, minus a Python call per row.
    appointment_lines: list[AppointmentLine] = list(
        map(
            tuple.__new__,
            repeat(AppointmentLine),
            zip(appt, day, start, patient, visit, status, strict=True),
        )
    )
    treatment_lines: list[TreatmentLine] = list(
        map(
            tuple.__new__,
            repeat(TreatmentLine),
            compress(zip(appt, day, patient, diagnosis, given, prescription, strict=True), treated),
        )
    )
    runs = _runs(doctor)
    treated_runs = _runs(tuple(compress(doctor, treated)))
    result: list[MonthlyStats] = []
    for doctor_id, name, department, email in doctors:
        at, end = runs.get(doctor_id, (0, 0))
        t_at, t_end = treated_runs.get(doctor_id, (0, 0))
        statuses = status[at:end]
        result.append(
            MonthlyStats(
                doctor_id=doctor_id,
                doctor=name,
                department=department,
                doctor_email=email,
                month=month,
                total=end - at,
                completed=statuses.count("completed"),
                cancelled=statuses.count("cancelled"),
                no_shows=statuses.count("no_show"),
                booked=statuses.count("booked"),
                treatments=t_end - t_at,
                # Patients seen: those with at least one completed visit this month.
                unique_patients=len(
                    set(compress(patient_id[at:end], map(eq, statuses, repeat("completed"))))
                ),
                appointments=tuple(appointment_lines[at:end]),
                treatment_lines=tuple(treatment_lines[t_at:t_end]),
            )
        )
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the month's rows and lines are built.

    A month is some 30,000 rows and 50,000 table lines, none of them in a reference
    cycle; with the collector on, their arrival sets off a few hundred young and one
    or two full collections that walk the whole heap to free nothing, a third of the
    work here at 200 doctors. Reference counting still frees everything, and the
    previous setting comes back afterwards (another thread pausing it too only delays
    a collection, it cannot lose anything).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _runs(doctor_ids: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Each doctor's ``(start, end)`` in a column sorted by doctor id."""
    runs: dict[int, tuple[int, int]] = {}
    at = 0
    for doctor_id, count in sorted(Counter(doctor_ids).items()):
        runs[doctor_id] = (at, at + count)
        at += count
    return runs
