"""Never a partial file: cancel, errors and crashes leave the target as it was, and no temp file."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hms_desktop.errors import OperationCancelledError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports
from hms_desktop.services.files.atomic_file import TEMP_SUFFIX
from hms_desktop.services.files.exports import ExportError
from hms_desktop.services.safety import audit
from tests import factories as f
from tests.exports.conftest import leftovers
from tests.exports.helpers import bulk_history, read_csv

REPO = Path(__file__).resolve().parents[2]
ROWS = 3000


@pytest.fixture
def big(clinic: Clinic) -> int:
    """A patient with ROWS treatments (bulk-inserted)."""
    dept = f.department(clinic)
    doc = f.doctor(clinic, dept, "Dr. Bulk")
    pid = f.patient(clinic, "Zoë Bulk")
    bulk_history(clinic, pid, doc, ROWS)
    return pid


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp folder for this test only (openpyxl streams its sheet there)."""
    folder = tmp_path / "systmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _cancel_after(calls: int):
    seen = 0

    def should_cancel() -> bool:
        nonlocal seen
        seen += 1
        return seen > calls

    return should_cancel


def _last_outcome(clinic: Clinic) -> dict:
    entry = audit.list_entries(clinic, SYSTEM, action_prefix="history.export", limit=1)[0]
    return json.loads(entry.details)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cancel_leaves_nothing(
    clinic: Clinic, big: int, out_dir: Path, private_tmp: Path, fmt: str
):
    target = out_dir / f"h.{fmt}"
    with pytest.raises(OperationCancelledError):
        exports.export_history(clinic, SYSTEM, big, target, should_cancel=_cancel_after(ROWS // 2))
    assert leftovers(out_dir) == []
    assert list(private_tmp.iterdir()) == []  # openpyxl's streamed sheet is gone too
    outcome = _last_outcome(clinic)
    assert outcome["outcome"] == "cancelled" and 0 < outcome["rows"] < ROWS


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_failing_progress_callback_keeps_the_old_file(
    clinic: Clinic, big: int, out_dir: Path, private_tmp: Path, fmt: str, monkeypatch
):
    target = out_dir / f"h.{fmt}"
    target.write_bytes(b"the previous export")
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        assert total == ROWS
        if done > 100:
            raise RuntimeError("injected failure")

    monkeypatch.setattr(exports, "PROGRESS_INTERVAL_S", 0.0)  # report every row
    with pytest.raises(RuntimeError, match="injected failure"):
        exports.export_history(clinic, SYSTEM, big, target, progress=progress)
    assert target.read_bytes() == b"the previous export"
    assert leftovers(out_dir) == [target.name]
    assert list(private_tmp.iterdir()) == []
    outcome = _last_outcome(clinic)
    assert outcome["outcome"] == "failed" and "injected failure" in outcome["error"]


def test_failure_in_the_final_progress_report_leaves_nothing(
    clinic: Clinic, big: int, out_dir: Path
):
    def progress(done: int, total: int) -> None:
        if done == total:  # every row is written; the file is not yet in place
            raise RuntimeError("late failure")

    with pytest.raises(RuntimeError, match="late failure"):
        exports.export_history(clinic, SYSTEM, big, out_dir / "h.xlsx", progress=progress)
    assert leftovers(out_dir) == []


def test_disk_full_midway_is_a_clear_error(clinic: Clinic, big: int, out_dir: Path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_INTERVAL_S", 0.0)  # report every row

    def progress(done: int, total: int) -> None:
        if done > 500:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match=r"No space left on device\. Choose another folder"):
        exports.export_history(clinic, SYSTEM, big, out_dir / "h.csv", progress=progress)
    assert leftovers(out_dir) == []


@pytest.fixture
def unwritable(out_dir: Path) -> Iterator[Path]:
    """``out_dir`` made unwritable, for root too (root ignores permission bits)."""
    if os.geteuid() != 0:
        out_dir.chmod(0o500)
        yield out_dir
        out_dir.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(out_dir)]).returncode != 0:
        pytest.skip("running as root without chattr: cannot make a folder unwritable")
    try:
        yield out_dir
    finally:
        subprocess.run([chattr, "-i", str(out_dir)], check=True)


