"""Column specs of the appointment tables in the Doctor and Patient tabs, and their date rules."""

from __future__ import annotations

from datetime import date, timedelta

from hms_desktop.services.scheduling.booking import STATUS_LABELS, VISIT_LABELS
from hms_desktop.services.views import AppointmentRow
from hms_desktop.ui.common.dates import day_text
from hms_desktop.ui.common.table_models import Column


def doctor_columns() -> list[Column[AppointmentRow]]:
    """A doctor's day or week: who comes when, and what is done."""
    return [
        Column("Date", lambda r: r.date, text=lambda r: day_text(r.date)),
        Column("Time", lambda r: r.time),
        Column("Patient", lambda r: r.patient),
        Column("Visit type", lambda r: VISIT_LABELS.get(r.visit_type, r.visit_type)),
        Column("Status", lambda r: STATUS_LABELS.get(r.status, r.status)),
        Column("Treatment", lambda r: "Recorded" if r.has_treatment else ""),
        Column("Reason", lambda r: r.reason, tooltip=lambda r: r.reason),
    ]


def upcoming_columns() -> list[Column[AppointmentRow]]:
    """A patient's coming visits, with their status.

    When, with whom and whether it still stands come first: on a narrow screen they stay
    in view and the rest scrolls.
    """
    return [
        Column("Date", lambda r: r.date, text=lambda r: day_text(r.date)),
        Column("Time", lambda r: r.time),
        Column("Doctor", lambda r: r.doctor),
        Column("Status", lambda r: STATUS_LABELS.get(r.status, r.status)),
        Column("Department", lambda r: r.department),
        Column("Visit type", lambda r: VISIT_LABELS.get(r.visit_type, r.visit_type)),
        Column("Reason", lambda r: r.reason, tooltip=lambda r: r.reason),
    ]


def past_columns() -> list[Column[AppointmentRow]]:
    """A patient's past visits with diagnosis and prescription.

    As in :func:`upcoming_columns`, when, with whom and how it ended come first: beside
    the patient finder at 1024 pixels they stay in view and the rest scrolls.
    """
    return [
        Column("Date", lambda r: r.date),
        Column("Doctor", lambda r: r.doctor),
        Column("Status", lambda r: STATUS_LABELS.get(r.status, r.status)),
        Column("Department", lambda r: r.department),
        Column("Diagnosis", lambda r: r.diagnosis, tooltip=lambda r: r.diagnosis),
        Column("Prescription", lambda r: r.prescription, tooltip=lambda r: r.prescription),
    ]


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday of the week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def is_past(row: AppointmentRow, today: date) -> bool:
    """A visit belongs to the past once its day is over or it has been closed."""
    return row.date < today or row.status in ("completed", "no_show")
