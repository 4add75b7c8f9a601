"""Monthly per-doctor reports: the numbers, the HTML, storing and reading them.

A month is a range of clinic-local dates (appointments store the clinic's
wall-clock date), 1st to last day inclusive. The HTML comes from
``resources/templates/monthly_report.html``; every value put into it is
HTML-escaped, so a patient called ``<script>`` stays text.
"""

from __future__ import annotations

import calendar
import html
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from string import Template

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import (
    Appointment,
    Department,
    Doctor,
    MonthlyReport,
    OutboxMessage,
    Patient,
    Treatment,
)
from hms_desktop.errors import NotFoundError, PermissionDeniedError, ValidationError
from hms_desktop.resources_path import resources_dir
from hms_desktop.services import audit
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.notifications import VISIT_LABELS

log = logging.getLogger(__name__)

TEMPLATE_NAME = "monthly_report.html"
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


@dataclass(frozen=True)
class ReportRow:
    id: int
    doctor_id: int
    doctor: str
    month: str
    generated_at: datetime
    total: int
    completed: int
    cancelled: int
    no_shows: int
    treatments: int
    unique_patients: int

    @property
    def month_label(self) -> str:
        return month_label(self.month)


@dataclass(frozen=True)
class GeneratedReport:
    report_id: int
    doctor_id: int
    doctor: str
    month: str
    total: int
    #: False when the report existed already (another run made it).
    created: bool
    recipient: str


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


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f'<table width="100%" cellspacing="0" cellpadding="3">\n<tr>{head}</tr>\n{body}\n</table>'
    )


def render_html(stats: MonthlyStats, generated_at: datetime) -> str:
    """The report as a standalone HTML page (template from ``resources/templates``)."""
    template = Template((resources_dir() / "templates" / TEMPLATE_NAME).read_text("utf-8"))
    first, last = month_bounds(stats.month)
    appointments = _table(
        ["Date", "Time", "Patient", "Visit", "Status"],
        [
            [
                f"{a.date:%Y-%m-%d}",
                f"{a.time:%H:%M}",
                a.patient,
                VISIT_LABELS.get(a.visit_type, a.visit_type),
                STATUS_LABELS.get(a.status, a.status),
            ]
            for a in stats.appointments
        ],
        "No appointments this month.",
    )
    treatments = _table(
        ["Date", "Patient", "Diagnosis", "Treatment given", "Prescription"],
        [
            [f"{t.date:%Y-%m-%d}", t.patient, t.diagnosis, t.treatment_given, t.prescription]
            for t in stats.treatment_lines
        ],
        "No treatments recorded this month.",
    )
    text_values = {
        "month_label": month_label(stats.month),
        "doctor": stats.doctor,
        "department": stats.department,
        "first_day": f"{first:%Y-%m-%d}",
        "last_day": f"{last:%Y-%m-%d}",
        "generated": f"{generated_at:%Y-%m-%d %H:%M %Z}".strip(),
    }
    values: dict[str, object] = {k: html.escape(v) for k, v in text_values.items()}
    for name in ("total", "completed", "cancelled", "no_shows", "booked", "treatments"):
        values[name] = int(getattr(stats, name))
    values["unique_patients"] = stats.unique_patients
    values["appointments_table"] = appointments
    values["treatments_table"] = treatments
    return template.substitute(values)


def summary_text(stats: MonthlyStats) -> str:
    """The plain-text part of the report email."""
    return (
        f"Monthly report for {stats.doctor} ({stats.department}), {month_label(stats.month)}\n\n"
        f"Total appointments: {stats.total}\n"
        f"Completed: {stats.completed}\n"
        f"Cancelled: {stats.cancelled}\n"
        f"No-shows: {stats.no_shows}\n"
        f"Treatments recorded: {stats.treatments}\n"
        f"Unique patients: {stats.unique_patients}\n\n"
        "The full report with the appointment and treatment tables is attached as HTML and is "
        "under 'My reports' in HMS Desktop.\n"
    )


