"""A deterministic, realistic demo clinic, written with bulk inserts.

The same seed on the same clinic day gives the same rows: every random choice
comes from ``random.Random`` streams seeded from ``seed``, ids are assigned here,
and every timestamp is derived from the clinic clock. Rows go in with
``session.execute(insert(Model), [dicts])`` in chunks inside ONE write
transaction, so a failed or cancelled run leaves nothing behind, and a million
appointments take minutes, not hours. The password hash is computed once and
shared by every demo account (argon2 is slow on purpose).

The generated data keeps every invariant the services enforce: one live
appointment per doctor slot and per patient time, treatments only on completed
visits, start times on the ``settings.slot_minutes`` grid, future bookings inside
the doctors' weekly hours (bookable up to the clinic's horizon).

The inputs (names, departments, clinical texts) are the files in ``data/``.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import random
import re
import secrets
import time as _time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import (
    Appointment,
    Base,
    Department,
    Doctor,
    Patient,
    PatientNameWord,
    Treatment,
    User,
    WeeklyHours,
)
from hms_desktop.errors import ConflictError, ValidationError
from hms_desktop.resources_path import bundled_dir
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import TOPICS, Clinic
from hms_desktop.services.people.accounts import hash_password, password_matches
from hms_desktop.services.people.validation import fold, name_keys, name_words, phone_digits
from hms_desktop.services.safety import audit

#: The one password of every demo account (documented in the README and printed by the CLI).
DEMO_PASSWORD = "demo-clinic-2026"
DEFAULT_DAYS_BACK = 90
#: Where the generator's inputs live: ``data/`` beside the package (a checkout, an
#: editable install, or the frozen app's bundle folder).
#: Where the generator's word lists live (``data/`` beside the package, or in the bundle).
DATA_DIR_NAME = "data"
#: Rows per INSERT batch: large enough to amortise, small enough to keep memory flat.
CHUNK = 5000
#: Fraction of a doctor's slots booked, by days from today (0 = today).
FUTURE_FILL = (0.85, 0.7, 0.55, 0.45, 0.35, 0.3, 0.25)
#: The demo books the coming week; the weekly hours stay open up to the horizon.
BOOKED_DAYS_AHEAD = len(FUTURE_FILL)
PAST_FILL = 0.65
#: A booking never takes more of a doctor's hours than this (explicit --appointments).
MAX_FILL = 0.95
DOCTOR_ACCOUNTS = 5
PATIENT_ACCOUNTS = 3
VISIT_WEIGHTS = {
    "consultation": 45,
    "follow_up": 25,
    "check_up": 18,
    "procedure": 7,
    "emergency": 5,
}
_ASCII = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "đ": "d", "ı": "i", "ß": "ss", "œ": "oe"})
_SURNAME_FIRST = frozenset({"zh", "ja"})
_NOT_LOGIN = re.compile(r"[^a-z0-9-]")

#: ``progress(stage, done, total)``; it may raise to cancel (everything is rolled back).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    full_name: str = ""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate` wrote (counts are of new rows only)."""

    seed: int
    database: str
    departments: int
    doctors: int
    patients: int
    availability_windows: int
    appointments: int
    treatments: int
    by_status: dict[str, int]
    first_day: date
    last_day: date
    accounts: list[DemoAccount]
    password: str
    seconds: float


@dataclass(frozen=True)
class DemoInputs:
    """The generator's word lists, read from ``data/``."""

    origins: list[str]
    origin_weights: list[float]
    first_names: dict[str, list[tuple[str, str]]]
    last_names: dict[str, list[str]]
    departments: list[dict[str, Any]]
    streets: list[str]
    postcodes: list[str]
    notes: list[str]


def _lines(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]


