"""A day's schedule to print or save: one doctor or all, as HTML (for the printer and
PDF) or CSV. The window prints the HTML with Qt; ``hms schedule`` renders the same
HTML to PDF in a child process (the command line never imports Qt).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from hms_desktop import APP_NAME
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files.spreadsheet_safety import csv_text
from hms_desktop.services.scheduling.book import day_book
from hms_desktop.services.views import STATUS_LABELS, VISIT_LABELS, day_words

CSV_HEADERS = ("Doctor", "Department", "Start", "End", "Patient", "Visit Type", "Status", "Reason")


@dataclass(frozen=True)
class ScheduleRow:
    doctor: str
    department: str
    start: time
    end: time
    patient: str
    visit_type: str
    status: str
    reason: str


def clinic_name(clinic: Clinic) -> str:
    """The clinic's name for printouts (the clinic setting replaces the default)."""
    return getattr(clinic.settings, "clinic_name", "") or f"{APP_NAME} clinic"


def schedule_rows(
    clinic: Clinic, actor: Actor, day: date, doctor_ids: Sequence[int] | None = None
) -> list[ScheduleRow]:
    """The live visits of ``day`` (cancelled ones left out), by doctor then time.

    Raises:
        PermissionDeniedError: as :func:`.book.day_book`.
    """
    book = day_book(clinic, actor, day, doctor_ids=doctor_ids)
    return [
        ScheduleRow(
            c.doctor,
            c.department,
            v.start,
            v.end,
            v.patient,
            VISIT_LABELS.get(v.visit_type, v.visit_type),
            STATUS_LABELS.get(v.status, v.status),
            v.reason,
        )
        for c in book.columns
        for v in c.visits
    ]


def schedule_html(clinic: Clinic, day: date, rows: Sequence[ScheduleRow]) -> str:
    """A printable page: the clinic, the date, and a table per doctor."""
    e = html.escape
    parts = [
        "<html><head><meta charset='utf-8'><style>"
        "body{font-family:sans-serif;font-size:10pt} h1{font-size:14pt} h2{font-size:12pt}"
        "table{border-collapse:collapse;width:100%} td,th{border:1px solid #888;padding:3px}"
        "</style></head><body>",
        f"<h1>{e(clinic_name(clinic))}</h1>",
        f"<p>Schedule for {e(day_words(day))}</p>",
    ]
    if not rows:
        parts.append("<p>No visits.</p>")
    doctor = None
    for r in rows:
        if r.doctor != doctor:
            if doctor is not None:
                parts.append("</table>")
            doctor = r.doctor
            # The heading rows repeat at the top of each page the table runs onto.
            parts.append(
                "<br/><table><thead><tr><th colspan='5' align='left' "
                f"style='font-size:12pt;border:none'>{e(r.doctor)} ({e(r.department)})</th></tr>"
                "<tr><th>Time</th><th>Patient</th><th>Visit type</th><th>Status</th>"
                "<th>Reason</th></tr></thead>"
            )
        parts.append(
            f"<tr><td>{r.start:%H:%M}-{r.end:%H:%M}</td><td>{e(r.patient)}</td>"
            f"<td>{e(r.visit_type)}</td><td>{e(r.status)}</td><td>{e(r.reason)}</td></tr>"
        )
    if doctor is not None:
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


def schedule_csv(rows: Sequence[ScheduleRow]) -> str:
    """The rows as CSV text (comma-separated, a header row first; formula-like text is
    kept as text)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    for r in rows:
        cells = [r.doctor, r.department, f"{r.start:%H:%M}", f"{r.end:%H:%M}", r.patient,
                 r.visit_type, r.status, r.reason]  # fmt: skip
        writer.writerow([csv_text(c) for c in cells])
    return out.getvalue()
