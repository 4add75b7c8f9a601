"""Migration 0010 (calendar sequence, outbox kinds for calendar messages): up, down, up."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import downgrade, upgrade
from tests.jobs.test_migration import blank_url  # noqa: F401  (fixture: SQLite and PostgreSQL)

_OUTBOX = (
    "INSERT INTO outbox (kind, subject, body, status, attempts, recipient, last_error, "
    "created_at) VALUES (:kind, 's', 'b', 'pending', 0, 'a@b.test', '', '2026-12-01 08:00:00')"
)


def _downgrade(db: Database, revision: str) -> None:
    downgrade(db, revision)


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("appointments")}


def test_0010_keeps_the_rows_and_goes_down_and_up_again(blank_url: str) -> None:  # noqa: F811
    db = Database(blank_url)
    try:
        upgrade(db, "0005")
        with db.engine.begin() as conn:
            conn.execute(text(_OUTBOX), {"kind": "reminder"})
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text(_OUTBOX), {"kind": "appointment_cancel"})
        upgrade(db, "0010")
        assert "calendar_sequence" in _columns(db)
        with db.engine.begin() as conn:
            conn.execute(text(_OUTBOX), {"kind": "appointment_cancel"})
            kinds = conn.execute(text("SELECT kind FROM outbox ORDER BY id")).scalars().all()
            assert kinds == ["reminder", "appointment_cancel"]
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text(_OUTBOX), {"kind": "postcard"})
        _downgrade(db, "0005")
        assert "calendar_sequence" not in _columns(db)
        with db.engine.begin() as conn:
            # The calendar messages go (the old kinds cannot hold them); the rest stays.
            kinds = conn.execute(text("SELECT kind FROM outbox")).scalars().all()
            assert kinds == ["reminder"]
        upgrade(db, "0010")
        assert "calendar_sequence" in _columns(db)
    finally:
        db.dispose()
