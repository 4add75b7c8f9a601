"""Backup while another process writes, restore with its refusals, scheduled retention."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hms_desktop.db.engine import Database, sqlite_path
from hms_desktop.db.migrate import head_revision
from hms_desktop.errors import DatabaseUnavailableError, HmsError, ValidationError
from hms_desktop.services.safety.backup import (
    BackupToolMissingError,
    backup_database,
    run_scheduled_backup,
)
from hms_desktop.services.safety.restore import restore_database
from tests.conftest import _empty_pg, make_clinic
from tests.safety.procs import ROOT, start_child


def _ids(path: Path, table: str = "patients") -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        return [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _audited_patients(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT entity_id FROM audit_log WHERE action = 'patient.register' ORDER BY entity_id"
        )
        return [r[0] for r in rows]


@pytest.mark.slow
def test_backup_while_another_process_writes_restores_every_committed_row(
    sqlite_url: str, tmp_path: Path
) -> None:
    live = sqlite_path(sqlite_url)
    assert live is not None
    child = start_child("register", sqlite_url, workdir=tmp_path)
    try:
        child.read_until(20)
        known_before = len(child.lines)
        db = Database(sqlite_url)
        target = backup_database(db, tmp_path / "backups" / "copy.sqlite3")
        db.dispose()
        # The writer was never blocked: it keeps committing after the backup.
        child.read_until(len(child.lines) + 20)
    finally:
        committed = child.kill()
    in_backup = _ids(target)
    # One consistent snapshot: exactly the first N committed rows, no holes, and at
    # least every row that had been reported before the backup began.
    assert in_backup == committed[: len(in_backup)]
    assert len(in_backup) >= known_before
    assert _audited_patients(target) == in_backup
    assert _integrity(target) == "ok"
    assert not list(target.parent.glob(".*")), "a temporary file was left beside the backup"

    result = restore_database(sqlite_url, target)
    assert _integrity(live) == "ok"
    assert _ids(live) == in_backup
    assert result.replaced is not None and result.replaced.name.startswith(
        "clinic.sqlite3.replaced-"
    )
    # The replaced file holds every row the killed writer had committed.
    assert set(committed) <= set(_ids(result.replaced))
    assert _integrity(result.replaced) == "ok"
    assert result.schema_after == head_revision()


def _hold(code: str, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """Run ``code`` in another process and wait until it prints 'ready'."""
    err_path = tmp_path / "holder.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, cwd=ROOT, stderr=err
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        _stop(proc)
        raise AssertionError(err_path.read_text())
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL, like a crash: the OS drops its locks, leftover files must not block."""
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def backup_file(sqlite_clinic, tmp_path: Path) -> Path:
    from tests import factories as f

    f.world(sqlite_clinic)
    return backup_database(sqlite_clinic.db, tmp_path / "good.sqlite3")


def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


def test_restore_refuses_while_another_process_has_the_database_open(
    sqlite_clinic, backup_file: Path, tmp_path: Path
) -> None:
    live = sqlite_path(sqlite_clinic.db.url)
    assert live is not None
    sqlite_clinic.db.dispose()
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('SELECT 1 FROM users').fetchall()\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    holder = _hold(code, tmp_path, str(live))  # an idle connection, not even in a transaction
    try:
        before = _ids(live)
        with pytest.raises(DatabaseUnavailableError, match="Another program has the clinic"):
            restore_database(sqlite_clinic.db.url, backup_file)
        assert _ids(live) == before
        assert not list(live.parent.glob("clinic.sqlite3.replaced-*"))
        assert not list(live.parent.glob(".clinic.sqlite3.*"))
    finally:
        _stop(holder)
    restore_database(sqlite_clinic.db.url, backup_file)
    assert _integrity(live) == "ok"


