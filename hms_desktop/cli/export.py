"""``hms export history`` and ``hms export appointments``: the window's exports, scripted.

Both print the number of rows written. Errors (no such patient, a folder that does
not exist, a bad date) print one line on stderr and exit with status 2; the target
file is then untouched and no partial file is left. A target open in another
program is not replaced: the export is kept under a new name, which is printed.

The history also exports as FHIR (JSON) and PDF. The CLI may not import Qt
(import-linter: "No Qt below ui"), so a PDF is drawn by the window's renderer,
``python -m hms_desktop.ui.exports.history_pdf``, in a child process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from hms_desktop.cli import record_id, settings_from_args
from hms_desktop.cli.pdf_child import run_renderer
from hms_desktop.db.models import STATUSES
from hms_desktop.errors import HmsError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import open_clinic
from hms_desktop.services.files import exports, record_exports
from hms_desktop.services.files.csv_locale import default_delimiter, parse_delimiter
from hms_desktop.services.files.exports import ExportResult
from hms_desktop.services.files.history_pdf import PrintableHistory
from hms_desktop.services.files.table_files import FORMATS
from hms_desktop.services.people.validation import parse_day
from hms_desktop.services.scheduling.booking import AppointmentFilter


def register(subparsers: Any) -> None:
    """Add the ``export`` command with its ``history`` and ``appointments`` sub-commands."""
    export = subparsers.add_parser(
        "export",
        help="export a patient's history or an appointment list to CSV or Excel",
        description=(
            "Write CSV (UTF-8 with BOM) or Excel (.xlsx). The file appears only when complete; "
            "text that a spreadsheet could run as a formula is written as plain text."
        ),
    )
    kinds = export.add_subparsers(dest="export_kind", metavar="WHAT")
    kinds.required = True

    history = kinds.add_parser(
        "history",
        help="one patient's full medical history, one row per treatment, oldest first",
    )
    history.add_argument(
        "--patient", type=record_id, required=True, metavar="ID", help="patient id"
    )
    _add_output_args(history, (*FORMATS, *record_exports.DOCUMENT_FORMATS))
    history.add_argument(
        "--all-visits",
        action="store_true",
        help="also upcoming, cancelled and no-show visits, with a Status column",
    )
    history.set_defaults(handler=_history)

    appointments = kinds.add_parser(
        "appointments", help="the appointments in a date range, by date and time"
    )
    appointments.add_argument(
        "--from", dest="date_from", required=True, metavar="DATE", help="first day, YYYY-MM-DD"
    )
    appointments.add_argument(
        "--to", dest="date_to", required=True, metavar="DATE", help="last day (included)"
    )
    appointments.add_argument("--doctor", type=record_id, metavar="ID", help="only this doctor")
    appointments.add_argument(
        "--department", type=record_id, metavar="ID", help="only doctors of this department"
    )
    appointments.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        metavar="STATUS",
        help=f"only this status ({', '.join(STATUSES)}); repeat for several",
    )
    _add_output_args(appointments, FORMATS)
    appointments.set_defaults(handler=_appointments)


def _add_output_args(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    suffixes = ", ".join(formats)
    parser.add_argument(
        "--format",
        choices=formats,
        help=f"{suffixes} (default: from the output file's suffix; .json is fhir)",
    )
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="file to write")
    parser.add_argument(
        "--delimiter",
        metavar="D",
        help="CSV delimiter: comma, semicolon or tab (default: this PC's choice, else ';' "
        "where the decimal separator is a comma)",
    )


def _delimiter(args: argparse.Namespace) -> str:
    if args.delimiter is not None:
        return parse_delimiter(args.delimiter)
    return default_delimiter(settings_from_args(args).csv_delimiter)


def _report(result: ExportResult) -> int:
    print(result.message)
    return 0


def render_history_pdf(history: PrintableHistory, output: Path) -> None:
    """Write ``history`` as a PDF through the Qt renderer in a child process.

    Raises:
        HmsError: the renderer is not available or could not write the file.
    """
    if getattr(sys, "frozen", False):
        raise HmsError(
            "This build cannot make PDFs from the command line. Export --format fhir or csv, "
            "or use Save as PDF on the Patient tab of HMS Desktop."
        )
    with tempfile.TemporaryDirectory(prefix="hms-history-") as tmp:
        source = Path(tmp) / "history.json"
        source.write_text(
            json.dumps({"html": history.html, "header": history.header, "title": history.title}),
            encoding="utf-8",
        )
        run_renderer("hms_desktop.ui.exports.history_pdf", str(source), str(output))


def _history(args: argparse.Namespace) -> int:
    document = record_exports.document_format(args.output, args.format)
    if document is not None:
        clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
        try:
            result = record_exports.export_record(
                clinic, SYSTEM, args.patient, args.output, document,
                all_visits=args.all_visits, render_pdf=render_history_pdf,
            )  # fmt: skip
        finally:
            clinic.close()
        print(result.message.replace(" rows ", " visits ", 1))
        return 0
    target, fmt = exports.check_target(args.output, args.format)
    delimiter = _delimiter(args)
    clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
    try:
        result = exports.export_history(
            clinic, SYSTEM, args.patient, target, fmt,
            delimiter=delimiter, all_visits=args.all_visits,
        )  # fmt: skip
        return _report(result)
    finally:
        clinic.close()


def _appointments(args: argparse.Namespace) -> int:
    flt = AppointmentFilter(
        date_from=parse_day(args.date_from, "from"),
        date_to=parse_day(args.date_to, "to"),
        doctor_id=args.doctor,
        department_id=args.department,
        statuses=tuple(args.status or ()),
    )
    target, fmt = exports.check_target(args.output, args.format)
    delimiter = _delimiter(args)
    clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
    try:
        return _report(
            exports.export_appointments(clinic, SYSTEM, flt, target, fmt, delimiter=delimiter)
        )
    finally:
        clinic.close()