def generate_reports(clinic: Clinic, month: str, *, run_id: int | None) -> list[GeneratedReport]:
    """Store one report per doctor for ``month`` and queue its email.

    A doctor whose report for the month exists already is left alone, so a run
    repeated after a crash changes nothing.
    """
    month = parse_month(month)
    made: list[GeneratedReport] = []
    with clinic.db.read() as session:
        doctor_ids = list(session.scalars(select(Doctor.id).order_by(Doctor.full_name, Doctor.id)))
    for doctor_id in doctor_ids:
        with clinic.db.write() as session:
            existing = session.scalar(
                select(MonthlyReport).where(
                    MonthlyReport.doctor_id == doctor_id, MonthlyReport.month == month
                )
            )
            stats = compute_stats(session, doctor_id, month)
            if existing is not None:
                made.append(
                    GeneratedReport(
                        existing.id, doctor_id, stats.doctor, month, existing.total, False, ""
                    )
                )
                continue
            now = clinic.now()
            report = MonthlyReport(
                doctor_id=doctor_id,
                month=month,
                generated_at=now,
                run_id=run_id,
                total=stats.total,
                completed=stats.completed,
                cancelled=stats.cancelled,
                no_shows=stats.no_shows,
                treatments=stats.treatments,
                unique_patients=stats.unique_patients,
                html=render_html(stats, now),
            )
            try:
                with session.begin_nested():
                    session.add(report)
            except IntegrityError:  # another PC made it a moment ago
                continue
            address = stats.doctor_email.strip()
            session.add(
                OutboxMessage(
                    kind="monthly_report",
                    report_id=report.id,
                    doctor_id=doctor_id,
                    run_id=run_id,
                    recipient=address,
                    subject=f"Monthly report {month_label(month)}: {stats.doctor}"[:255],
                    body=summary_text(stats),
                    status="pending" if address else "undeliverable",
                    attempts=0,
                    next_attempt_at=now if address else None,
                    last_error="" if address else "The doctor has no email address.",
                    created_at=now,
                )
            )
            if not address:
                log.warning(
                    "monthly report %s for doctor %s (%s): no email address; stored only",
                    month,
                    doctor_id,
                    stats.doctor,
                )
            made.append(
                GeneratedReport(
                    report.id, doctor_id, stats.doctor, month, stats.total, True, address
                )
            )
    return made


# --- reading -------------------------------------------------------------------------------


def _may_read(actor: Actor, doctor_id: int) -> None:
    if actor.is_staff or (actor.role == "doctor" and actor.doctor_id == doctor_id):
        return
    raise PermissionDeniedError("You can only read your own monthly reports.")


def _report_row(r: MonthlyReport, doctor: str) -> ReportRow:
    return ReportRow(
        r.id,
        r.doctor_id,
        doctor,
        r.month,
        r.generated_at,
        r.total,
        r.completed,
        r.cancelled,
        r.no_shows,
        r.treatments,
        r.unique_patients,
    )


def list_reports(clinic: Clinic, actor: Actor, *, doctor_id: int | None = None) -> list[ReportRow]:
    """Newest month first. A doctor sees their own; staff see all (or one doctor's).

    Raises:
        PermissionDeniedError: a patient, or a doctor asking for another's.
    """
    if actor.role == "doctor":
        doctor_id = actor.doctor_id if doctor_id is None else doctor_id
    if doctor_id is not None:
        _may_read(actor, doctor_id)
    elif not actor.is_staff:
        raise PermissionDeniedError("Only doctors and the front desk read monthly reports.")
    stmt = (
        select(MonthlyReport, Doctor.full_name)
        .join(Doctor, Doctor.id == MonthlyReport.doctor_id)
        .order_by(MonthlyReport.month.desc(), Doctor.full_name)
    )
    if doctor_id is not None:
        stmt = stmt.where(MonthlyReport.doctor_id == doctor_id)
    with clinic.db.read() as session:
        return [_report_row(r, name) for r, name in session.execute(stmt)]


def get_report_html(clinic: Clinic, actor: Actor, report_id: int) -> tuple[ReportRow, str]:
    """A stored report and its HTML; the view is audited (it names patients).

    Raises:
        NotFoundError: no such report.
        PermissionDeniedError: another doctor's report.
    """
    with clinic.db.write() as session:
        found = session.execute(
            select(MonthlyReport, Doctor.full_name)
            .join(Doctor, Doctor.id == MonthlyReport.doctor_id)
            .where(MonthlyReport.id == report_id)
        ).first()
        if found is None:
            raise NotFoundError(f"There is no monthly report {report_id}.")
        report, doctor = found
        _may_read(actor, report.doctor_id)
        audit.record(session, actor, "report.view", "monthly_report", report.id, month=report.month)
        return _report_row(report, doctor), report.html


def report_html_for(clinic: Clinic, actor: Actor, doctor_id: int, month: str) -> tuple[str, bool]:
    """The stored report of a doctor's month, or a fresh rendering when none is stored.

    Returns:
        The HTML, and whether it came from the database.
    """
    month = parse_month(month)
    _may_read(actor, doctor_id)
    with clinic.db.write() as session:
        stored = session.scalar(
            select(MonthlyReport).where(
                MonthlyReport.doctor_id == doctor_id, MonthlyReport.month == month
            )
        )
        if stored is not None:
            audit.record(session, actor, "report.export", "monthly_report", stored.id, month=month)
            return stored.html, True
        stats = compute_stats(session, doctor_id, month)
        audit.record(session, actor, "report.export", "doctor", doctor_id, month=month)
        return render_html(stats, clinic.now()), False
