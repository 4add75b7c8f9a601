"""``hms jobs ...`` and ``hms reports ...``: the background jobs from the command line.

``hms jobs run`` goes through the same run ledger as the application's
scheduler, so running a period by hand that the app already ran (or the other way
round) sends nothing twice.

PDF export: the CLI may not import Qt (import-linter's "No Qt below ui" covers
``hms_desktop.cli``), and writing a PDF of the HTML report needs Qt's text
layout. So ``hms reports export --output X.pdf`` runs
``python -m hms_desktop.ui.doctor.pdf_export`` as a child process on the offscreen
platform: the very renderer behind the report viewer's "Save as PDF", so both
produce the same file, and this process stays free of Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from hms_desktop.cli import count, record_id, settings_from_args
from hms_desktop.cli.pdf_child import run_renderer
from hms_desktop.errors import HmsError, ValidationError
from hms_desktop.jobs import definitions
from hms_desktop.jobs.runner import RunResult, deliver, run_job
from hms_desktop.jobs.scheduler import list_jobs
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.files.atomic_file import partial_file, regular_target
from hms_desktop.services.messaging import outbox
from hms_desktop.services.records import reports
from hms_desktop.services.safety import job_ledger


def register(subparsers: Any) -> None:
    """Add ``jobs`` and ``reports`` to the ``hms`` parser."""
    jobs = subparsers.add_parser("jobs", help="scheduled jobs: reminders, monthly reports, email")
    actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    actions.required = True

    p = actions.add_parser("list", help="each job's schedule, next run and recent runs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    run = actions.add_parser("run", help="run a job for one period (once: the ledger applies)")
    which = run.add_subparsers(dest="job", metavar="JOB")
    which.required = True
    p = which.add_parser("reminders", help="queue and send appointment reminders")
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="the day of the appointments to remind about (default: per the lead-time setting)",
    )
    p.set_defaults(handler=cmd_run, job_name=definitions.REMINDERS)
    p = which.add_parser("monthly-report", help="generate and email each doctor's report")
    p.add_argument("--month", metavar="YYYY-MM", help="default: the month that has just ended")
    p.set_defaults(handler=cmd_run, job_name=definitions.MONTHLY_REPORT)

    p = actions.add_parser("outbox", help="list outbox messages")
    p.add_argument(
        "--status", action="append", choices=list(outbox.STATUS_LABELS), help="repeatable"
    )
    p.add_argument("--limit", type=count, default=50, metavar="N")
    p.set_defaults(handler=cmd_outbox)

    p = actions.add_parser("retry", help="queue failed messages again and deliver them")
    p.add_argument(
        "ids", nargs="*", type=record_id, metavar="ID", help="default: every failed message"
    )
    p.set_defaults(handler=cmd_retry)

    p = actions.add_parser("deliver", help="send the messages that are due now")
    p.set_defaults(handler=cmd_deliver)

    rep = subparsers.add_parser("reports", help="monthly doctor reports")
    rep_actions = rep.add_subparsers(dest="reports_command", metavar="ACTION")
    rep_actions.required = True
    p = rep_actions.add_parser("list", help="stored monthly reports")
    p.add_argument("--doctor", type=record_id, metavar="ID")
    p.set_defaults(handler=cmd_reports_list)
    p = rep_actions.add_parser(
        "export",
        help="write a doctor's monthly report to an HTML or PDF file",
        description="Write the stored report (or, if the month has none yet, a fresh one).",
    )
    p.add_argument("--doctor", type=record_id, required=True, metavar="ID")
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--output", required=True, type=Path, metavar="FILE.pdf|FILE.html")
    p.set_defaults(handler=cmd_reports_export)


@contextlib.contextmanager
def _clinic(args: argparse.Namespace) -> Iterator[Clinic]:
    clinic = open_clinic(settings_from_args(args), migrate=False, must_exist=True)
    try:
        yield clinic
    finally:
        clinic.close()


def _when(moment: datetime | None, clinic: Clinic) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(clinic.settings.tz).strftime("%Y-%m-%d %H:%M")


# --- jobs ----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        infos = list_jobs(clinic)
        runs = job_ledger.recent_runs(clinic, limit=10)
        counts = outbox.status_counts(clinic)
        if args.json:
            data = {
                "time_zone": clinic.settings.timezone,
                "jobs": [
                    {
                        "name": i.name,
                        "title": i.title,
                        "schedule": i.schedule,
                        "next_run": i.next_run.isoformat() if i.next_run else None,
                        "current_period": i.current_period,
                        "last_run": _run_json(i.last_run),
                    }
                    for i in infos
                ],
                "recent_runs": [_run_json(r) for r in runs],
                "outbox": counts,
            }
            print(json.dumps(data, indent=2))
            return 0
        print(f"Jobs (time zone {clinic.settings.timezone}):")
        for info in infos:
            print(f"  {info.name:<15} {info.schedule}")
            if info.next_run is not None:
                print(f"  {'':<15} next run {_when(info.next_run, clinic)}")
            if info.last_run is not None:
                last = info.last_run
                print(
                    f"  {'':<15} last run {last.period_key}: {last.status} "
                    f"({last.trigger}, {last.counts_text})"
                )
        print("\nRecent runs:")
        if not runs:
            print("  none yet")
        for r in runs:
            took = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
            print(
                f"  #{r.id:<4} {r.job_name:<15} {r.period_key:<10} {r.status:<8} {r.trigger:<9} "
                f"{_when(r.started_at, clinic)}  {took:>6}  {r.counts_text}"
                + (f"  error: {r.error}" if r.error else "")
            )
        summary = ", ".join(
            f"{n} {outbox.STATUS_LABELS.get(s, s).lower()}" for s, n in sorted(counts.items())
        )
        print(f"\nOutbox: {summary or 'empty'}")
        if not clinic.settings.smtp_configured:
            print("Email is not configured (HMS_SMTP_HOST): messages wait in the outbox.")
    return 0


def _run_json(run: job_ledger.JobRunRow | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "job_name": run.job_name,
        "period_key": run.period_key,
        "status": run.status,
        "trigger": run.trigger,
        "host": run.host,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": run.counts,
        "error": run.error,
    }


def _print_result(result: RunResult) -> None:
    for line in result.lines:
        print(f"  {line}")
    print(result.message)


def cmd_run(args: argparse.Namespace) -> int:
    period = getattr(args, "date", None) or getattr(args, "month", None)
    with _clinic(args) as clinic:
        result = run_job(clinic, args.job_name, period, trigger="cli")
    _print_result(result)
    return 1 if result.status == "failed" else 0


def cmd_outbox(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        rows = outbox.list_messages(clinic, SYSTEM, statuses=args.status or (), limit=args.limit)
        for r in rows:
            print(
                f"#{r.id:<5} {_when(r.created_at, clinic)}  {r.status_label:<10} "
                f"{r.attempts} tries  {r.recipient or '(no email)'}  {r.subject}"
                + (f"\n        {r.last_error}" if r.last_error else "")
            )
        if not rows:
            print("No messages.")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        queued = outbox.retry(clinic, SYSTEM, args.ids or None)
        print(f"{queued} messages queued again.")
        _print_delivery(deliver(clinic))
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        _print_delivery(deliver(clinic))
    return 0


def _print_delivery(result: outbox.DeliveryResult) -> None:
    if result.skipped:
        print(result.skipped)
        return
    print(
        f"Sent {result.sent}, to retry {result.retrying}, failed {result.failed}, "
        f"expired {result.expired}."
    )


# --- reports -------------------------------------------------------------------------------


def cmd_reports_list(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        rows = reports.list_reports(clinic, SYSTEM, doctor_id=args.doctor)
    for r in rows:
        print(
            f"#{r.id:<5} {r.month}  {r.doctor:<30} {r.total:>4} appointments, "
            f"{r.completed} completed, {r.cancelled} cancelled, {r.no_shows} no-shows"
        )
    if not rows:
        print("No monthly reports yet.")
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Write under a partial-file name the cleaners know, then rename (a symlink is
    written through; a device or folder is refused)."""
    path = regular_target(path)
    with partial_file(path, ".html") as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def render_pdf(html: str, output: Path, *, title: str) -> None:
    """Write ``html`` as a PDF through the Qt renderer in a child process.

    Raises:
        HmsError: the renderer is not available or could not write the file.
    """
    if getattr(sys, "frozen", False):
        raise HmsError(
            "This build cannot make PDFs from the command line. Export --output FILE.html, "
            "or open the report in HMS Desktop and use Save as PDF."
        )
    with tempfile.TemporaryDirectory(prefix="hms-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(html, encoding="utf-8")
        run_renderer("hms_desktop.ui.doctor.pdf_export", str(source), str(output), "--title", title)


def cmd_reports_export(args: argparse.Namespace) -> int:
    output: Path = args.output
    kind = output.suffix.lower()
    if kind not in (".pdf", ".html", ".htm"):
        raise ValidationError("--output must end in .pdf or .html.", field="output")
    if not output.parent.resolve().is_dir():
        raise ValidationError(f"The folder {output.parent} does not exist.", field="output")
    month = reports.parse_month(args.month)
    with _clinic(args) as clinic:
        html, stored = reports.report_html_for(clinic, SYSTEM, args.doctor, month)
    title = f"Monthly report {month} doctor {args.doctor}"
    if kind == ".pdf":
        render_pdf(html, output, title=title)
    else:
        try:
            _write_atomically(output, html)
        except OSError as err:
            raise HmsError(f"Cannot write {output}: {err.strerror or err}.") from None
    source = "stored report" if stored else "report generated now (none stored for that month)"
    print(f"Wrote {output} ({source}).")
    return 0
