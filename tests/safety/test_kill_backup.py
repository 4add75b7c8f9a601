"""A backup killed at any moment leaves nothing behind after the next start or backup.

A child process makes backups in a loop and prints the number of each one done; the
parent kills it with SIGKILL at ten random moments (a random number of backups plus
a random fraction of the next). Then the next start of ``hms`` (even runs) or the
next backup (odd runs) must leave no temporary file, and every backup under its own
name must be whole.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from hms_desktop.cli import main
from hms_desktop.db.engine import Database
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.safety.backup import backup_database
from tests import factories as f
from tests.conftest import START, make_clinic
from tests.exports.helpers import bulk_history

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
RUNS = range(10)

BACKUP_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hms_desktop.db.engine import Database
    from hms_desktop.services.safety.backup import backup_database

    db = Database(sys.argv[1], must_exist=True)
    out = Path(sys.argv[2])
    print(0, flush=True)  # started: the kills land among the backups, not in the imports
    for n in range(1, 1000):
        backup_database(db, out / f"backup-{n}.sqlite3")
        print(n, flush=True)
    """
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    """A clinic of a few megabytes, so that one backup takes a while to copy and check."""
    folder = tmp_path_factory.mktemp("backup-source")
    shutil.copyfile(sqlite_template, folder / "clinic.sqlite3")
    url = f"sqlite:///{folder / 'clinic.sqlite3'}"
    clinic = make_clinic(url, FakeClock(START))
    dept = f.department(clinic)
    bulk_history(clinic, f.patient(clinic), f.doctor(clinic, dept), 20_000)
    clinic.close()
    yield url


def _sound(path: Path) -> bool:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("run", RUNS)
def test_a_killed_backup_leaves_no_temporary_file_after_the_next_start(
    source: str, tmp_path: Path, run: int
) -> None:
    rng = random.Random(run)
    out = tmp_path / "backups"
    out.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", BACKUP_LOOP, source, str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    try:
        for _ in range(1 + rng.randint(0, 2)):
            assert child.stdout.readline(), child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.0, 0.1))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()

    if run % 2 == 0:
        assert main(["--database", source, "stats"]) == 0  # the next start
    else:
        db = Database(source, must_exist=True)  # the next backup, into the same folder
        try:
            backup_database(db, out / "next.sqlite3")
        finally:
            db.dispose()

    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names  # no partial file of any kind
    for name in names:
        assert _sound(out / name), f"{name} is not a whole backup"


def test_a_backup_onto_a_full_disk_is_one_line_and_leaves_nothing(
    source: str, tmp_path: Path
) -> None:
    small = tmp_path / "small-disk"
    small.mkdir()
    assert shutil.which("unshare") is not None
    # A 256 kB file system of its own (a private mount, gone when the command ends).
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {small} && "
        f"{sys.executable} -m hms_desktop --database {source} backup {small}/copy.sqlite3; "
        f"echo rc=$?; ls -A {small}"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.stdout.strip() == "rc=2", (done.stdout, done.stderr)  # and ls found nothing
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hms: error: "), done.stderr
    assert "disk is full" in lines[0] or "No space left" in lines[0], lines[0]
