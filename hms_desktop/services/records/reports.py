"""Monthly per-doctor reports: rendering, storing, emailing and reading them.

The numbers come from :mod:`hms_desktop.services.records.monthly_stats`. The HTML comes from
``resources/templates/monthly_report.html``; every value put into it is
HTML-escaped, so a patient called ``<script>`` stays text.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from string import Template

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.models import Doctor, MonthlyReport, OutboxMessage
from hms_desktop.errors import NotFoundError, PermissionDeniedError
from hms_desktop.resources_path import resources_dir
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.monthly_stats import (
    MonthlyStats,
    compute_all_stats,
    compute_stats,
    month_bounds,
    month_label,
    parse_month,
    previous_month,
)
from hms_desktop.services.safety import audit
from hms_desktop.services.views import STATUS_LABELS, VISIT_LABELS

__all__ = [
    "GeneratedReport",
    "ReportRow",
    "compute_all_stats",
    "generate_reports",
    "get_report_html",
    "list_reports",
    "month_label",
    "parse_month",
    "previous_month",
    "render_html",
    "report_html_for",
]

log = logging.getLogger(__name__)

TEMPLATE_NAME = "monthly_report.html"


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
    repeated after a crash changes nothing. Every doctor's figures and tables are
    read up front in a constant number of queries (:func:`compute_all_stats`); each
    report and its email are then written in a transaction of their own, so a crash
    part-way keeps the reports made so far and the next run makes the rest.

    Raises:
        ValidationError: ``month`` is not ``YYYY-MM``.
    """
    month = parse_month(month)
    with clinic.db.read() as session:
        all_stats = compute_all_stats(session, month)
    made: list[GeneratedReport] = []
    for stats in all_stats:
        doctor_id = stats.doctor_id
        with clinic.db.write() as session:
            existing = session.execute(
                select(MonthlyReport.id, MonthlyReport.total).where(
                    MonthlyReport.doctor_id == doctor_id, MonthlyReport.month == month
                )
            ).first()
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