def load_inputs(folder: Path | None = None) -> DemoInputs:
    """Read the generator's inputs.

    Raises:
        ValidationError: the folder or one of its files is missing or malformed.
    """
    base = folder or bundled_dir(DATA_DIR_NAME)
    try:
        with (base / "origins.csv").open(encoding="utf-8", newline="") as fh:
            origins = [(r["origin"], float(r["weight"])) for r in csv.DictReader(fh)]
        first: dict[str, list[tuple[str, str]]] = {}
        with (base / "first_names.csv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                first.setdefault(r["origin"], []).append((r["name"], r["gender"]))
        last: dict[str, list[str]] = {}
        with (base / "last_names.csv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                last.setdefault(r["origin"], []).append(r["name"])
        departments = json.loads((base / "departments.json").read_text(encoding="utf-8"))
        inputs = DemoInputs(
            origins=[o for o, _ in origins if o in first and o in last],
            origin_weights=[w for o, w in origins if o in first and o in last],
            first_names=first,
            last_names=last,
            departments=departments,
            streets=_lines(base / "streets.txt"),
            postcodes=_lines(base / "postcodes.txt"),
            notes=_lines(base / "visit_notes.txt"),
        )
    except (OSError, ValueError, KeyError) as err:
        raise ValidationError(
            f"The demo data inputs in {base} cannot be read ({err}); reinstall HMS Desktop."
        ) from None
    if (
        not inputs.origins
        or not inputs.departments
        or not all(d.get("cases") for d in inputs.departments)
    ):
        raise ValidationError(f"The demo data inputs in {base} are incomplete.")
    return inputs


@cache
def _login_part(text: str) -> str:
    """ASCII for a user name or email ("Łęcka" -> "lecka"; non-Latin scripts -> "")."""
    return _NOT_LOGIN.sub("", fold(text).translate(_ASCII).replace(" ", "-"))


@cache
def _hhmm(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _align(minute: int, step: int) -> int:
    return math.ceil(minute / step) * step


def _weekly_template(
    rng: random.Random, step: int, *, on_call: bool = False
) -> dict[int, list[tuple[int, int]]]:
    """Working windows per weekday (0 = Monday) in minutes, starting on the slot grid.

    The ``on_call`` doctor also sees patients on weekend mornings, so the demo has
    bookings today whatever the day.
    """
    days = [0, 1, 2, 3, 4]
    if rng.random() < 0.25 and not on_call:
        days.remove(rng.choice(days))  # a four-day week
    short_day = rng.choice(days)  # one weekday with mornings only
    if on_call:
        days += [5, 6]
    elif rng.random() < 0.2:
        days.append(5)  # Saturday morning surgery
    morning_start = _align(rng.choice((480, 510, 540)), step)
    morning_len, afternoon_len = rng.choice((180, 210, 240)), rng.choice((150, 180, 210, 240))
    template: dict[int, list[tuple[int, int]]] = {}
    for day in days:
        morning = (morning_start, morning_start + max(1, round(morning_len / step)) * step)
        windows = [morning]
        if day not in (5, 6, short_day):
            start = _align(morning[1] + 60, step)
            windows.append((start, start + max(1, round(afternoon_len / step)) * step))
        # A time column cannot hold 24:00: keep windows that end by 23:00.
        template[day] = [w for w in windows if w[1] <= 23 * 60]
    return template


def _spread(
    rng: random.Random, weights: Sequence[float], caps: Sequence[int], total: int
) -> list[int]:
    """Split ``total`` over buckets roughly by weight, with jitter, never above a cap."""
    weight_sum = sum(weights) or 1.0
    counts = [
        min(cap, int(total * w / weight_sum * rng.uniform(0.75, 1.25)))
        for w, cap in zip(weights, caps, strict=True)
    ]
    diff, n = total - sum(counts), len(counts)
    while diff > 0:
        i = rng.randrange(n)
        if counts[i] < caps[i]:
            counts[i] += 1
            diff -= 1
    while diff < 0:
        i = rng.randrange(n)
        if counts[i] > 0:
            counts[i] -= 1
            diff += 1
    return counts


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])


def _next_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1


def check_args(doctors: int, patients: int, appointments: int | None, days_back: int) -> None:
    """Refuse counts out of range (before any database is created for them)."""
    if not 1 <= doctors <= 10_000:
        raise ValidationError("The number of doctors must be 1 to 10000.", field="doctors")
    if not 1 <= patients <= 10_000_000:
        raise ValidationError("The number of patients must be 1 to 10000000.", field="patients")
    if appointments is not None and appointments < 0:
        raise ValidationError("The number of appointments must not be negative.")
    if not 0 <= days_back <= 3700:
        raise ValidationError("Days back must be 0 to 3700 (about ten years).", field="days_back")


@dataclass
class _Doc:
    id: int
    name: str
    first: str
    surname: str
    department: int  # index into the inputs' departments
    template: dict[int, list[tuple[int, int]]]
    user_id: int | None = None
    slots: dict[int, list[int]] = field(default_factory=dict)  # weekday -> slot minutes


class _Generator:
    def __init__(self, clinic: Clinic, seed: int, inputs: DemoInputs, progress: Progress | None):
        self.clinic, self.seed, self.inputs = clinic, seed, inputs
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.step = clinic.settings.slot_minutes
        now = clinic.now()
        self.tz = now.tzinfo
        self.now = now.replace(tzinfo=None, second=0, microsecond=0)
        self.today = now.date()

    def rng(self, stream: str) -> random.Random:
        # String seeds hash with SHA-512: stable across runs and PYTHONHASHSEED.
        return random.Random(f"hms-demo:{self.seed}:{stream}")

    def utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def person(self, rng: random.Random) -> tuple[str, str, str, str]:
        """(first name, surname, gender, full name); Chinese and Japanese names surname first."""
        origin = rng.choices(self.inputs.origins, self.inputs.origin_weights)[0]
        first, gender = rng.choice(self.inputs.first_names[origin])
        last = rng.choice(self.inputs.last_names[origin])
        return (
            first,
            last,
            gender,
            f"{last}{first}" if origin in _SURNAME_FIRST else f"{first} {last}",
        )


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{n}"
    taken.add(candidate)
    return candidate


def generate(
    clinic: Clinic,
    *,
    seed: int,
    doctors: int,
    patients: int,
    appointments: int | None = None,
    days_back: int = DEFAULT_DAYS_BACK,
    append: bool = False,
    demo_accounts: bool = False,
    progress: Progress | None = None,
    inputs: DemoInputs | None = None,
) -> DemoSummary:
    """Fill the clinic with a demo practice, in one transaction.

    Args:
        seed: the same seed on the same clinic day gives the same rows.
        doctors, patients: how many to create.
        appointments: how many appointments in all (past and the coming week);
            None picks a realistic number from the doctors' hours. Fewer are made
            only when there are too few patients to fill concurrent slots.
        days_back: how many days of past visits to create before today.
        append: add to a clinic that already holds patients (new doctors, patients
            and their appointments only; existing rows are left alone).
        demo_accounts: the clinic has real accounts (users whose password is not the
            published demo password) and demo log-ins may still be added: they get a
            new random password (``summary.password``, shown once), never the published one.
        progress: called as ``progress(stage, done, total)``; raise from it to cancel.

    Raises:
        ConflictError: the clinic already holds patients and ``append`` is false, or it
            has real accounts and ``demo_accounts`` is false.
        ValidationError: a count out of range, or more appointments than the
            doctors' hours can hold.
    """
    check_args(doctors, patients, appointments, days_back)
    started = _time.perf_counter()
    gen = _Generator(clinic, seed, inputs or load_inputs(), progress)
    with clinic.db.write() as session:
        existing = int(session.scalar(select(func.count()).select_from(Patient)) or 0)
        if existing and not append:
            raise ConflictError(
                f"The database {clinic.db.display_location} already holds {existing} patients; "
                "demo data goes into an empty clinic. Use a new database, or add --append."
            )
        real = real_accounts(session)
        if real and not demo_accounts:
            shown = ", ".join(real[:3]) + (f" and {len(real) - 3} more" if len(real) > 3 else "")
            raise ConflictError(
                f"The database {clinic.db.display_location} has real accounts ({shown}); demo "
                "log-ins with a published password must not be added there. Use a new "
                "database, or add --demo-accounts (they then get a new password, shown once)."
            )
        # A clinic with real accounts never gets the published password: anyone who has
        # read the README could sign in as its demo "reception".
        password = secrets.token_urlsafe(12) if real else DEMO_PASSWORD
        password_hash = hash_password(password)  # once: argon2 is slow by design
        summary = _fill(session, gen, password_hash, doctors, patients, appointments, days_back)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            _advance_sequences(session)
        audit.record(
            session,
            SYSTEM,
            "demo_data.generate",
            "clinic",
            seed=seed,
            doctors=doctors,
            patients=patients,
            appointments=summary["appointments"],
        )
    for topic in TOPICS:
        clinic.changes.notify(topic)
    return DemoSummary(
        seed=seed,
        database=clinic.db.display_location,
        password=password,
        seconds=round(_time.perf_counter() - started, 3),
        **summary,
    )


def real_accounts(session: Session) -> list[str]:
    """The user names whose password is not the published demo password (sorted).

    Demo accounts of one run share one hash, so each distinct hash is checked once.
    """
    by_hash: dict[str, list[str]] = {}
    for username, stored in session.execute(select(User.username, User.password_hash)):
        by_hash.setdefault(stored or "", []).append(username)
    real = [
        name
        for stored, names in by_hash.items()
        if not (stored and password_matches(stored, DEMO_PASSWORD))
        for name in names
    ]
    return sorted(real)


def _advance_sequences(session: Session) -> None:
    """Explicit ids bypass PostgreSQL's sequences: move them past the new rows."""
    for model in (User, Department, Doctor, Patient, WeeklyHours, Appointment, Treatment):
        table = model.__table__.name  # type: ignore[attr-defined]
        session.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table, "id"),
                    select(func.coalesce(func.max(model.id), 0) + 1).scalar_subquery(),
                    False,
                )
            )
        )


