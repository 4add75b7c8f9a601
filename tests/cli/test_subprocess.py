"""``hms`` as a real process: exit codes, one-line errors on stderr, and the password prompt."""

from __future__ import annotations

import os
import select
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clock import SystemClock
from hms_desktop.services.people import accounts, users
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.cli.conftest import assert_one_line_error, run_subprocess
from tests.conftest import make_clinic


def test_init_book_and_errors_in_a_real_process(
    tmp_path: Path, world: f.World, database_url: str
) -> None:
    missing = tmp_path / "missing" / "clinic.sqlite3"
    gone = run_subprocess("--database", f"sqlite:///{missing}", "list", "appointments")
    assert_one_line_error(gone, "does not exist")
    assert gone.out == "" and not missing.exists()

    created = tmp_path / "fresh.sqlite3"
    init = run_subprocess("--database", f"sqlite:///{created}", "init")
    assert init.code == 0 and init.err == "" and "(created)" in init.out

    day = world.day.isoformat()
    book = (
        "--database", database_url, "book", "--patient", str(world.patient_id),
        "--doctor", str(world.doctor_id), "--date", day, "--time", "09:00",
    )  # fmt: skip
    first = run_subprocess(*book)
    assert first.code == 0, first.err
    assert first.out.strip().isdigit() and first.err == ""
    assert_one_line_error(run_subprocess(*book), "already has a visit")
    bad = run_subprocess("--database", database_url, "list", "appointments", "--date", "2026-99-01")
    assert_one_line_error(bad, "real date")
    usage = run_subprocess("--database", database_url, "book", "--patient", "1")
    assert usage.code == 2 and "required" in usage.err and "Traceback" not in usage.err


def test_password_stdin_in_a_real_process(sqlite_url: str, sqlite_clinic) -> None:
    result = run_subprocess(
        "--database", sqlite_url, "user", "add", "--role", "admin", "--username", "boss",
        "--password-stdin", stdin="a-long-password\n",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert accounts.login(sqlite_clinic, "boss", "a-long-password").role == "admin"


def _read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} in {seen!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
@pytest.mark.parametrize(("second", "code"), [("typed-twice-ok", 0), ("something-else", 2)])
def test_password_prompt_on_a_terminal(
    sqlite_url: str, sqlite_clinic, second: str, code: int
) -> None:
    """Without --password-stdin the password is asked twice on the terminal, not echoed."""
    import pty

    argv = [sys.executable, "-m", "hms_desktop", "--database", sqlite_url, "user", "add",
            "--role", "receptionist", "--username", "desk"]  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child: hms with the pty as its controlling terminal
        os.execv(sys.executable, argv)
    try:
        _read_until(fd, b"Password: ")
        os.write(fd, b"typed-twice-ok\n")
        _read_until(fd, b"Repeat password: ")
        os.write(fd, second.encode() + b"\n")
        rest = _read_until(fd, b"\n" * 1000, timeout=30)  # to the end of output
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == code, rest
    assert b"typed-twice-ok" not in rest  # not echoed
    if code == 0:
        assert b"receptionist account 'desk'" in rest
        assert accounts.login(sqlite_clinic, "desk", "typed-twice-ok").role == "receptionist"
    else:
        assert b"do not match" in rest
        names = {u.username for u in users.list_users(sqlite_clinic, SYSTEM)}
        assert "desk" not in names


def test_a_closed_pipe_is_not_an_error(tmp_path) -> None:
    import subprocess
    import sys

    db = tmp_path / "pipe.sqlite3"
    env = {
        **__import__("os").environ,
        "HMS_DATA_DIR": str(tmp_path),
        "HMS_CONFIG_DIR": str(tmp_path),
    }
    run = [sys.executable, "-m", "hms_desktop", "--database", f"sqlite:///{db}"]
    subprocess.run([*run, "init"], check=True, capture_output=True, env=env)
    subprocess.run(
        [*run, "demo-data", "--doctors", "2", "--patients", "1500"],
        check=True,
        capture_output=True,
        env=env,
    )
    # Like "hms list patients --json | head -1": the reader closes the pipe after one
    # line, long before the ~400 kB of output (more than a pipe holds) are written.
    proc = subprocess.Popen(
        [*run, "list", "patients", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def _zone_where_it_is_early_morning() -> str:
    """A fixed-offset zone in which it is now about 06:00, so a 13:00 visit is later today."""
    offset = 6 - datetime.now(UTC).hour
    if offset < -12:
        offset += 24
    elif offset > 14:
        offset -= 24
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs are inverted


def test_complete_early_in_a_real_process(sqlite_url: str) -> None:
    """On the real clock: a visit later today is refused without --early, closed with it."""
    zone = _zone_where_it_is_early_morning()
    clinic = make_clinic(sqlite_url, SystemClock(ZoneInfo(zone)), timezone=zone)
    try:
        now = clinic.clock.now()
        assert 5 <= now.hour <= 7, now
        today, tomorrow = now.date(), now.date() + timedelta(days=1)
        world = f.world(clinic)
        f.open_day(clinic, world.doctor_id, today, "12:00", "15:00")
        later_today, next_day = (
            booking.book(
                clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                day=day, at=at,
            )
            for day, at in ((today, "13:00"), (tomorrow, "09:00"))
        )  # fmt: skip

        plain = run_subprocess("--database", sqlite_url, "complete", str(later_today))
        assert_one_line_error(
            plain, "starts at 13:00 and has not begun", f"hms complete --early {later_today}"
        )
        assert booking.get_appointment(clinic, SYSTEM, later_today).status == "booked"

        early = run_subprocess("--database", sqlite_url, "complete", "--early", str(later_today))
        assert early.code == 0 and early.err == "", early
        assert f"Appointment {later_today} is completed" in early.out
        assert booking.get_appointment(clinic, SYSTEM, later_today).status == "completed"

        # --early closes a visit of today only: tomorrow's cannot have been seen yet.
        ahead = run_subprocess("--database", sqlite_url, "complete", "--early", str(next_day))
        assert_one_line_error(ahead, "from that day on")
        assert booking.get_appointment(clinic, SYSTEM, next_day).status == "booked"
    finally:
        clinic.close()
