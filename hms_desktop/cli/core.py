"""The ``hms`` command's core sub-commands: init, user, demo-data, list, slots, book, stats.

Every command acts as :data:`hms_desktop.services.actor.SYSTEM` through the same
services as the window. Only ``init`` and ``demo-data`` create a database; the
others refuse a SQLite file that does not exist instead of creating an empty one.
``--json`` output is for scripts: snake_case keys named after the fields, dates
``YYYY-MM-DD``, times ``HH:MM``.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy.exc import ArgumentError

from hms_desktop.cli import count, record_id, settings_from_args
from hms_desktop.cli import users as users_cli
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import check_schema, upgrade
from hms_desktop.db.models import ROLES, STATUSES, Doctor, Patient
from hms_desktop.errors import DatabaseUnavailableError, NotFoundError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.people import accounts
from hms_desktop.services.people import doctors as doctor_service
from hms_desktop.services.people import patients as patient_service
from hms_desktop.services.people.validation import parse_day, parse_time
from hms_desktop.services.records.stats import compute_stats
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.services.views import to_json

#: Patients are read a page at a time (the service caps a page).
_PAGE = 1000


def register(subparsers: Any) -> None:
    """Add the core sub-commands to the ``hms`` parser."""
    p = subparsers.add_parser("init", help="create or upgrade the clinic database (safe to repeat)")
    p.add_argument("--timezone", metavar="ZONE", help="a new clinic's zone (default: this PC's)")
    p.add_argument("--clinic-name", metavar="NAME", help="a new clinic's name")
    p.set_defaults(handler=cmd_init)

    p = subparsers.add_parser("user", help="manage log-in accounts")
    user_sub = p.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    p = user_sub.add_parser("add", help="create a log-in account")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--username", required=True, metavar="NAME")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (else ask twice)",
    )
    p.add_argument("--doctor", type=record_id, metavar="ID", help="link the account to this doctor")
    p.add_argument(
        "--patient", type=record_id, metavar="ID", help="link the account to this patient"
    )
    p.set_defaults(handler=cmd_user_add)
    users_cli.register_actions(user_sub)

    p = subparsers.add_parser(
        "demo-data",
        help="fill the database with a deterministic demo clinic",
        description="Create a realistic demo clinic (creates the database if needed). "
        f"Every demo account's password is {demo_data.DEMO_PASSWORD!r}, except in a database "
        "with real accounts (only with --demo-accounts), where a new one is printed once.",
    )
    p.add_argument("--seed", type=int, default=1, help="same seed, same clinic (default 1)")
    p.add_argument("--doctors", type=int, default=12, metavar="N", help="default 12")
    p.add_argument("--patients", type=int, default=500, metavar="N", help="default 500")
    p.add_argument(
        "--appointments", type=int, metavar="N", help="default: about two thirds of the hours"
    )
    p.add_argument(
        "--days-back",
        type=int,
        default=demo_data.DEFAULT_DAYS_BACK,
        metavar="N",
        help=f"days of past visits before today (default {demo_data.DEFAULT_DAYS_BACK})",
    )
    p.add_argument(
        "--append",
        "--force",
        dest="append",
        action="store_true",
        help="add a demo clinic to a database that already holds patients",
    )
    p.add_argument(
        "--demo-accounts",
        action="store_true",
        help="also add demo log-ins to a database that has real accounts (they get a new "
        "password, printed once, never the published one)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=cmd_demo_data)

    p = subparsers.add_parser("list", help="list doctors, patients or appointments")
    p.add_argument("kind", choices=("doctors", "patients", "appointments"))
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="appointments on this day")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="appointments from")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="appointments until")
    p.add_argument(
        "--doctor", type=record_id, metavar="ID", help="this doctor (or their appointments)"
    )
    p.add_argument(
        "--patient", type=record_id, metavar="ID", help="this patient (or their appointments)"
    )
    p.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="booked, completed, cancelled or no-show; repeat or separate with commas",
    )
    p.add_argument("--search", metavar="TEXT", help="patients by name, id or phone")
    p.add_argument("--limit", type=count, metavar="N", help="at most N rows")
    p.set_defaults(handler=cmd_list)

    p = subparsers.add_parser("slots", help="a doctor's free slots")
    p.add_argument("--doctor", type=record_id, required=True, metavar="ID")
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="one day (default: every day up to the booking horizon)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler=cmd_slots)

    p = subparsers.add_parser("book", help="book a free slot; prints the appointment id")
    p.add_argument("--patient", type=record_id, required=True, metavar="ID")
    p.add_argument("--doctor", type=record_id, required=True, metavar="ID")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--time", required=True, metavar="HH:MM")
    p.add_argument(
        "--visit-type",
        default="consultation",
        help="its length is the visit's (see 'hms visit-types list'; default consultation)",
    )
    p.add_argument("--minutes", type=int, metavar="N", help="a length other than the type's")
    p.add_argument("--reason", default="", help="what the visit is about")
    from hms_desktop.cli.schedule import add_repeat_args  # imports this module

    add_repeat_args(p)
    p.set_defaults(handler=cmd_book)

    for name, summary in (
        ("cancel", "cancel a booked appointment (frees its slot)"),
        ("complete", "mark a booked appointment completed (from its start on)"),
    ):
        p = subparsers.add_parser(name, help=summary)
        p.add_argument("appointment_id", type=record_id, metavar="ID")
        if name == "complete":
            p.add_argument(
                "--early",
                action="store_true",
                help="close a visit that has not begun yet (the patient was seen early)",
            )
        p.set_defaults(handler=cmd_cancel if name == "cancel" else cmd_complete)

    p = subparsers.add_parser("stats", help="counts of doctors, patients and appointments")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(handler=cmd_stats)


# --- opening the database --------------------------------------------------------------


def _database(args: argparse.Namespace, *, must_exist: bool) -> Database:
    url = settings_from_args(args).database_url
    try:
        return Database(url, must_exist=must_exist)
    except ArgumentError:
        raise DatabaseUnavailableError(
            f"{url!r} is not a database URL; use sqlite:///path/to/clinic.sqlite3 or "
            "postgresql://user@host/dbname."
        ) from None


@contextlib.contextmanager
def _clinic(args: argparse.Namespace, *, create: bool = False) -> Iterator[Clinic]:
    """The clinic; only ``create`` makes (and migrates) a database that is not there."""
    _database(args, must_exist=not create).dispose()  # a clear message for a bad URL/path
    clinic = open_clinic(settings_from_args(args), migrate=create, must_exist=not create)
    try:
        yield clinic
    finally:
        clinic.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    """Terminal columns: East Asian wide characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as text columns aligned under their headers (numbers right-aligned)."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = []
        for value, width, right in zip(values, widths, numeric, strict=True):
            pad = " " * (width - _width(value))
            parts.append(pad + value if right else value + pad)
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


