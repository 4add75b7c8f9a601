"""``hms availability``, ``hms next-free``, ``hms schedule`` and ``hms book --repeat``.

Doctors' weekly hours and leave, the next free time of a doctor or department, a
day's schedule as PDF or CSV, and recurring bookings. Like every command they act
as the system through the services; the PDF is drawn by the same Qt renderer as the
reports, in a child process (the command line never imports Qt).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hms_desktop.cli import open_from_args
from hms_desktop.cli.core import format_table
from hms_desktop.cli.jobs import render_pdf
from hms_desktop.errors import HmsError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.scheduling import book, hours, schedule, series
from hms_desktop.services.views import to_json


def register(subparsers: Any) -> None:
    """Add the commands to the ``hms`` parser."""
    p = subparsers.add_parser("availability", help="doctors' weekly hours and leave")
    actions = p.add_subparsers(dest="availability_command", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("weekly", help="add hours on a weekday, every week")
    p.add_argument("--doctor", type=int, required=True, metavar="ID")
    p.add_argument("--day", required=True, help="mon, tue, wed, thu, fri, sat or sun")
    p.add_argument("--from", dest="start", required=True, metavar="HH:MM")
    p.add_argument("--to", dest="end", required=True, metavar="HH:MM")
    p.set_defaults(handler=cmd_weekly)
    p = actions.add_parser("off", help="days off (leave, a holiday): no bookings then")
    p.add_argument("--doctor", type=int, required=True, metavar="ID")
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--reason", default="", metavar="TEXT")
    p.set_defaults(handler=cmd_off)
    p = actions.add_parser("show", help="a doctor's weekly hours and the exceptions ahead")
    p.add_argument("--doctor", type=int, required=True, metavar="ID")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(handler=cmd_show)

    p = subparsers.add_parser("next-free", help="the first free time of a doctor or department")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--doctor", type=int, metavar="ID")
    who.add_argument("--department", type=int, metavar="ID")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="from this day on (default: now)")
    p.add_argument("--visit-type", default="consultation", help="its length is needed free")
    p.add_argument("--json", action="store_true", help="print a JSON object (null: none)")
    p.set_defaults(handler=cmd_next_free)

    p = subparsers.add_parser("schedule", help="a day's schedule as a PDF or CSV file")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--doctor", type=int, metavar="ID", help="one doctor (default: all)")
    p.add_argument("--output", type=Path, required=True, metavar="FILE.pdf|FILE.csv")
    p.set_defaults(handler=cmd_schedule)


def add_repeat_args(p: argparse.ArgumentParser) -> None:
    """``hms book``'s options for a recurring series."""
    p.add_argument("--repeat", choices=series.REPEATS, help="book a series")
    p.add_argument("--every", type=int, default=1, metavar="N", help="every N weeks or months")
    end = p.add_mutually_exclusive_group()
    end.add_argument("--count", type=int, metavar="N", help="this many visits")
    end.add_argument("--until", metavar="YYYY-MM-DD", help="up to this day")
    p.add_argument(
        "--skip-conflicts",
        action="store_true",
        help="book the free dates even when some are not (default: book nothing then)",
    )


@contextlib.contextmanager
def _clinic(args: argparse.Namespace) -> Iterator[Clinic]:
    clinic = open_from_args(args)
    try:
        yield clinic
    finally:
        clinic.close()


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=".schedule-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_weekly(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        hours.add_weekly(clinic, SYSTEM, args.doctor, args.day, args.start, args.end)
        day = hours.WEEKDAYS[hours.parse_weekday(args.day)]
        shown = [
            f"{w.start_time:%H:%M}-{w.end_time:%H:%M}"
            for w in hours.weekly_hours(clinic, args.doctor)
            if w.day_name == day
        ]
    print(f"Doctor {args.doctor} sees patients every {day}: {', '.join(shown)}.")
    return 0