def _fill(
    session: Session,
    gen: _Generator,
    password_hash: str,
    n_doctors: int,
    n_patients: int,
    n_appointments: int | None,
    days_back: int,
) -> dict[str, Any]:
    inputs = gen.inputs
    created = gen.utc(gen.now - timedelta(days=days_back + 30))

    # Departments: reuse existing ones of the same name (append mode).
    n_depts = min(len(inputs.departments), max(1, math.ceil(n_doctors / 2)))
    known = {name: id_ for name, id_ in session.execute(select(Department.name, Department.id))}
    dept_ids, new_depts = [], []
    next_dept = _next_id(session, Department)
    for spec in inputs.departments[:n_depts]:
        if spec["name"] not in known:
            known[spec["name"]] = next_dept
            new_depts.append(
                {"id": next_dept, "name": spec["name"], "description": spec["description"]}
            )
            next_dept += 1
        dept_ids.append(known[spec["name"]])
    _insert(session, Department, new_depts)

    # Doctors, with a weekly timetable on the slot grid.
    rng = gen.rng("doctors")
    first_doctor = _next_id(session, Doctor)
    docs = []
    for i in range(n_doctors):
        first, last, _gender, full_name = gen.person(rng)
        doc = _Doc(
            first_doctor + i,
            f"Dr. {full_name}",
            first,
            last,
            i % n_depts,
            _weekly_template(rng, gen.step, on_call=i == 0),
        )
        doc.slots = {
            wd: [m for s, e in windows for m in range(s, e - gen.step + 1, gen.step)]
            for wd, windows in doc.template.items()
        }
        docs.append(doc)

    # Demo log-ins: admin, the front desk, a few doctors and a few patients.
    taken = set(session.scalars(select(User.username)))
    next_user = _next_id(session, User)
    users: list[dict[str, Any]] = []
    accounts: list[DemoAccount] = []

    def account(username: str, role: str, full_name: str, *, fixed: bool = False) -> int | None:
        nonlocal next_user
        if fixed and username in taken:
            return None  # the clinic has its own admin/desk account already
        name = _unique(username, taken)
        users.append(
            {
                "id": next_user,
                "username": name,
                "password_hash": password_hash,
                "role": role,
                "is_active": True,
                "failed_logins": 0,
                "created_at": created,
            }
        )
        accounts.append(DemoAccount(name, role, full_name))
        next_user += 1
        return next_user - 1

    account("admin", "admin", "Clinic administrator", fixed=True)
    account("reception", "receptionist", "Front desk", fixed=True)
    for doc in [d for d in docs if _login_part(d.surname)][:DOCTOR_ACCOUNTS]:
        doc.user_id = account(f"dr.{_login_part(doc.surname)}", "doctor", doc.name)

    patients_gen = _patients(gen, n_patients, _next_id(session, Patient), created, days_back)
    first_chunk = next(patients_gen)
    for row in [r for r in first_chunk if r["_login"]][:PATIENT_ACCOUNTS]:
        row["user_id"] = account(row["_login"], "patient", row["full_name"])
    _insert(session, User, users)
    _insert(session, Doctor, [_doctor_row(gen, d, dept_ids, inputs, created) for d in docs])

    children: list[int] = []
    women: list[int] = []
    done = 0
    chunk: list[dict[str, Any]] | None = first_chunk
    while chunk is not None:
        for row in chunk:
            row.pop("_login", None)
            age_days = (gen.today - row["date_of_birth"]).days
            if age_days < 18 * 365:
                children.append(row["id"])
            elif row["gender"] == "female":
                women.append(row["id"])
        _insert(session, Patient, chunk)
        # The words the search's word way finds them by, as the patients service writes
        # them for a patient registered at the desk.
        _insert(
            session,
            PatientNameWord,
            [
                {"word_key": word, "name_key": row["name_key"], "patient_id": row["id"]}
                for row in chunk
                for word in name_words(row["name_key"], row["surname_key"])
            ],
        )
        done += len(chunk)
        gen.progress("patients", done, n_patients)
        chunk = next(patients_gen, None)

    windows = _availability(gen, docs, _next_id(session, WeeklyHours))
    _insert(session, WeeklyHours, windows)
    first_patient = done and first_chunk[0]["id"]
    pools = {"Paediatrics": children, "Gynaecology": women}
    counts = _appointments(
        session, gen, docs, first_patient, n_patients, pools, n_appointments, days_back
    )
    return {
        "departments": len(new_depts),
        "doctors": n_doctors,
        "patients": n_patients,
        "availability_windows": len(windows),
        "accounts": accounts,
        **counts,
    }


