"""The audit log's hash chain: edits, removals and reorderings made in the file are named."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from hms_desktop.cli import main
from hms_desktop.db.engine import sqlite_path
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.safety.backup import backup_database
from hms_desktop.services.safety.restore import restore_database
from tests import factories as f
from tests.cli.conftest import run_subprocess
from tests.conftest import make_clinic


def _entries(clinic: Clinic, n: int) -> None:
    for i in range(n):
        audit.record_now(clinic, SYSTEM, "test.entry", "test", i + 1, note=f"entry {i + 1}")


def _file(clinic: Clinic) -> Path:
    path = sqlite_path(clinic.db.url)
    assert path is not None
    clinic.db.dispose()
    return path


def _tamper(path: Path, *statements: str) -> None:
    """What someone with the file can do: drop the append-only triggers and edit."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)


def test_entries_form_one_chain_on_both_backends(clinic: Clinic) -> None:
    _entries(clinic, 5)
    report = audit_chain.verify(clinic.db)
    assert report.ok and report.message == "ok, 5 entries"
    with clinic.db.read() as session:
        rows = session.execute(text("SELECT seq, prev_hash, row_hash FROM audit_log ORDER BY id"))
        chain = [tuple(r) for r in rows]
    assert [r[0] for r in chain] == [1, 2, 3, 4, 5]
    assert chain[0][1] == "" and all(chain[i][1] == chain[i - 1][2] for i in range(1, 5))


def test_two_pcs_writing_at_once_make_one_chain(database_url: str, clock: FakeClock) -> None:
    pcs = [make_clinic(database_url, clock) for _ in range(3)]
    gate = threading.Barrier(len(pcs))
    errors: list[BaseException] = []

    def write(pc: Clinic, n: int) -> None:
        gate.wait()
        try:
            for i in range(15):
                audit.record_now(pc, SYSTEM, "test.race", "test", n * 100 + i)
        except BaseException as err:  # reported below, with the chain
            errors.append(err)

    threads = [threading.Thread(target=write, args=(pc, n)) for n, pc in enumerate(pcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert audit_chain.verify(pcs[0].db).message == "ok, 45 entries"
    finally:
        for pc in pcs:
            pc.close()


def test_a_changed_entry_on_postgresql_is_named_too(clinic: Clinic) -> None:
    _entries(clinic, 4)
    if clinic.db.is_sqlite:
        _tamper(_file(clinic), "UPDATE audit_log SET details = '{}' WHERE seq = 2")
    else:
        with clinic.db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2"))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    assert audit_chain.verify(clinic.db).message == "row 2 changed"


@pytest.mark.parametrize(
    ("statements", "verdict"),
    [
        (['UPDATE audit_log SET details = \'{"note": "nothing"}\' WHERE seq = 3'], "row 3 changed"),
        (["UPDATE audit_log SET at = '2020-01-01 00:00:00.000000' WHERE seq = 5"], "row 5 changed"),
        (["DELETE FROM audit_log WHERE seq = 4"], "row 4 removed"),
        (["DELETE FROM audit_log WHERE seq = 1"], "row 1 removed"),
        (
            [
                "UPDATE audit_log SET id = -1 WHERE seq = 3",
                "UPDATE audit_log SET id = 3 WHERE seq = 4",
                "UPDATE audit_log SET id = 4 WHERE seq = 3",
            ],
            "row 3 reordered",
        ),
        (["UPDATE audit_log SET id = 1000 WHERE seq = 2"], "row 2 reordered"),
        (
            # An edit whose hash is recomputed still breaks the link to the next entry.
            ["UPDATE audit_log SET row_hash = 'f00d', actor = 'x' WHERE seq = 2"],
            "row 2 changed",
        ),
    ],
    ids=["details", "time", "middle removed", "first removed", "swapped", "moved", "rehashed"],
)
def test_hms_audit_verify_names_the_first_tampered_row(
    sqlite_clinic: Clinic,
    statements: list[str],
    verdict: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _entries(sqlite_clinic, 6)
    url = sqlite_clinic.db.url
    fine = run_subprocess("--database", url, "audit", "verify")
    assert (fine.code, fine.out.strip(), fine.err) == (0, "audit log: ok, 6 entries", "")

    _tamper(_file(sqlite_clinic), *statements)

    found = run_subprocess("--database", url, "audit", "verify")
    assert (found.code, found.out.strip()) == (1, f"audit log: {verdict}"), found
    assert main(["--database", url, "check"]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM: the audit log was tampered with: {verdict}" in out.splitlines()


def test_a_restore_refuses_a_backup_whose_audit_log_was_edited(
    sqlite_clinic: Clinic, tmp_path: Path
) -> None:
    f.world(sqlite_clinic)
    crafted = backup_database(sqlite_clinic.db, tmp_path / "crafted.sqlite3")
    _tamper(crafted, "DELETE FROM audit_log WHERE seq = 2")
    url = sqlite_clinic.db.url
    sqlite_clinic.db.dispose()

    with pytest.raises(ValidationError, match=r"audit log was tampered with \(row 2 removed\)"):
        restore_database(url, crafted)
    assert audit_chain.verify(sqlite_clinic.db).ok  # the live database is untouched


def test_a_restore_is_recorded_in_the_replaced_log_and_in_the_restored_one(
    sqlite_clinic: Clinic, tmp_path: Path
) -> None:
    f.world(sqlite_clinic)
    good = backup_database(sqlite_clinic.db, tmp_path / "monday.sqlite3")
    f.patient(sqlite_clinic, "Added After Backup")
    url = sqlite_clinic.db.url
    sqlite_clinic.db.dispose()

    result = restore_database(url, good)

    assert result.replaced is not None
    for path, action in (
        (sqlite_path(url), "database.restore"),
        (result.replaced, "database.replaced"),
    ):
        assert path is not None
        with closing(sqlite3.connect(path)) as conn:
            last = conn.execute(
                "SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        assert last[0] == action and "monday.sqlite3" in last[1]
    restored = make_clinic(url, FakeClock(sqlite_clinic.now()))
    replaced = make_clinic(f"sqlite:///{result.replaced}", FakeClock(sqlite_clinic.now()))
    try:
        assert audit_chain.verify(restored.db).ok and audit_chain.verify(replaced.db).ok
    finally:
        restored.close()
        replaced.close()


def test_reading_the_audit_log_is_audited(clinic: Clinic) -> None:
    _entries(clinic, 2)
    shown = audit.list_entries(clinic, SYSTEM, action_prefix="test.", text="entry")
    assert [e.entity_id for e in shown] == [2, 1]  # the read does not list itself
    [read] = audit.list_entries(clinic, SYSTEM, action_prefix="audit.read")
    assert (read.actor, read.entity) == ("system", "audit_log")
    assert '"action_prefix": "test."' in read.details and '"rows": 2' in read.details
    assert '"text": "entry"' in read.details
    assert audit_chain.verify(clinic.db).message == "ok, 4 entries"
