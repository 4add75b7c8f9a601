"""Shared fixtures: real databases (a SQLite file and PostgreSQL), a fake clock, Qt offscreen.

Every test that takes ``clinic`` runs twice: on a SQLite file and on the
PostgreSQL server (``HMS_TEST_DATABASE_URL``, default the local ``test``
database). PostgreSQL tests skip with a reason only when no server answers, and
never under CI. Each pytest process works in a schema of its own, so parallel
runs never see each other's rows.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import email_validator
import pytest
from sqlalchemy import create_engine, text

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.db.models import DEFAULT_VISIT_TYPES
from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.values import from_mapping
from hms_desktop.services.clock import FakeClock

# The tests' addresses use the reserved ".test" domain (RFC 2606), which the validator
# refuses in a real clinic; its documented switch lets them through in tests only.
email_validator.TEST_ENVIRONMENT = True

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLINIC_TZ = ZoneInfo("Europe/Berlin")
#: A Monday morning in the clinic's time zone; tests move the fake clock from here.
START = datetime(2026, 6, 15, 9, 0, tzinfo=CLINIC_TZ)

#: Every table, emptied between PostgreSQL tests (a test checks none is missing).
TABLES = (
    "audit_log", "treatments", "appointments", "availability", "weekly_hours", "patients",
    "doctors", "departments", "users", "job_runs", "monthly_reports", "outbox",
    "clinic_settings", "visit_types", "waitlist", "sign_in_failures", "treatment_versions",
    "appointment_counts", "table_counts", "patient_name_words",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _collect_on_the_ui_thread_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """As the application does (ui/common/main_thread_gc.py): in a test with Qt, no
    worker thread may run the cycle collector and destroy a UI object off its thread."""
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"qtbot", "qapp"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read or write the real user's settings, data or keyring."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("HMS_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("HMS_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for name in list(os.environ):
        if name.startswith("HMS_") and name not in (
            "HMS_CONFIG_DIR",
            "HMS_DATA_DIR",
            "HMS_TEST_DATABASE_URL",
        ):
            monkeypatch.delenv(name)


# --- PostgreSQL: one schema per pytest process -------------------------------------------


def _pg_base_url() -> str:
    return os.environ.get("HMS_TEST_DATABASE_URL") or DEFAULT_PG_URL


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this test session."""
    base = _pg_base_url()
    schema = f"hms_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {base} is required under CI but unreachable: {err}")
        pytest.skip(
            f"PostgreSQL at {base} is not reachable ({type(err).__name__}); start it to run these"
        )
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "clinic.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _empty_pg(url: str) -> str:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        # The visit types a fresh database holds (migration 0006 inserts them).
        conn.execute(
            text("INSERT INTO visit_types (name, label, minutes) VALUES (:n, :l, :m)"),
            [{"n": n, "l": label, "m": m} for n, label, m in DEFAULT_VISIT_TYPES],
        )
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated clinic database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return _fresh_sqlite(sqlite_template, tmp_path)
    return _empty_pg(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated SQLite clinic (for tests that are about the desktop, not the backend)."""
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def make_clinic(url: str, clock: FakeClock, **settings: object) -> Clinic:
    """A clinic on ``url``: this PC's settings and clinic-wide ones (stored) from ``settings``."""
    pc_names = {f.name for f in fields(Settings)}
    pc = Settings(database_url=url).replace(**{k: v for k, v in settings.items() if k in pc_names})
    # Scheduled backups stay off unless a test turns them on, so a scheduler under test
    # writes no backup files and runs only the jobs that test is about.
    shared: dict[str, object] = {"timezone": "Europe/Berlin", "slot_minutes": 30}
    shared["backup_retention"] = 0
    shared.update({k: v for k, v in settings.items() if k not in pc_names})
    clinic = Clinic(db=Database(url), pc=pc, clock=clock)
    try:
        clinic_settings.seed(clinic, shared)
    except DatabaseUnavailableError:
        # An unreachable database (the test is about that): the settings this PC read
        # before the database went away.
        clinic.pinned = from_mapping(shared)
    return clinic


@pytest.fixture
def clinic(database_url: str, clock: FakeClock) -> Iterator[Clinic]:
    c = make_clinic(database_url, clock)
    yield c
    c.close()


@pytest.fixture
def sqlite_clinic(sqlite_url: str, clock: FakeClock) -> Iterator[Clinic]:
    c = make_clinic(sqlite_url, clock)
    yield c
    c.close()


@pytest.fixture
def pg_clinic(pg_schema_url: str, clock: FakeClock) -> Iterator[Clinic]:
    """An empty clinic on PostgreSQL only (for what only PostgreSQL does: other PCs)."""
    c = make_clinic(_empty_pg(pg_schema_url), clock)
    yield c
    c.close()