def test_restore_refuses_while_hms_desktop_holds_its_lock_and_not_after_it_died(
    sqlite_clinic, backup_file: Path, tmp_path: Path
) -> None:
    live = sqlite_path(sqlite_clinic.db.url)
    assert live is not None
    sqlite_clinic.db.dispose()
    code = (
        "import time\nfrom pathlib import Path\n"
        "from hms_desktop.services.safety.instance_lock import InstanceLock\n"
        f"InstanceLock(Path({str(live)!r})).acquire()\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    app = _hold(code, tmp_path)
    try:
        with pytest.raises(DatabaseUnavailableError, match=r"HMS Desktop is running.*pid"):
            restore_database(sqlite_clinic.db.url, backup_file)
    finally:
        _stop(app)
    result = restore_database(sqlite_clinic.db.url, backup_file)
    assert result.replaced is not None and result.replaced.exists()


def test_restore_refuses_a_newer_schema_and_damaged_or_foreign_files(
    sqlite_clinic, backup_file: Path, tmp_path: Path
) -> None:
    live = sqlite_path(sqlite_clinic.db.url)
    assert live is not None
    sqlite_clinic.db.dispose()
    original = _snapshot(live)

    newer = tmp_path / "newer.sqlite3"
    newer.write_bytes(backup_file.read_bytes())
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
    with pytest.raises(DatabaseUnavailableError, match="newer version of HMS Desktop"):
        restore_database(sqlite_clinic.db.url, newer)

    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database at all\n" * 100)
    with pytest.raises(ValidationError, match="not a usable HMS Desktop backup"):
        restore_database(sqlite_clinic.db.url, text_file)

    damaged = tmp_path / "damaged.sqlite3"
    data = bytearray(backup_file.read_bytes())
    page = 4096
    for offset in range(2 * page + 100, min(len(data), 6 * page), 7):
        data[offset] = 0xA5
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValidationError, match="not a usable HMS Desktop backup"):
        restore_database(sqlite_clinic.db.url, damaged)

    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    with pytest.raises(ValidationError, match=r"no clinic data|not a usable"):
        restore_database(sqlite_clinic.db.url, empty)

    with pytest.raises(ValidationError, match="does not exist"):
        restore_database(sqlite_clinic.db.url, tmp_path / "missing.sqlite3")

    assert _snapshot(live) == original, "a refused restore changed the live database"
    assert not list(live.parent.glob("clinic.sqlite3.replaced-*"))
    assert not list(live.parent.glob(".clinic.sqlite3.*"))


def test_restore_replaces_a_damaged_live_database_and_keeps_it_aside(
    sqlite_clinic, backup_file: Path
) -> None:
    live = sqlite_path(sqlite_clinic.db.url)
    assert live is not None
    sqlite_clinic.db.dispose()
    live.write_bytes(b"garbage" * 1000)
    result = restore_database(sqlite_clinic.db.url, backup_file)
    assert _integrity(live) == "ok"
    assert result.replaced is not None
    assert result.replaced.read_bytes() == b"garbage" * 1000


def test_scheduled_backup_keeps_the_newest_n(sqlite_url: str, clock, tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    clinic = make_clinic(sqlite_url, clock, backup_dir=str(folder), backup_retention=3)
    folder.mkdir()
    keep_me = folder / "before-upgrade.sqlite3"
    keep_me.write_bytes(b"a copy the user made by hand")
    try:
        made = []
        for day in range(5):
            moment = datetime(2026, 6, 15 + day, 2, 0, tzinfo=clock.tz)
            made.append(run_scheduled_backup(clinic, now=moment))
        assert [p.name for p in made][-1] == "clinic-20260619-020000.sqlite3"
        left = sorted(p.name for p in folder.iterdir())
        assert left == sorted([keep_me.name, *(p.name for p in made[-3:])])
        for path in made[-3:]:
            assert _integrity(path) == "ok"
        clock.advance(timedelta(days=1))
        assert run_scheduled_backup(clinic).name.startswith("clinic-20260616-")
    finally:
        clinic.close()


def test_postgres_backup_runs_pg_dump_or_says_the_command(
    pg_schema_url: str, clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = make_clinic(_empty_pg(pg_schema_url), clock)
    try:
        from tests import factories as f

        f.world(clinic)
        target = backup_database(clinic.db, tmp_path / "clinic.dump")
        assert target.read_bytes()[:5] == b"PGDMP"
        listing = subprocess.run(
            ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True
        ).stdout
        assert "TABLE DATA" in listing and "appointments" in listing
        assert not list(tmp_path.glob(".*"))

        monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
        with pytest.raises(BackupToolMissingError, match="pg_dump --format=custom"):
            backup_database(clinic.db, tmp_path / "again.dump")
        assert not (tmp_path / "again.dump").exists()
        with pytest.raises(HmsError, match="pg_restore --clean"):
            restore_database(clinic.db.url, target)
    finally:
        clinic.close()


def test_restore_of_an_older_backup_upgrades_its_schema(sqlite_clinic, tmp_path: Path) -> None:
    from hms_desktop.db.migrate import upgrade

    old = tmp_path / "from-version-0001.sqlite3"
    db = Database(f"sqlite:///{old}")
    upgrade(db, "0001")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO patients (full_name, name_key, surname_key, created_at) "
            "VALUES ('Old Timer', 'old timer', 'timer', '2025-01-01 10:00:00')"
        )
    db.dispose()  # the last connection closing folds the WAL into the file
    assert head_revision() != "0001"
    sqlite_clinic.db.dispose()

    result = restore_database(sqlite_clinic.db.url, old)
    assert (result.schema_before, result.schema_after) == ("0001", head_revision())
    assert result.upgraded
    live = sqlite_path(sqlite_clinic.db.url)
    assert live is not None and _integrity(live) == "ok"
    with closing(sqlite3.connect(live)) as conn:
        assert [r[0] for r in conn.execute("SELECT full_name FROM patients")] == ["Old Timer"]
    # The backup file itself was not touched by the upgrade.
    with closing(sqlite3.connect(old)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