# --- init and users ----------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    """Create the database or bring its schema up to date; print where it is."""
    db = _database(args, must_exist=False)
    try:
        before = check_schema(db).current
        state = upgrade(db)
    finally:
        db.dispose()
    if before is None:
        what = "created"
    elif before != state.current:
        what = f"upgraded from {before}"
    else:
        what = "already up to date"
    print(f"Database: {db.display_location}")
    print(f"Schema version: {state.current} ({what})")
    _init_clinic_settings(args)
    return 0


def _init_clinic_settings(args: argparse.Namespace) -> None:
    """Move this PC's old clinic values into the database (once); give a new clinic its zone."""
    from hms_desktop.config import legacy_clinic_values
    from hms_desktop.services.clinic_settings import service as clinic_settings
    from hms_desktop.services.clinic_settings.values import KEYS

    with _clinic(args) as clinic:
        legacy = legacy_clinic_values(frozenset(KEYS))
        moved = clinic_settings.import_legacy(clinic, SYSTEM, legacy, source="settings file")
        if moved:
            print(f"Moved from this PC's settings file: {', '.join(sorted(moved))}")
        first: dict[str, str] = {}
        if not clinic_settings.is_set_up(clinic):
            # Never a silent UTC: the zone is this PC's, said aloud, or the one given.
            first["timezone"] = args.timezone or clinic_settings.suggested_zone()
        elif args.timezone:
            first["timezone"] = args.timezone
        if args.clinic_name:
            first["clinic_name"] = args.clinic_name
        if first:
            clinic_settings.change(clinic, SYSTEM, first)
        print(
            f"Clinic time zone: {clinic.settings.timezone}  (change: hms clinic set timezone ZONE)"
        )


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("No password on standard input.", field="password")
        accounts.check_password_strength(password)
        return password
    try:
        password = getpass.getpass("Password: ")
        accounts.check_password_strength(password)
        repeated = getpass.getpass("Repeat password: ")
    except EOFError:  # Ctrl-D, or a script with nothing on standard input
        raise ValidationError(
            "No password given; nothing was created (in scripts, use --password-stdin).",
            field="password",
        ) from None
    if repeated != password:
        raise ValidationError("The passwords do not match; nothing was created.", field="password")
    return password


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create an account, optionally linked to an existing doctor or patient record."""
    if args.doctor is not None and args.role != "doctor":
        raise ValidationError("--doctor links a doctor's account; use it with --role doctor.")
    if args.patient is not None and args.role != "patient":
        raise ValidationError("--patient links a patient's account; use it with --role patient.")
    with _clinic(args) as clinic:
        password = _read_password(args)
        with clinic.db.write() as session:
            user = accounts.add_user(session, args.username, password, args.role)
            linked = ""
            for record_id, label in ((args.doctor, "doctor"), (args.patient, "patient")):
                if record_id is None:
                    continue
                record: Doctor | Patient | None = (
                    session.get(Doctor, record_id)
                    if label == "doctor"
                    else session.get(Patient, record_id)
                )
                if record is None:
                    raise NotFoundError(f"There is no {label} with id {record_id}.")
                if record.user_id is not None:
                    raise ValidationError(
                        f"{record.full_name} ({label} {record_id}) has a log-in account already."
                    )
                record.user_id = user.id
                linked = f" for {label} {record_id} ({record.full_name})"
            audit.record(
                session, SYSTEM, "user.create", "user", user.id, role=args.role, linked=linked
            )
            user_id, username = user.id, user.username
    print(f"Created {args.role} account {username!r} (user id {user_id}){linked}.")
    if args.role in ("doctor", "patient") and not linked:
        option = "--doctor" if args.role == "doctor" else "--patient"
        print(
            f"Note: it is not linked to a {args.role} record, so it sees no {args.role}'s data; "
            f"create accounts with {option} ID to link one."
        )
    return 0


# --- demo data ---------------------------------------------------------------------------


def _progress_printer() -> demo_data.Progress | None:
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}   ", end="", file=sys.stderr, flush=True)

    return show


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Fill the database with a demo clinic and print what was made and how to log in."""
    # Checked before the database is created: a typo must not leave an empty clinic file.
    demo_data.check_args(args.doctors, args.patients, args.appointments, args.days_back)
    with _clinic(args, create=True) as clinic:
        summary = demo_data.generate(
            clinic,
            seed=args.seed,
            doctors=args.doctors,
            patients=args.patients,
            appointments=args.appointments,
            days_back=args.days_back,
            append=args.append,
            demo_accounts=args.demo_accounts,
            progress=_progress_printer(),
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        _print_json(to_json(summary))
        return 0
    s = summary
    statuses = ", ".join(f"{n} {booking.STATUS_LABELS[k].lower()}" for k, n in s.by_status.items())
    print(f"Demo clinic written to {s.database} (seed {s.seed}) in {s.seconds:.1f} s:")
    print(f"  {s.departments} new departments, {s.doctors} doctors, {s.patients} patients")
    print(f"  {s.availability_windows} weekly hours windows")
    print(f"  {s.appointments} appointments {s.first_day} to {s.last_day}: {statuses}")
    print(f"  {s.treatments} treatments on the completed visits")
    if s.password == demo_data.DEMO_PASSWORD:
        print(f"Demo log-ins, all with the password {s.password!r}:")
    else:  # a clinic with real accounts: a password of its own, not stored anywhere else
        print(f"Demo log-ins, all with the new password {s.password!r} (note it: shown once):")
    print(format_table(["User name", "Role", "Name"], [_account_cells(a) for a in s.accounts]))
    return 0


def _account_cells(account: demo_data.DemoAccount) -> list[str]:
    return list(asdict(account).values())


# --- lists, slots, booking ---------------------------------------------------------------


def _day(value: str | None, option: str) -> date | None:
    return None if value is None else parse_day(value, option)


def _statuses(values: list[str] | None) -> tuple[str, ...]:
    found: list[str] = []
    for value in values or []:
        for part in value.split(","):
            status = part.strip().lower().replace("-", "_")
            if status not in STATUSES:
                raise ValidationError(
                    f"Unknown status {part.strip()!r}; use booked, completed, cancelled or no-show."
                )
            found.append(status)
    return tuple(found)


def _only(args: argparse.Namespace, allowed: set[str]) -> None:
    options = {
        "date": "--date", "date_from": "--from", "date_to": "--to", "doctor": "--doctor",
        "patient": "--patient", "status": "--status", "search": "--search",
    }  # fmt: skip
    for attr, flag in options.items():
        if attr not in allowed and getattr(args, attr) is not None:
            raise ValidationError(f"{flag} does not apply to 'hms list {args.kind}'.")


def cmd_list(args: argparse.Namespace) -> int:
    """Print doctors, patients or appointments as a table or a JSON array."""
    if args.limit is not None and args.limit < 0:
        raise ValidationError("--limit must not be negative.")
    with _clinic(args) as clinic:
        if args.kind == "doctors":
            _only(args, {"doctor"})
            rows: list[Any] = (
                [doctor_service.get_doctor(clinic, args.doctor)]
                if args.doctor is not None
                else doctor_service.list_doctors(clinic)
            )
            headers = ["ID", "Name", "Department", "Qualification", "Phone", "Email", "Status"]

            def cells(r: Any) -> list[Any]:
                status = "blacklisted" if r.blacklisted else "active"
                return [r.id, r.full_name, r.department, r.qualification, r.phone, r.email, status]

        elif args.kind == "patients":
            _only(args, {"patient", "search"})
            rows = _patients(clinic, args)
            headers = ["ID", "Name", "Born", "Phone", "Email"]

            def cells(r: Any) -> list[Any]:
                return [r.id, r.full_name, r.date_of_birth, r.phone, r.email]

        else:
            _only(args, {"date", "date_from", "date_to", "doctor", "patient", "status"})
            rows = booking.list_appointments(clinic, SYSTEM, _filter(args), limit=args.limit)
            headers = ["ID", "Date", "Time", "Doctor", "Patient", "Visit type", "Status"]

            def cells(r: Any) -> list[Any]:
                until = f"-{r.end_time:%H:%M}" if r.end_time else ""
                return [
                    r.id,
                    r.date,
                    f"{r.time:%H:%M}{until}",
                    r.doctor,
                    f"{r.patient} (#{r.patient_id})",
                    booking.VISIT_LABELS.get(r.visit_type, r.visit_type),
                    booking.STATUS_LABELS.get(r.status, r.status),
                ]

    rows = rows[: args.limit] if args.limit is not None else rows
    if args.json:
        _print_json([to_json(r) for r in rows])
    else:
        print(format_table(headers, [cells(r) for r in rows]))
    return 0


def _filter(args: argparse.Namespace) -> booking.AppointmentFilter:
    day = _day(args.date, "date")
    if day is not None and (args.date_from or args.date_to):
        raise ValidationError("Use --date for one day, or --from/--to for a range, not both.")
    date_from, date_to = (
        (day, day) if day else (_day(args.date_from, "from"), _day(args.date_to, "to"))
    )
    if date_from and date_to and date_from > date_to:
        raise ValidationError(f"--from {date_from} is after --to {date_to}.")
    return booking.AppointmentFilter(
        date_from=date_from,
        date_to=date_to,
        doctor_id=args.doctor,
        patient_id=args.patient,
        statuses=_statuses(args.status),
    )


def _patients(clinic: Clinic, args: argparse.Namespace) -> list[Any]:
    if args.patient is not None:
        return [patient_service.get_patient(clinic, SYSTEM, args.patient)]
    found: list[Any] = []
    while args.limit is None or len(found) < args.limit:
        page = patient_service.search_patients(
            clinic, SYSTEM, args.search or "", limit=_PAGE, offset=len(found)
        )
        found += page
        if len(page) < _PAGE:
            break
    return found


def cmd_slots(args: argparse.Namespace) -> int:
    """Print a doctor's free slots on one day, or on every day up to the booking horizon."""
    day = _day(args.date, "date")
    with _clinic(args) as clinic:
        slots = availability.free_slots(clinic, args.doctor, day)
    if args.json:
        _print_json([to_json(s) for s in slots])
    elif not slots:
        when = f"on {day}" if day else "up to the booking horizon"
        print(f"Doctor {args.doctor} has no free slots {when}.")
    else:
        print(
            format_table(
                ["Date", "Time", "Until"],
                [[s.date, f"{s.time:%H:%M}", f"{s.end_time:%H:%M}"] for s in slots],
            )
        )
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    """Book a slot and print only the new appointment's id (for scripts)."""
    day, at = parse_day(args.date, "date"), parse_time(args.time, "time")
    visit_type = args.visit_type.strip().lower().replace("-", "_")
    if args.repeat:
        from hms_desktop.cli.schedule import book_repeating  # imports this module

        return book_repeating(args, visit_type)
    with _clinic(args) as clinic:
        new_id = booking.book(
            clinic,
            SYSTEM,
            patient_id=args.patient,
            doctor_id=args.doctor,
            day=day,
            at=at,
            visit_type=visit_type,
            reason=args.reason,
            minutes=args.minutes,
        )
    print(new_id)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        booking.cancel(clinic, SYSTEM, args.appointment_id)
    print(f"Appointment {args.appointment_id} is cancelled.")
    return 0


def cmd_complete(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        try:
            booking.complete(clinic, SYSTEM, args.appointment_id, early_close=args.early)
        except ValidationError as err:
            if args.early or "has not begun" not in str(err):
                raise
            # The service's words are for a dialog's confirm; here the confirm is a flag.
            raise ValidationError(
                str(err).split(" Close it early")[0]
                + f" If the patient was seen, run: hms complete --early {args.appointment_id}",
                field=err.field,
            ) from None
    print(f"Appointment {args.appointment_id} is completed.")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Counts for scripts and a quick look: doctors, patients, appointments, today, by status."""
    with _clinic(args) as clinic:
        stats = compute_stats(clinic)
    data = {
        "today": stats.today.isoformat(),
        "doctors": stats.doctors,
        "patients": stats.patients,
        "appointments": stats.appointments,
        "today_appointments": stats.today_appointments,
        "by_status": stats.by_status,
        "today_by_status": stats.today_by_status,
    }
    if args.json:
        _print_json(data)
        return 0
    print(f"Doctors: {stats.doctors}")
    print(f"Patients: {stats.patients}")
    print(f"Appointments: {stats.appointments}")
    print(f"Today ({stats.today}): {stats.today_appointments}")
    print(
        format_table(
            ["Status", "All", "Today"],
            [
                [booking.STATUS_LABELS[k], n, stats.today_by_status.get(k, 0)]
                for k, n in stats.by_status.items()
            ],
        )
    )
    return 0