def _doctor_row(
    gen: _Generator, doc: _Doc, dept_ids: list[int], inputs: DemoInputs, created: datetime
) -> dict[str, Any]:
    spec = inputs.departments[doc.department]
    quals = spec["qualifications"]
    first, last = _login_part(doc.first), _login_part(doc.surname)
    login = f"{first}.{last}" if first and last else f"doctor{doc.id}"
    return {
        "id": doc.id,
        "user_id": doc.user_id,
        "full_name": doc.name,
        "department_id": dept_ids[doc.department],
        "qualification": quals[doc.id % len(quals)],
        "email": f"{login}@clinic.example",
        "phone": f"+49 30 5550 {100 + doc.id % 900}",
        "blacklisted": False,
        "created_at": created,
    }


def _patients(
    gen: _Generator, n: int, first_id: int, created: datetime, days_back: int
) -> Iterator[list[dict[str, Any]]]:
    """Patient rows in chunks. Everyone was born before their first possible visit."""
    rng, inputs = gen.rng("patients"), gen.inputs
    youngest = days_back + 30
    oldest = 95 * 365
    for start in range(0, n, CHUNK):
        rows = []
        for pid in range(first_id + start, first_id + min(n, start + CHUNK)):
            first, last, gender, name = gen.person(rng)
            key, surname_key = name_keys(name)
            # One in six a child (if the history is short enough to have children in it).
            child = rng.random() < 1 / 6 and youngest < 17 * 365
            age = (
                rng.randint(youngest, 17 * 365)
                if child
                else rng.randint(max(youngest, 18 * 365), oldest)
            )
            phone = f"+49 1{rng.choice('567')}{rng.randint(0, 9)} {rng.randint(1000000, 9999999)}"
            ascii_first, ascii_last = _login_part(first), _login_part(last)
            login = ascii_first and ascii_last and f"{ascii_first}.{ascii_last}"
            if login and rng.random() < 0.4:
                login += str(rng.randint(1, 99))
            email = f"{login}@example.{rng.choice(('com', 'org', 'net'))}" if login else ""
            if not email or rng.random() < 0.1:
                email = "" if rng.random() < 0.5 else f"patient{pid}@example.org"
            rows.append(
                {
                    "id": pid,
                    "user_id": None,
                    "full_name": name,
                    "name_key": key,
                    "surname_key": surname_key,
                    "date_of_birth": gen.today - timedelta(days=age),
                    "gender": gender,
                    "phone": phone,
                    "phone_key": phone_digits(phone),
                    "phone_rev_key": phone_digits(phone)[::-1],
                    "email": email,
                    "address": f"{rng.choice(inputs.streets)} {rng.randint(1, 140)}, "
                    f"{rng.choice(inputs.postcodes)}",
                    "reminders_opt_out": rng.random() < 0.05,
                    "blacklisted": False,
                    "created_at": created + timedelta(minutes=pid % 10_000),
                    # A patient account for an adult with a Latin-script name and an email.
                    "_login": f"{ascii_first}.{ascii_last}"
                    if email and login and not child
                    else "",
                }
            )
        yield rows


