"""``hms export history`` and ``hms export appointments``: the window's exports, scripted.

Both print the number of rows written. Errors (no such patient, a folder that does
not exist, a bad date) print one line on stderr and exit with status 2; the target
file is then untouched and no partial file is left.
"""

from __future__ import annotations

import argparse
from typing import Any

from hms_desktop.cli import record_id, settings_from_args
from hms_desktop.db.models import STATUSES
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import open_clinic
from hms_desktop.services.files import exports
from hms_desktop.services.files.exports import ExportResult
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
    _add_output_args(history)
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
    _add_output_args(appointments)
    appointments.set_defaults(handler=_appointments)


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="csv or xlsx (default: from the output file's suffix)",
    )
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="file to write")


def _report(result: ExportResult) -> int:
    print(f"{result.rows} rows written to {result.path}")
    return 0


def _history(args: argparse.Namespace) -> int:
    target, fmt = exports.check_target(args.output, args.format)
    clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
    try:
        return _report(exports.export_history(clinic, SYSTEM, args.patient, target, fmt))
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
    clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
    try:
        return _report(exports.export_appointments(clinic, SYSTEM, flt, target, fmt))
    finally:
        clinic.close()
