"""The demo clinic: deterministic, realistic, and it keeps every invariant, on both databases."""

from __future__ import annotations

import json
import time as _time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.db.models import Appointment, Department, Doctor, Patient, PatientNameWord
from hms_desktop.errors import (
    AuthenticationError,
    ConflictError,
    OperationCancelledError,
    ValidationError,
)
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.people import accounts
from hms_desktop.services.people import patients as patient_service
from hms_desktop.services.people.validation import fold, name_keys, name_words
from hms_desktop.services.scheduling import availability
from tests.cli.conftest import Run, table_rows
from tests.conftest import START, make_clinic

TABLES = (
    "users",
    "departments",
    "doctors",
    "patients",
    "weekly_hours",
    "availability",
    "appointments",
    "treatments",
)


def _scalar(url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def assert_invariants(clinic: Clinic, url: str) -> None:
    """Every rule the services enforce holds for the generated rows."""
    today, now = clinic.today(), clinic.now().replace(tzinfo=None)
    step = clinic.settings.slot_minutes
    live = "status <> 'cancelled'"
    for who in ("doctor_id", "patient_id"):
        clashes = _scalar(
            url,
            f"SELECT count(*) FROM (SELECT {who}, day, start_time FROM appointments "  # noqa: S608
            f"WHERE {live} GROUP BY {who}, day, start_time HAVING count(*) > 1) AS c",
        )
        assert clashes == 0, f"two live appointments share a {who} slot"
    wrong = _scalar(
        url,
        "SELECT count(*) FROM treatments t JOIN appointments a ON a.id = t.appointment_id "
        "WHERE a.status <> 'completed'",
    )
    assert wrong == 0, "a treatment on a visit that is not completed"
    untreated = _scalar(
        url,
        "SELECT count(*) FROM appointments a LEFT JOIN treatments t ON t.appointment_id = a.id "
        "WHERE a.status = 'completed' AND t.id IS NULL",
    )
    assert untreated == 0, "a completed visit without its treatment"
    born_later = _scalar(
        url,
        "SELECT count(*) FROM appointments a JOIN patients p ON p.id = a.patient_id "
        "WHERE p.date_of_birth >= a.day",
    )
    assert born_later == 0
    horizon = availability.horizon(clinic)
    with clinic.db.read() as session:
        rows = session.execute(
            select(
                Appointment.id,
                Appointment.doctor_id,
                Appointment.day,
                Appointment.start_time,
                Appointment.status,
            )
        ).all()
        assert rows, "no appointments were generated"
        for appt_id, doctor_id, day, start, status in rows:
            minutes = start.hour * 60 + start.minute
            assert minutes % step == 0, f"appointment {appt_id} at {start} is off the slot grid"
            visit = datetime.combine(day, start)
            if status in ("completed", "no_show"):
                assert visit + timedelta(minutes=step) <= now, f"{appt_id} closed before it ended"
            if status == "booked" and day < today:
                raise AssertionError(f"appointment {appt_id} on {day} was never closed")
            if day >= today and status != "cancelled":
                assert day in horizon, f"{appt_id} on {day} is beyond the published week"
                assert availability.offers_slot(session, doctor_id, day, start), (
                    f"appointment {appt_id} ({day} {start}) is outside the doctor's availability"
                )
        # Every patient's keys and name words, as the patients service writes them (the
        # surname way finds "María García López" by "lopez", the word way by "garcia").
        keys = session.execute(
            select(Patient.id, Patient.full_name, Patient.name_key, Patient.surname_key)
        ).all()
        assert [(pid, name_keys(name)) for pid, name, *_ in keys] == [
            (pid, (name_key, surname_key)) for pid, _, name_key, surname_key in keys
        ]
        keys = [(pid, name_key, surname_key) for pid, _, name_key, surname_key in keys]
        expected = {
            (word, name_key, pid)
            for pid, name_key, surname_key in keys
            for word in name_words(name_key, surname_key)
        }
        words = select(
            PatientNameWord.word_key, PatientNameWord.name_key, PatientNameWord.patient_id
        )
        assert set(session.execute(words).tuples()) == expected
    days = {r[2] for r in rows}
    assert today in days, "no appointments today"
    assert any(d > today for d in days), "no bookings in the coming days"
    assert any(d < today for d in days), "no past visits"


def _clinic(url: str, clock: FakeClock | None = None, **settings: Any) -> Clinic:
    return make_clinic(url, clock or FakeClock(START), **settings)


def _fresh_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url


def test_invariants_hold_on_both_databases(database_url: str) -> None:
    clinic = _clinic(database_url)
    try:
        summary = demo_data.generate(clinic, seed=11, doctors=9, patients=400, days_back=45)
        assert_invariants(clinic, database_url)
        counts = {t: _scalar(database_url, f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608
        assert counts["doctors"] == summary.doctors == 9
        assert counts["patients"] == summary.patients == 400
        assert counts["appointments"] == summary.appointments == sum(summary.by_status.values())
        assert counts["treatments"] == summary.treatments == summary.by_status["completed"]
        assert counts["weekly_hours"] == summary.availability_windows > 0
        assert all(
            summary.by_status[s] > 0 for s in ("booked", "completed", "cancelled", "no_show")
        )
        assert summary.first_day == START.date() - timedelta(days=45)
        # Sequences moved past the explicit ids: normal inserts still work afterwards.
        clinic.clock.advance(days=1)  # type: ignore[attr-defined]
        from tests import factories as f

        new_patient = f.patient(clinic, "Zoë Neu")
        assert new_patient == 401
    finally:
        clinic.close()


def test_append_adds_a_second_clinic_and_keeps_invariants(database_url: str) -> None:
    clinic = _clinic(database_url)
    try:
        demo_data.generate(clinic, seed=1, doctors=4, patients=100, days_back=10)
        with pytest.raises(ConflictError, match=r"already holds 100 patients.*--append"):
            demo_data.generate(clinic, seed=2, doctors=4, patients=100, days_back=10)
        second = demo_data.generate(
            clinic, seed=2, doctors=3, patients=50, days_back=10, append=True
        )
        assert_invariants(clinic, database_url)
        assert _scalar(database_url, "SELECT count(*) FROM patients") == 150
        assert _scalar(database_url, "SELECT count(*) FROM doctors") == 7
        # admin and reception exist already: not created twice; doctors' names made unique.
        assert "admin" not in {a.username for a in second.accounts}
        names = [r[0] for r in _rows(database_url, "SELECT username FROM users")]
        assert len(names) == len(set(names))
        assert second.departments == 0  # the same departments, reused by name
    finally:
        clinic.close()


def test_same_seed_same_rows_and_another_seed_differs(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        url = _fresh_sqlite(tmp_path / f"{name}.sqlite3")
        clinic = _clinic(url)
        demo_data.generate(clinic, seed=seed, doctors=6, patients=300, days_back=30)
        clinic.close()
        # Password hashes are salted: the same password, a different hash each run.
        dumps.append({t: table_rows(url, t, skip=("password_hash",)) for t in TABLES})
    assert dumps[0] == dumps[1]
    assert dumps[0]["appointments"] and dumps[0]["treatments"]
    assert dumps[0]["patients"] != dumps[2]["patients"]
    assert dumps[0]["appointments"] != dumps[2]["appointments"]


def test_same_seed_same_rows_on_postgresql_and_sqlite(database_url: str, tmp_path: Path) -> None:
    reference = _fresh_sqlite(tmp_path / "ref.sqlite3")
    for url in (reference, database_url):
        clinic = _clinic(url)
        demo_data.generate(clinic, seed=9, doctors=3, patients=60, days_back=14)
        clinic.close()
    for table in ("patients", "appointments", "treatments"):
        assert table_rows(reference, table) == table_rows(database_url, table), table


def test_realistic_people(sqlite_clinic: Clinic, sqlite_url: str) -> None:
    demo_data.generate(sqlite_clinic, seed=1, doctors=20, patients=2000, days_back=30)
    with sqlite_clinic.db.read() as session:
        patients = session.execute(
            select(Patient.full_name, Patient.name_key, Patient.surname_key, Patient.phone, Patient.phone_key, Patient.email,
                   Patient.date_of_birth, Patient.gender)
        ).all()  # fmt: skip
    names = [p[0] for p in patients]
    assert any(any(ch in "áéíóúñçäöüøåłęşğ" for ch in n) for n in names), "no accented names"
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in n) for n in names), "no Cyrillic names"
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names), "no Chinese names"
    for name, key, surname, phone, phone_key, email, born, gender in patients:
        assert key == fold(name) and surname in key
        assert phone.startswith("+49 1") and phone_key == "".join(c for c in phone if c.isdigit())
        assert email == "" or (email.isascii() and "@example." in email)
        assert date(1920, 1, 1) < born < START.date()
        assert gender in ("female", "male")
    assert len({p[3] for p in patients}) > 1990, "phone numbers should rarely repeat"
    # A double-barrelled surname is found by its second part (the name words).
    hyphenated = sorted(p[0] for p in patients if "-" in p[2])
    assert hyphenated, "no double-barrelled surnames"
    found = patient_service.search_patients(sqlite_clinic, SYSTEM, "hughes", limit=1000)
    assert set(hyphenated) <= {p.full_name for p in found}
    assert sum(1 for p in patients if p[5]) > 1500
    # Children see the paediatrician, and only children.
    with sqlite_clinic.db.read() as session:
        ages = session.scalars(
            select(Patient.date_of_birth)
            .join(Appointment, Appointment.patient_id == Patient.id)
            .join(Doctor, Doctor.id == Appointment.doctor_id)
            .join(Department, Department.id == Doctor.department_id)
            .where(Department.name == "Paediatrics")
        ).all()
    assert ages and all((START.date() - born).days < 18 * 365 for born in ages)


def test_a_clinic_with_real_accounts_gets_demo_log_ins_only_when_asked_and_never_the_published_password(
    clinic: Clinic,
) -> None:
    accounts.create_first_admin(clinic, "boss", "the-real-admin-pw")
    for append in (False, True):
        with pytest.raises(ConflictError, match=r"has real accounts \(boss\).*--demo-accounts"):
            demo_data.generate(clinic, seed=1, doctors=3, patients=30, days_back=5, append=append)
    with clinic.db.read() as session:
        assert session.scalar(select(Patient.id).limit(1)) is None  # nothing was added

    summary = demo_data.generate(
        clinic, seed=1, doctors=3, patients=30, days_back=5, append=True, demo_accounts=True
    )

    assert summary.password != demo_data.DEMO_PASSWORD and len(summary.password) >= 12
    roles = {a.username: a.role for a in summary.accounts}
    assert roles["admin"] == "admin" and roles["reception"] == "receptionist"
    assert accounts.login(clinic, "reception", summary.password).role == "receptionist"
    with pytest.raises(AuthenticationError):
        accounts.login(clinic, "admin", demo_data.DEMO_PASSWORD)
    assert accounts.login(clinic, "boss", "the-real-admin-pw").role == "admin"
    with clinic.db.read() as session:
        assert "boss" in demo_data.real_accounts(session)


def test_appending_to_a_demo_clinic_keeps_the_published_password(sqlite_clinic: Clinic) -> None:
    demo_data.generate(sqlite_clinic, seed=1, doctors=3, patients=30, days_back=5)
    second = demo_data.generate(
        sqlite_clinic, seed=2, doctors=2, patients=10, days_back=5, append=True
    )
    assert second.password == demo_data.DEMO_PASSWORD  # only demo accounts were there


def test_cli_demo_data_append_refuses_real_accounts_in_one_line(
    hms: Run, sqlite_clinic: Clinic
) -> None:
    accounts.create_first_admin(sqlite_clinic, "boss", "the-real-admin-pw")
    url = sqlite_clinic.db.url
    small = ("demo-data", "--doctors", "2", "--patients", "20", "--days-back", "3", "--append")

    refused = hms(*small, database=url)
    assert refused.code == 2 and refused.out == ""
    [line] = refused.err.strip().splitlines()
    assert "has real accounts (boss)" in line and "--demo-accounts" in line

    made = hms(*small, "--demo-accounts", database=url)
    assert made.code == 0, made.err
    assert demo_data.DEMO_PASSWORD not in made.out
    [said] = [ln for ln in made.out.splitlines() if "new password" in ln]
    password = said.split("'")[1]
    assert made.out.count(password) == 1  # shown once
    assert accounts.login(sqlite_clinic, "reception", password).role == "receptionist"


def test_demo_accounts_log_in_with_the_documented_password(sqlite_clinic: Clinic) -> None:
    summary = demo_data.generate(sqlite_clinic, seed=1, doctors=8, patients=100, days_back=5)
    roles = {a.username: a.role for a in summary.accounts}
    assert roles["admin"] == "admin" and roles["reception"] == "receptionist"
    doctors = [u for u, r in roles.items() if r == "doctor"]
    patients = [u for u, r in roles.items() if r == "patient"]
    assert len(doctors) == demo_data.DOCTOR_ACCOUNTS and all(u.startswith("dr.") for u in doctors)
    assert len(patients) == demo_data.PATIENT_ACCOUNTS
    assert summary.password == demo_data.DEMO_PASSWORD
    for username, role in roles.items():
        actor = accounts.login(sqlite_clinic, username, demo_data.DEMO_PASSWORD)
        assert actor.role == role
        if role == "doctor":
            assert actor.doctor_id is not None and actor.display_name.startswith("Dr. ")
        if role == "patient":
            assert actor.patient_id is not None


def test_a_cancelled_run_leaves_nothing(sqlite_clinic: Clinic, sqlite_url: str) -> None:
    def cancel(stage: str, done: int, total: int) -> None:
        if stage == "appointments":
            raise OperationCancelledError()

    with pytest.raises(OperationCancelledError):
        demo_data.generate(
            sqlite_clinic, seed=1, doctors=5, patients=50, days_back=20, progress=cancel
        )
    for table in TABLES:
        assert _scalar(sqlite_url, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"doctors": 0}, "doctors"),
        ({"patients": 0}, "patients"),
        ({"appointments": -1}, "must not be negative"),
        ({"days_back": -1}, "Days back"),
        ({"doctors": 1, "days_back": 1, "appointments": 10_000}, "do not fit"),
    ],
)
def test_bad_requests(sqlite_clinic: Clinic, kwargs: dict[str, int], message: str) -> None:
    args = {"seed": 1, "doctors": 2, "patients": 10} | kwargs
    with pytest.raises(ValidationError, match=message):
        demo_data.generate(sqlite_clinic, **args)


