"""``hms watch`` prints other programs' changes as they are committed."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from typing import IO

import pytest

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.cli.conftest import assert_one_line_error, run_subprocess

#: Generous: the test machine is shared and often busy.
LINE_TIMEOUT_S = 60


def _line(proc: subprocess.Popen[str], stream: IO[str], what: str) -> str:
    """The child's next line on ``stream``, or a failure with its threads' stacks: a bare
    ``readline()`` would hang the whole run if the line never came."""
    ready, _, _ = select.select([stream], [], [], LINE_TIMEOUT_S)
    if not ready:
        proc.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack
        proc.wait(10)
        assert proc.stderr is not None
        pytest.fail(f"hms watch printed no {what} within {LINE_TIMEOUT_S} s:\n{proc.stderr.read()}")
    return stream.readline()


def test_watch_prints_a_line_per_committed_change(pg_clinic: Clinic) -> None:
    world = f.world(pg_clinic)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hms_desktop", "--database", pg_clinic.db.url, "watch", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # On a hang, SIGABRT makes the child print every thread's stack (see below).
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = _line(proc, proc.stderr, "ready line")  # once the LISTEN is in place
        assert "watching" in ready, ready
        new_id = booking.book(
            pg_clinic,
            f.RECEPTION,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            day=world.day,
            at=f.NINE,
        )
        line = json.loads(_line(proc, proc.stdout, "change"))
        assert line["kind"] == "appointments" and new_id in line["ids"]
        assert line["origin"] == pg_clinic.db.changes.origin and line["at"]
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(60) == 0
        except subprocess.TimeoutExpired:  # seen once on a loaded machine: say where it hung
            proc.send_signal(signal.SIGABRT)
            proc.wait(10)
            pytest.fail(f"hms watch did not end on Ctrl+C within 60 s:\n{proc.stderr.read()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_watch_on_sqlite_says_it_needs_postgresql(sqlite_url: str) -> None:
    assert_one_line_error(run_subprocess("--database", sqlite_url, "watch"), "PostgreSQL")