def test_unwritable_folder_is_a_clear_error(clinic: Clinic, big: int, unwritable: Path):
    with pytest.raises(ExportError, match="permission denied"):
        exports.export_history(clinic, SYSTEM, big, unwritable / "h.xlsx")
    assert leftovers(unwritable) == []
    assert _last_outcome(clinic)["outcome"] == "failed"


CRASHING_CHILD = textwrap.dedent(
    """
    import os, sys
    from hms_desktop.services.files import exports
    from hms_desktop.services.actor import SYSTEM
    from tests.conftest import make_clinic
    from hms_desktop.services.clock import FakeClock
    from tests.conftest import START

    url, patient_id, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clinic = make_clinic(url, FakeClock(START))

    def crash(done, total):
        if done > 1000:
            os._exit(9)  # no cleanup of any kind: like a power cut or a kill -9

    exports.PROGRESS_INTERVAL_S = 0.0
    exports.export_history(clinic, SYSTEM, patient_id, target, progress=crash)
    """
)


def test_crash_leaves_no_target_and_the_next_export_sweeps_the_temp_file(
    sqlite_clinic: Clinic, out_dir: Path
):
    dept = f.department(sqlite_clinic)
    doc = f.doctor(sqlite_clinic, dept)
    pid = f.patient(sqlite_clinic, "Crash Test")
    bulk_history(sqlite_clinic, pid, doc, ROWS)
    target = out_dir / "h.csv"
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, sqlite_clinic.db.url, str(pid), str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr
    left = leftovers(out_dir)
    assert not target.exists()
    assert len(left) == 1 and left[0].startswith(".h.csv~") and left[0].endswith(TEMP_SUFFIX)

    exports.export_history(sqlite_clinic, SYSTEM, pid, out_dir / "again.csv")
    assert leftovers(out_dir) == ["again.csv"]
    assert len(read_csv(out_dir / "again.csv")) == ROWS + 1


MEASURING_CHILD = textwrap.dedent(
    """
    import resource, sys
    from hms_desktop.services.files import exports
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.clock import FakeClock
    from tests.conftest import START, make_clinic

    url, patient_id, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clinic = make_clinic(url, FakeClock(START))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = exports.export_history(clinic, SYSTEM, patient_id, target)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(result.rows, before, after)  # peak resident set, KiB on Linux
    """
)


def _peak_growth_mib(url: str, patient_id: int, target: Path) -> tuple[int, float]:
    """Rows written, and how much the peak memory of a fresh process grew while exporting."""
    child = subprocess.run(
        [sys.executable, "-c", MEASURING_CHILD, url, str(patient_id), str(target)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows, before, after = (int(x) for x in child.stdout.split())
    return rows, (after - before) / 1024


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "small", "large"), [("csv", 3000, 30000), ("xlsx", 2000, 20000)])
def test_memory_stays_flat(sqlite_clinic: Clinic, out_dir: Path, fmt: str, small: int, large: int):
    dept = f.department(sqlite_clinic)
    few, many = f.patient(sqlite_clinic, "Few Rows"), f.patient(sqlite_clinic, "Many Rows")
    # A doctor each: bulk visits reuse the same days and times.
    bulk_history(sqlite_clinic, few, f.doctor(sqlite_clinic, dept), small)
    bulk_history(sqlite_clinic, many, f.doctor(sqlite_clinic, dept), large)
    url = sqlite_clinic.db.url

    rows_small, grew_small = _peak_growth_mib(url, few, out_dir / f"few.{fmt}")
    rows_large, grew_large = _peak_growth_mib(url, many, out_dir / f"many.{fmt}")
    print(
        f"\n{fmt}: peak memory grew {grew_small:.1f} MiB exporting {rows_small:,} rows, "
        f"{grew_large:.1f} MiB exporting {rows_large:,}"
    )
    assert (rows_small, rows_large) == (small, large)
    # Ten times the rows, about the same memory: no row is kept once written. (Holding
    # the large export's rows in a list would add well over 20 MiB.)
    assert grew_large < grew_small + 8.0