def test_exact_appointment_count_and_other_slot_length(tmp_path: Path) -> None:
    url = _fresh_sqlite(tmp_path / "slots20.sqlite3")
    clinic = _clinic(url, slot_minutes=20)
    try:
        summary = demo_data.generate(
            clinic, seed=4, doctors=5, patients=300, appointments=1234, days_back=20
        )
        assert summary.appointments == 1234
        assert_invariants(clinic, url)
    finally:
        clinic.close()


def test_on_a_sunday_the_on_call_doctor_still_has_bookings_today(tmp_path: Path) -> None:
    url = _fresh_sqlite(tmp_path / "sunday.sqlite3")
    sunday = START.replace(day=14, hour=7)  # 2026-06-14, before surgery opens
    clinic = _clinic(url, FakeClock(sunday))
    try:
        demo_data.generate(clinic, seed=2, doctors=6, patients=200, days_back=7)
        assert_invariants(clinic, url)
        with clinic.db.read() as session:
            today = session.scalars(
                select(Appointment.status).where(Appointment.day == sunday.date())
            ).all()
        assert today and set(today) <= {"booked", "cancelled"}
    finally:
        clinic.close()


# --- through the command -----------------------------------------------------------------


def _minute() -> datetime:
    return datetime.now(ZoneInfo("UTC")).replace(second=0, microsecond=0)


