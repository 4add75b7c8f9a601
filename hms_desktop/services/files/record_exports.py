"""The history as a document: a FHIR R4 Bundle (JSON) or a printable PDF.

The same guarantees as the CSV and Excel exports (:mod:`exports`): the target
appears only when complete, an open or locked target keeps the export under a new
name, and the audit row is written once the file is in place (a refused or failed
export is audited too). Making a PDF needs Qt, which lives in ``ui``: the caller
passes the renderer (the window its own, the command line a child process).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from hms_desktop.errors import (
    ValidationError,
)
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings.identity import clinic_id
from hms_desktop.services.files.atomic_file import AtomicFile
from hms_desktop.services.files.exports import ExportError, ExportResult, audit_failure
from hms_desktop.services.files.fhir_export import build_bundle, bundle_json
from hms_desktop.services.files.history_data import PatientRecord, load_record
from hms_desktop.services.files.history_pdf import PrintableHistory, history_document
from hms_desktop.services.files.placement import place
from hms_desktop.services.messaging.calendar_invite import clinic_identity
from hms_desktop.services.safety import audit

DocumentFormat = Literal["fhir", "pdf"]
DOCUMENT_FORMATS: tuple[DocumentFormat, ...] = ("fhir", "pdf")
_SUFFIXES = {".json": "fhir", ".pdf": "pdf"}
#: Writes the PDF of a printable history to the given path (needs Qt: see the module doc).
PdfRenderer = Callable[[PrintableHistory, Path], None]


def document_format(target: Path | str, fmt: str | None) -> DocumentFormat | None:
    """ "fhir" or "pdf" from ``fmt`` or the file suffix (.json, .pdf); None for a table."""
    chosen = (fmt or "").lower() or _SUFFIXES.get(Path(target).suffix.lower(), "")
    return "fhir" if chosen == "fhir" else "pdf" if chosen == "pdf" else None


def _check_target(target: Path | str) -> Path:
    path = Path(target).expanduser()
    if not path.name or path.is_dir():
        raise ValidationError(f"{path} is a folder; choose a file name.", field="path")
    path = path.absolute()
    if not path.parent.is_dir():
        raise ValidationError(
            f"The folder {path.parent} does not exist. Choose an existing folder.", field="path"
        )
    return path


def export_record(
    clinic: Clinic,
    actor: Actor,
    patient_id: int,
    target: Path | str,
    fmt: DocumentFormat,
    *,
    all_visits: bool = False,
    render_pdf: PdfRenderer | None = None,
    patient_request: str = "",
) -> ExportResult:
    """Write the patient's history to ``target`` as a FHIR Bundle or a PDF.

    FHIR holds every visit (completed ones as Encounters, the others as Appointments);
    the PDF the treated visits, or with ``all_visits`` every visit with its status.
    ``rows`` in the result counts the visits written.

    ``patient_request``: the front desk exports only at the patient's own request, and
    types it here (audited with the export), as for CSV and Excel.

    Raises:
        PermissionDeniedError: the actor may not read this patient's records (a doctor
            without care relationship, the front desk without the patient's request).
        NotFoundError: no such patient.
        ValidationError: a folder as the target, a missing folder, or PDF without a renderer.
        ExportError: the file could not be written.
    """
    if fmt not in DOCUMENT_FORMATS:
        raise ValidationError("Choose the format fhir or pdf.", field="format")
    if fmt == "pdf" and render_pdf is None:
        raise ValidationError("PDF export needs the PDF renderer.", field="format")
    path = _check_target(target)
    started = time.monotonic()
    written = 0
    details: dict[str, Any] = {"all_visits": True} if all_visits else {}
    if patient_request:
        details["patient_request"] = patient_request

    def log_outcome(outcome: str, **extra: Any) -> None:
        audit.record_now(
            clinic, actor, "history.export", "patient", patient_id, patient_id=patient_id,
            outcome=outcome, format=fmt, file=str(path), rows=written, **details, **extra,
        )  # fmt: skip

    try:
        record = load_record(clinic, actor, patient_id, patient_request=patient_request)
        data, written = _content(clinic, record, fmt, all_visits, render_pdf)
        with AtomicFile(path) as out:
            out.file.write(data)
            placed = place(out)
        path = placed.path
        try:
            extra = {"instead_of": str(placed.instead_of)} if placed.instead_of else {}
            log_outcome("completed", **extra)
        except BaseException:
            placed.path.unlink(missing_ok=True)  # an export the log cannot record is not kept
            raise
    except BaseException as err:
        audit_failure(log_outcome, err)
        if isinstance(err, OSError):
            raise ExportError(f"Could not write {path}: {err.strerror or err}.") from err
        raise
    return ExportResult(
        placed.path, written, placed.bytes, time.monotonic() - started, placed.instead_of
    )


def _content(
    clinic: Clinic,
    record: PatientRecord,
    fmt: DocumentFormat,
    all_visits: bool,
    render_pdf: PdfRenderer | None,
) -> tuple[bytes, int]:
    name, address = clinic_identity(clinic)
    if fmt == "fhir":
        bundle = build_bundle(
            record,
            tz=clinic.settings.tz,
            clinic_id=clinic_id(clinic),
            clinic_name=name,
            clinic_address=address,
            generated_at=clinic.now().astimezone(clinic.settings.tz),
        )
        return bundle_json(bundle), len(record.visits)
    assert render_pdf is not None
    document = history_document(
        record,
        clinic_name=name,
        generated_at=clinic.now().astimezone(clinic.settings.tz),
        all_visits=all_visits,
    )
    with tempfile.TemporaryDirectory(prefix="hms-history-") as folder:
        pdf = Path(folder) / "history.pdf"
        render_pdf(document, pdf)
        data = pdf.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ExportError("The PDF renderer wrote no PDF.")
    visits = record.visits if all_visits else record.treated_visits
    return data, len(visits)
