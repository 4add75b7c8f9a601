"""Fixtures of the core acceptance tests: a small clinic, and blank (unmigrated) databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hms_desktop.services.clinic import Clinic
from tests import factories as f
from tests.conftest import DEFAULT_PG_URL


@pytest.fixture
def world(clinic: Clinic) -> f.World:
    """One department, two doctors open 09:00-12:00 tomorrow, two patients."""
    return f.world(clinic)


def _pg_base_url() -> str:
    return os.environ.get("HMS_TEST_DATABASE_URL") or DEFAULT_PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    request.getfixturevalue("pg_schema_url")  # skips (or fails under CI) without a server
    base = _pg_base_url()
    schema = f"hms_blank_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
