"""Helpers for running the real ``hms`` command, in-process and as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select

from hms_desktop.cli import main
from hms_desktop.db.models import Base
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from tests import factories as f
from tests.conftest import make_clinic


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def hms(capsys: pytest.CaptureFixture[str]) -> Run:
    """``hms(*argv, database=URL)``: run the command in this process, capture its output."""

    def run(*argv: str, database: str | None = None) -> Result:
        capsys.readouterr()
        args = (["--database", database] if database else []) + list(argv)
        try:
            code = main(args)
        except SystemExit as stop:  # argparse usage errors
            code = int(stop.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_subprocess(*argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
    """Run ``python -m hms_desktop`` for real, as a user's shell would."""
    proc = subprocess.run(
        [sys.executable, "-m", "hms_desktop", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """A user error: exit status 2, exactly one line on stderr naming the problem."""
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("hms: error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def live_clinic(database_url: str) -> Iterator[Clinic]:
    """A clinic on ``database_url`` whose clock is the real time in UTC (the CLI's default zone)."""
    clinic = make_clinic(database_url, FakeClock(datetime.now(ZoneInfo("UTC"))), timezone="UTC")
    yield clinic
    clinic.close()


@pytest.fixture
def world(live_clinic: Clinic) -> f.World:
    """Two doctors free 09:00-12:00 tomorrow, two patients, on SQLite and PostgreSQL."""
    return f.world(live_clinic)


def table_rows(url: str, table: str, *, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row of ``table`` ordered by id, without the ``skip`` columns, as Python values."""
    columns = [c for c in Base.metadata.tables[table].columns if c.name not in skip]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(*columns).order_by(columns[0]))]
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
