"""Opening a current database reads its version with plain SQL and never imports Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import (
    _MIGRATION_LOCK_KEY,
    HEAD_REVISION,
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)

ROOT = Path(__file__).resolve().parents[2]

# Opens the clinic in a fresh interpreter and reports what got imported.
_PROBE = """
import json, sys
from hms_desktop.config import Settings
from hms_desktop.services.clinic import open_clinic
clinic = open_clinic(Settings(database_url=sys.argv[1]), migrate=True)
clinic.close()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako"))))
"""


def _imports_when_opening(url: str) -> list[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def _alembic_reads(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_head_constant_is_alembics_head() -> None:
    assert head_revision() == HEAD_REVISION


def test_plain_sql_reads_the_same_revision_as_alembic(blank_database_url: str) -> None:
    db = Database(blank_database_url)
    try:
        assert current_revision(db) is None and _alembic_reads(db) is None
        upgrade(db, "0001")
        assert current_revision(db) == _alembic_reads(db) == "0001"
        state = check_schema(db)
        assert (state.current, state.head, state.is_current) == ("0001", HEAD_REVISION, False)
        upgrade(db)
        assert current_revision(db) == _alembic_reads(db) == HEAD_REVISION
    finally:
        db.dispose()


def test_opening_a_current_database_does_not_import_alembic(blank_database_url: str) -> None:
    # The first open creates the schema, so Alembic must load; the second finds it current.
    assert "alembic" in _imports_when_opening(blank_database_url)
    assert _imports_when_opening(blank_database_url) == []
    db = Database(blank_database_url)
    try:
        assert check_schema(db).is_current
    finally:
        db.dispose()


def test_an_older_database_is_still_upgraded_on_open(blank_database_url: str) -> None:
    db = Database(blank_database_url)
    try:
        upgrade(db, "0001")
        assert "alembic" in _imports_when_opening(blank_database_url)
        assert current_revision(db) == HEAD_REVISION
    finally:
        db.dispose()


def test_opening_a_current_database_does_not_wait_for_another_writer(
    blank_database_url: str,
) -> None:
    # Another PC in the middle of a write (or a migration) must not hold up a start that
    # has nothing to migrate: no write lock is taken for a current schema.
    db = Database(blank_database_url, busy_timeout_s=5)
    upgrade(db)
    other = Database(blank_database_url)
    try:
        with other.write_engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            else:  # BEGIN IMMEDIATE holds SQLite's write lock until the block ends
                conn.execute(text("CREATE TABLE marker (id INTEGER PRIMARY KEY)"))
            began = time.monotonic()
            assert upgrade(db).is_current
            assert upgrade(db, HEAD_REVISION).is_current
            assert time.monotonic() - began < 2
    finally:
        other.dispose()
        db.dispose()