def _availability(gen: _Generator, docs: list[_Doc], next_id: int) -> list[dict[str, Any]]:
    """Each doctor's weekly hours (every date up to the horizon follows them)."""
    rows = []
    for doc in docs:
        for weekday, windows in sorted(doc.template.items()):
            for start, end in windows:
                rows.append(
                    {
                        "id": next_id,
                        "doctor_id": doc.id,
                        "weekday": weekday,
                        "start_time": _hhmm(start),
                        "end_time": _hhmm(end),
                        "slot_minutes": gen.step,
                    }
                )
                next_id += 1
    return rows


def _appointments(
    session: Session,
    gen: _Generator,
    docs: list[_Doc],
    first_patient: int,
    n_patients: int,
    pools: dict[str, list[int]],
    wanted: int | None,
    days_back: int,
) -> dict[str, Any]:
    """Past visits and the coming week's bookings, written day by day in chunks."""
    rng, step, now, today = gen.rng("appointments"), gen.step, gen.now, gen.today
    past = [today - timedelta(days=i) for i in range(days_back, 0, -1)]
    coming = [today + timedelta(days=i) for i in range(BOOKED_DAYS_AHEAD)]
    past_cells = [(d, doc) for d in past for doc in docs if doc.slots.get(d.weekday())]
    future_cells = [(d, doc) for d in coming for doc in docs if doc.slots.get(d.weekday())]
    past_caps = [len(doc.slots[d.weekday()]) for d, doc in past_cells]
    future_caps = [len(doc.slots[d.weekday()]) for d, doc in future_cells]
    future_weights = [
        c * FUTURE_FILL[(d - today).days]
        for c, (d, _) in zip(future_caps, future_cells, strict=True)
    ]
    auto_past, auto_future = round(sum(past_caps) * PAST_FILL), round(sum(future_weights))
    if wanted is None:
        past_quota, future_quota = auto_past, auto_future
    else:
        past_room, future_room = int(sum(past_caps) * MAX_FILL), int(sum(future_caps) * MAX_FILL)
        if wanted > past_room + future_room:
            raise ValidationError(
                f"{wanted} appointments do not fit into the hours of {len(docs)} doctors over "
                f"{days_back} days back and the coming week (at most {past_room + future_room}). "
                "Add doctors or days back.",
                field="appointments",
            )
        share = auto_future / ((auto_past + auto_future) or 1)
        future_quota = min(future_room, round(wanted * share))
        past_quota = wanted - future_quota
        if past_quota > past_room:
            future_quota, past_quota = future_quota + past_quota - past_room, past_room
    plan = list(
        zip(
            past_cells + future_cells,
            _spread(rng, past_caps, past_caps, past_quota)
            + _spread(rng, future_weights, future_caps, future_quota),
            strict=True,
        )
    )
    total = past_quota + future_quota
    depts = gen.inputs.departments
    notes = gen.inputs.notes
    visit_types = list(VISIT_WEIGHTS)
    cum_weights = list(itertools.accumulate(VISIT_WEIGHTS.values()))
    next_appt, next_treat = _next_id(session, Appointment), _next_id(session, Treatment)
    by_status = {"booked": 0, "completed": 0, "cancelled": 0, "no_show": 0}
    appts: list[dict[str, Any]] = []
    treats: list[dict[str, Any]] = []
    busy: set[int] = set()
    current_day: date | None = None
    made = 0
    days_seen: list[date] = []

    def flush() -> None:
        _insert(session, Appointment, appts)
        _insert(session, Treatment, treats)
        appts.clear()
        treats.clear()
        gen.progress("appointments", made, total)

    def status_for(visit: datetime, day: date, *, live: bool = False) -> str:
        while True:
            r = rng.random()
            if visit + timedelta(minutes=step) <= now:
                if day < today:
                    status = "completed" if r < 0.80 else "no_show" if r < 0.87 else "cancelled"
                else:  # earlier today: some visits are not closed yet
                    status = (
                        "completed"
                        if r < 0.6
                        else "booked"
                        if r < 0.9
                        else ("no_show" if r < 0.93 else "cancelled")
                    )
            else:
                status = "booked" if r < 0.93 else "cancelled"
            if not (live and status == "cancelled"):
                return status

    for (day, doc), k in plan:
        if day != current_day:
            current_day, busy = day, set()
            days_seen.append(day)
        if not k:
            continue
        pool = pools.get(depts[doc.department]["name"]) or None
        cases = depts[doc.department]["cases"]
        queue = sorted(rng.sample(doc.slots[day.weekday()], k))
        i = 0
        rebook_at: datetime | None = None
        while i < len(queue):
            minute = queue[i]
            visit = datetime.combine(day, _hhmm(minute))
            for _ in range(20):
                pid = (
                    pool[rng.randrange(len(pool))]
                    if pool
                    else first_patient + rng.randrange(n_patients)
                )
                if pid * 1440 + minute not in busy:
                    break
            else:
                i += 1  # everyone asked is busy at this time: leave the slot free
                rebook_at = None
                continue
            busy.add(pid * 1440 + minute)
            if rebook_at is None:
                created = visit - timedelta(days=rng.randint(1, 28), minutes=rng.randint(0, 600))
                if created >= now:
                    created = now - timedelta(minutes=rng.randint(5, 600))
                status = status_for(visit, day)
            else:  # a replacement booked into a cancelled slot
                created = rebook_at + (min(visit, now) - rebook_at) * rng.random()
                status = status_for(visit, day, live=True)
            changed: datetime | None = None
            if status in ("completed", "no_show"):
                changed = min(now, visit + timedelta(minutes=step + rng.randint(0, 20)))
            elif status == "cancelled":
                changed = created + (min(visit, now) - created) * rng.random()
            case = rng.choice(cases)
            appt_id = next_appt
            next_appt += 1
            created_utc = gen.utc(created)
            changed_utc = gen.utc(changed) if changed else None
            appts.append(
                {
                    "id": appt_id,
                    "doctor_id": doc.id,
                    "patient_id": pid,
                    "day": day,
                    "start_time": _hhmm(minute),
                    "end_time": _hhmm(minute + gen.step),
                    "visit_type": rng.choices(visit_types, cum_weights=cum_weights)[0],
                    "reason": case["symptoms"],
                    "status": status,
                    "created_at": created_utc,
                    "updated_at": changed_utc or created_utc,
                    "status_changed_at": changed_utc,
                }
            )
            if status == "completed":
                assert changed_utc is not None
                treats.append(
                    {
                        "id": next_treat,
                        "appointment_id": appt_id,
                        "symptoms": case["symptoms"],
                        "diagnosis": case["diagnosis"],
                        "treatment_given": case["treatment_given"],
                        "prescription": case["prescription"],
                        "notes": rng.choice(notes) if rng.random() < 0.3 else "",
                        "recorded_by": doc.user_id,
                        "created_at": changed_utc,
                        "updated_at": changed_utc,
                    }
                )
                next_treat += 1
            by_status[status] += 1
            made += 1
            # A cancelled slot is often rebooked: the last planned visit of the day moves in.
            if status == "cancelled" and i + 1 < len(queue) and rng.random() < 0.3:
                queue.pop()
                rebook_at = changed
            else:
                i += 1
                rebook_at = None
            if len(appts) >= CHUNK:
                flush()
    flush()
    first_day = days_seen[0] if days_seen else today
    return {
        "appointments": made,
        "treatments": by_status["completed"],
        "by_status": by_status,
        "first_day": first_day,
        "last_day": coming[-1],
    }