def test_cli_demo_data_creates_prints_and_is_deterministic(hms: Run, tmp_path: Path) -> None:
    # The command works on the wall clock (to the minute): two runs are comparable only
    # within one minute, so a pair that straddles a minute boundary is run again.
    for attempt in range(5):
        started, dumps = _minute(), []
        for name in ("one", "two"):
            path = tmp_path / f"{name}{attempt}" / "demo.sqlite3"  # the folder is new too
            result = hms(
                "demo-data", "--seed", "7", "--doctors", "5", "--patients", "120",
                "--days-back", "14", database=f"sqlite:///{path}",
            )  # fmt: skip
            assert result.code == 0, result.err
            assert f"Demo clinic written to {path} (seed 7)" in result.out
            assert "5 doctors, 120 patients" in result.out
            assert demo_data.DEMO_PASSWORD in result.out
            for login in ("admin", "reception", "dr."):
                assert login in result.out
            # Password hashes are salted; everything else must repeat exactly.
            url = f"sqlite:///{path}"
            dumps.append({t: table_rows(url, t, skip=("password_hash",)) for t in TABLES})
        if _minute() == started:
            break
    assert dumps[0] == dumps[1]

    again = hms("demo-data", "--seed", "7", database=f"sqlite:///{path}")
    assert again.code == 2 and "already holds 120 patients" in again.err
    appended = hms(
        "demo-data", "--seed", "8", "--doctors", "2", "--patients", "10", "--days-back", "3",
        "--append", "--json", database=f"sqlite:///{path}",
    )  # fmt: skip
    assert appended.code == 0, appended.err
    summary = json.loads(appended.out)
    assert (summary["doctors"], summary["patients"], summary["seed"]) == (2, 10, 8)
    assert summary["first_day"].count("-") == 2 and isinstance(summary["by_status"], dict)


