"""The printable history: a patient's record as HTML for Qt's PDF renderer (no Qt here).

The same fields as the CSV history, one block per visit, oldest first. The page
header (clinic and patient) and the page numbers are drawn on every page by the
renderer (:mod:`hms_desktop.ui.exports.history_pdf`), which the window calls
directly and the command line runs as a child process (no Qt below ui).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from hms_desktop.services.files.history_data import PatientRecord, Visit
from hms_desktop.services.views import STATUS_LABELS, VISIT_LABELS

#: The fields of a visit, as the CSV history names them.
FIELDS = (
    ("Symptoms", "symptoms"),
    ("Diagnosis", "diagnosis"),
    ("Treatment Given", "treatment_given"),
    ("Prescription", "prescription"),
    ("Notes", "notes"),
)


@dataclass(frozen=True)
class PrintableHistory:
    """What the renderer needs: the body, the header line of every page, the PDF title."""

    html: str
    header: str
    title: str


def _text(value: str) -> str:
    """Escaped, line breaks kept (a note is often several lines)."""
    return escape(value).replace("\n", "<br/>")


def _visit_html(record: PatientRecord, visit: Visit, *, with_status: bool) -> str:
    doctor = record.doctors[visit.doctor_id]
    kind = VISIT_LABELS.get(visit.visit_type, visit.visit_type)
    heading = (
        f"{visit.day:%Y-%m-%d} {visit.start:%H:%M} · {escape(doctor.full_name)} "
        f"({escape(doctor.department)}) · {escape(kind)}"
    )
    if with_status:
        heading += f" · {escape(STATUS_LABELS.get(visit.status, visit.status))}"
    rows = "".join(
        f'<tr><td class="label" width="22%">{label}</td><td>{_text(getattr(visit, attr))}</td></tr>'
        for label, attr in FIELDS
        if getattr(visit, attr).strip()
    )
    if not rows:
        rows = '<tr><td class="label"></td><td><i>No treatment recorded.</i></td></tr>'
    return (
        f'<h3>{heading}</h3><table class="visit" width="100%" cellspacing="0" '
        f'cellpadding="3">{rows}</table>'
    )


def history_document(
    record: PatientRecord,
    *,
    clinic_name: str,
    generated_at: datetime,
    all_visits: bool = False,
) -> PrintableHistory:
    """The printable history of ``record``.

    By default the visits with a recorded treatment (the CSV history's rows); with
    ``all_visits`` every visit, upcoming, cancelled and no-show ones too, with its status.
    """
    visits = record.visits if all_visits else record.treated_visits
    born = f", born {record.date_of_birth:%Y-%m-%d}" if record.date_of_birth else ""
    patient = f"{record.full_name} (patient ID {record.patient_id}{born})"
    clinic = clinic_name or "Clinic"
    body = "".join(_visit_html(record, v, with_status=all_visits) for v in visits)
    if not visits:
        body = "<p><i>No visits recorded.</i></p>"
    html = (
        "<html><head><meta charset='utf-8'/><style>"
        "body { font-family: sans-serif; font-size: 9pt; }"
        "h1 { font-size: 14pt; } h3 { font-size: 10pt; margin-top: 10pt; }"
        "td.label { font-weight: bold; width: 22%; }"
        "table.visit { border-top: 1px solid #888; }"
        "</style></head><body>"
        f"<h1>Medical history: {escape(record.full_name)}</h1>"
        f"<p>{escape(clinic)} · patient ID {record.patient_id}{escape(born)} · "
        f"{len(visits)} visit(s) · printed {generated_at:%Y-%m-%d %H:%M}</p>"
        f"{body}</body></html>"
    )
    return PrintableHistory(
        html=html,
        header=f"{clinic} — {patient}",
        title=f"Medical history {record.full_name}",
    )