def cmd_off(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        days = hours.take_leave(clinic, SYSTEM, args.doctor, args.first, args.last, args.reason)
    print(f"Doctor {args.doctor} is off {args.first} to {args.last} ({days} days).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        weekly = hours.weekly_hours(clinic, args.doctor)
        exceptions = hours.exceptions(clinic, args.doctor)
    if args.json:
        print_json(
            {
                "doctor_id": args.doctor,
                "weekly": [{"day": w.day_name, **to_json(w)} for w in weekly],
                "exceptions": [to_json(e) for e in exceptions],
            }
        )
        return 0
    print(
        format_table(
            ["Day", "From", "To"],
            [[w.day_name, f"{w.start_time:%H:%M}", f"{w.end_time:%H:%M}"] for w in weekly],
        )
        if weekly
        else f"Doctor {args.doctor} has no weekly hours."
    )
    if exceptions:
        print()
        print(
            format_table(
                ["Date", "Kind", "From", "To", "Reason"],
                [
                    [e.date, e.kind, f"{e.start_time:%H:%M}", f"{e.end_time:%H:%M}", e.reason]
                    for e in exceptions
                ],
            )
        )
    return 0


def cmd_next_free(args: argparse.Namespace) -> int:
    visit_type = args.visit_type.strip().lower().replace("-", "_")
    after = parse_day(args.after, "after") if args.after else None
    with _clinic(args) as clinic:
        slot = book.next_free(
            clinic, doctor_id=args.doctor, department_id=args.department, after=after,
            visit_type=visit_type,
        )  # fmt: skip
    if args.json:
        print_json(to_json(slot) if slot is not None else None)
    elif slot is None:
        print("No free time up to the booking horizon.")
    else:
        print(
            f"Doctor {slot.doctor_id} on {slot.date} at {slot.time:%H:%M} (until {slot.end_time:%H:%M})"
        )
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    output: Path = args.output
    kind = output.suffix.lower()
    if kind not in (".pdf", ".csv"):
        raise ValidationError("--output must end in .pdf or .csv.", field="output")
    if not output.parent.resolve().is_dir():
        raise ValidationError(f"The folder {output.parent} does not exist.", field="output")
    day = parse_day(args.date, "date")
    with _clinic(args) as clinic:
        doctors = [args.doctor] if args.doctor is not None else None
        rows = schedule.schedule_rows(clinic, SYSTEM, day, doctors)
        html = schedule.schedule_html(clinic, day, rows) if kind == ".pdf" else ""
    if kind == ".pdf":
        render_pdf(html, output, title=f"Schedule {day}")
    else:
        try:
            write_atomically(output, schedule.schedule_csv(rows))
        except OSError as err:
            raise HmsError(f"Cannot write {output}: {err.strerror or err}.") from None
    print(f"Wrote {output} ({len(rows)} visits on {day}).")
    return 0


def book_repeating(args: argparse.Namespace, visit_type: str) -> int:
    """``hms book --repeat``: print each new id; list the dates that cannot be booked."""
    if args.count is None and args.until is None:
        raise ValidationError("Give --count N or --until DATE with --repeat.", field="count")
    dates = series.occurrence_dates(
        args.date, args.repeat, every=args.every, count=args.count, until=args.until
    )
    with _clinic(args) as clinic:
        result = series.book_series(
            clinic, SYSTEM, patient_id=args.patient, doctor_id=args.doctor, dates=dates,
            at=parse_time(args.time, "time"), visit_type=visit_type, reason=args.reason,
            minutes=args.minutes, book_the_rest=args.skip_conflicts,
        )  # fmt: skip
    if not result.booked:
        listed = "; ".join(f"{c.date}: {c.reason}" for c in result.conflicts)
        raise ValidationError(
            f"{len(result.conflicts)} of {len(dates)} dates cannot be booked, so nothing was "
            f"booked ({listed}). Add --skip-conflicts to book the others, or choose another time."
        )
    for conflict in result.conflicts:
        print(f"hms: not booked on {conflict.date}: {conflict.reason}", file=sys.stderr)
    for new_id in result.booked:
        print(new_id)
    return 0
