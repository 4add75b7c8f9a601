"""Migration 0002 (outbox, monthly reports, job_runs.trigger): up, down and up again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import downgrade, upgrade
from tests.conftest import _pg_base_url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    request.getfixturevalue("pg_schema_url")  # skips (or fails under CI) without a server
    base = _pg_base_url()
    schema = f"hms_j4_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _downgrade(db: Database, revision: str) -> None:
    downgrade(db, revision)


def _shape(db: Database) -> tuple[set[str], set[str]]:
    insp = inspect(db.engine)
    tables = set(insp.get_table_names())
    columns = {c["name"] for c in insp.get_columns("job_runs")}
    return tables, columns


def test_0002_upgrades_downgrades_and_upgrades_again(blank_url: str) -> None:
    db = Database(blank_url)
    try:
        upgrade(db, "0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO job_runs (job_name, period_key, status, host, started_at, counts, "
                    "error) VALUES ('reminders', '2026-11-02', 'done', 'old', '2026-11-02 07:00:00',"
                    " '{}', '')"
                )
            )
        upgrade(db, "0002")
        tables, columns = _shape(db)
        assert {"outbox", "monthly_reports"} <= tables and "trigger" in columns
        with db.engine.connect() as conn:
            kept = conn.execute(text('SELECT period_key, "trigger" FROM job_runs')).all()
        assert [tuple(r) for r in kept] == [("2026-11-02", "")]  # old runs keep their rows

        _downgrade(db, "0001")
        tables, columns = _shape(db)
        assert not {"outbox", "monthly_reports"} & tables and "trigger" not in columns
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM job_runs")).scalar_one() == 1

        upgrade(db)
        tables, columns = _shape(db)
        assert {"outbox", "monthly_reports"} <= tables and "trigger" in columns
    finally:
        db.dispose()