def test_cli_demo_data_on_postgresql(hms: Run, database_url: str) -> None:
    result = hms(
        "demo-data", "--doctors", "4", "--patients", "80", "--days-back", "10",
        database=database_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    stats = hms("stats", "--json", database=database_url)
    data = json.loads(stats.out)
    assert (data["doctors"], data["patients"]) == (4, 80)
    assert data["appointments"] > 0 and data["today_appointments"] > 0


def test_timing_of_a_mid_size_clinic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _fresh_sqlite(tmp_path / "mid.sqlite3")
    clinic = _clinic(url)
    try:
        started = _time.perf_counter()
        summary = demo_data.generate(clinic, seed=1, doctors=40, patients=10_000, days_back=180)
        seconds = _time.perf_counter() - started
    finally:
        clinic.close()
    rows = summary.patients + summary.appointments + summary.treatments
    with capsys.disabled():
        print(
            f"\n[demo-data timing] SQLite: {summary.doctors} doctors, {summary.patients:,} patients, "
            f"{summary.appointments:,} appointments, {summary.treatments:,} treatments in "
            f"{seconds:.1f} s ({rows / seconds:,.0f} rows/s)"
        )
    assert summary.appointments > 30_000
    # Generous: it takes a few seconds here; per-row ORM adds would take minutes.
    assert seconds < 120
