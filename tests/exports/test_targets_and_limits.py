"""Exports write only regular files, never cut a value, and leave nothing after a crash.

Decided and documented in :mod:`hms_desktop.services.files.atomic_file`: a device, a
folder, a pipe or a socket at the target is refused; a symbolic link is written
through (the file it points to is replaced atomically; the link stays a link).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from hms_desktop.cli import main
from hms_desktop.db.models import Appointment, Treatment
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports
from hms_desktop.services.files.atomic_file import TEMP_SUFFIX
from hms_desktop.services.files.spreadsheet_safety import ooxml_unescape
from hms_desktop.services.files.table_files import XLSX_MAX_CELL, excel_length
from tests import factories as f
from tests.cli.conftest import Result, assert_one_line_error
from tests.exports.conftest import leftovers
from tests.exports.helpers import bulk_history

REPO = Path(__file__).resolve().parents[2]


def _patient_with_notes(clinic: Clinic, notes: list[str]) -> int:
    """A patient with one treatment per note, the notes written as imported data would be."""
    dept = f.department(clinic)
    doc = f.doctor(clinic, dept)
    pid = f.patient(clinic, "Lena Longtext")
    bulk_history(clinic, pid, doc, len(notes))
    with clinic.db.write() as session:
        ids = session.scalars(
            select(Treatment.id)
            .join(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.patient_id == pid)
            .order_by(Appointment.day, Appointment.start_time)
        ).all()
        for treatment_id, note in zip(ids, notes, strict=True):
            session.execute(
                update(Treatment).where(Treatment.id == treatment_id).values(notes=note)
            )
    return pid


def _long(n: int, *, start: str = "Note") -> str:
    """``n`` characters of text with a carriage return and line feed every 50."""
    line = (start + " abcdefghij" * 5)[:48] + "\r\n"
    return (line * (n // 50 + 1))[:n]


def _xlsx_notes(path: Path) -> list[str]:
    ws = load_workbook(path, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    column = list(rows[0]).index("Notes")
    return [ooxml_unescape(r[column]) for r in rows[1:]]


def test_a_40000_character_note_is_refused_for_excel_before_anything_is_kept(
    clinic: Clinic, out_dir: Path
) -> None:
    huge = _long(40_000)
    pid = _patient_with_notes(clinic, ["short", huge, "also short", huge + "!"])
    target = out_dir / "history.xlsx"

    with pytest.raises(ValidationError) as refused:
        exports.export_history(clinic, SYSTEM, pid, target)

    message = str(refused.value)
    assert "2 rows hold text longer than the 32,767 characters" in message
    assert "row 2: Notes, 40,000 characters" in message
    assert "row 4: Notes, 40,001 characters" in message
    assert "export to CSV instead" in message
    assert leftovers(out_dir) == []  # no file, no partial file

    # CSV keeps it whole: the offered way out works.
    done = exports.export_history(clinic, SYSTEM, pid, out_dir / "history.csv")
    assert done.rows == 4
    with open(out_dir / "history.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[-1] for r in rows[1:]] == ["short", huge, "also short", huge + "!"]


@pytest.mark.parametrize("start", ["Note", "=SUM(A1)", "#N/A"])
def test_a_note_at_the_limit_with_carriage_returns_round_trips_whole(
    clinic: Clinic, out_dir: Path, start: str
) -> None:
    # Each CR is 7 characters in the file (_x000D_): the limit is on what the reader sees.
    notes = [_long(20_003, start=start), _long(XLSX_MAX_CELL, start=start), "x" * 100]
    pid = _patient_with_notes(clinic, notes)
    target = out_dir / "history.xlsx"
    exports.export_history(clinic, SYSTEM, pid, target)
    assert _xlsx_notes(target) == notes


def test_the_limit_counts_characters_as_excel_does() -> None:
    assert excel_length("a" * 10) == 10
    assert excel_length("😀" * 10) == 20  # outside the BMP: two UTF-16 units each


def test_a_text_beyond_the_bmp_is_measured_in_utf16(clinic: Clinic, out_dir: Path) -> None:
    pid = _patient_with_notes(clinic, ["😀" * 16_384])  # 16,384 characters, 32,768 units
    with pytest.raises(ValidationError, match="row 1: Notes, 32,768 characters"):
        exports.export_history(clinic, SYSTEM, pid, out_dir / "h.xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_devices_folders_and_pipes_are_refused(clinic: Clinic, out_dir: Path, fmt: str) -> None:
    pid = _patient_with_notes(clinic, ["n"])
    fifo = out_dir / f"pipe.{fmt}"
    os.mkfifo(fifo)
    folder = out_dir / f"folder.{fmt}"
    folder.mkdir()
    to_null = out_dir / f"null-link.{fmt}"
    to_null.symlink_to(os.devnull)
    for target, kind in (
        (Path(os.devnull), "is a device"),
        (Path("/dev/full"), "is a device"),
        (fifo, "is a pipe"),
        (folder, "is a folder"),
        (to_null, f"(which leads to {os.devnull}) is a device"),
    ):
        with pytest.raises(ValidationError, match="choose a file name") as refused:
            exports.export_history(clinic, SYSTEM, pid, target, fmt=fmt)
        assert kind in str(refused.value)
    assert Path(os.devnull).is_char_device() and Path("/dev/full").is_char_device()
    assert fifo.is_fifo() and folder.is_dir() and to_null.is_symlink()
    assert sorted(leftovers(out_dir)) == sorted([fifo.name, folder.name, to_null.name])


def test_a_symlink_is_written_through_and_stays_a_link(clinic: Clinic, out_dir: Path) -> None:
    pid = _patient_with_notes(clinic, ["through the link"])
    real_dir = out_dir / "real"
    real_dir.mkdir()
    real = real_dir / "history.csv"
    real.write_text("old content\n")
    link = out_dir / "link.csv"
    link.symlink_to(real)
    dangling = out_dir / "new-link.csv"
    dangling.symlink_to(real_dir / "made-by-export.csv")

    exports.export_history(clinic, SYSTEM, pid, link)
    exports.export_history(clinic, SYSTEM, pid, dangling)

    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "through the link" in real.read_text(encoding="utf-8-sig")
    assert dangling.is_symlink()
    assert "through the link" in (real_dir / "made-by-export.csv").read_text(encoding="utf-8-sig")
    assert leftovers(real_dir) == ["history.csv", "made-by-export.csv"]


CRASHING_EXPORT = textwrap.dedent(
    """
    import os, sys
    from hms_desktop.services.files import exports
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.clock import FakeClock
    from tests.conftest import START, make_clinic

    url, patient_id, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clinic = make_clinic(url, FakeClock(START))

    def crash(done, total):
        if done > 500:
            os._exit(9)  # no clean-up of any kind, like kill -9

    exports.PROGRESS_INTERVAL_S = 0.0
    exports.export_history(clinic, SYSTEM, patient_id, target, progress=crash)
    """
)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_next_start_removes_a_crashed_exports_partial_file(
    sqlite_clinic: Clinic, tmp_path: Path, fmt: str
) -> None:
    clinic = sqlite_clinic
    dept = f.department(clinic)
    pid = f.patient(clinic, "Crash Test")
    bulk_history(clinic, pid, f.doctor(clinic, dept), 1500)
    out = tmp_path / "somewhere-else"
    out.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_EXPORT, clinic.db.url, str(pid), str(out / f"h.{fmt}")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 9, child.stderr
    [left] = leftovers(out)
    assert left.startswith(f".h.{fmt}~") and left.endswith(TEMP_SUFFIX)

    if fmt == "csv":
        assert main(["--database", clinic.db.url, "stats"]) == 0  # a start of hms
    else:  # the window's start (its worker part: lock, clean up, open)
        from hms_desktop.ui.shell.startup import StartOptions
        from hms_desktop.ui.shell.startup_open import open_for_start

        opened = open_for_start(clinic.pc, StartOptions(), None, None)  # type: ignore[arg-type]
        opened.clinic.close()

    assert leftovers(out) == []


def test_a_full_disk_during_an_export_is_one_line_and_leaves_nothing(
    sqlite_clinic: Clinic, tmp_path: Path
) -> None:
    clinic = sqlite_clinic
    dept = f.department(clinic)
    pid = f.patient(clinic, "Full Disk")
    bulk_history(clinic, pid, f.doctor(clinic, dept), 3000)  # about 200 kB of CSV
    small = tmp_path / "small-disk"
    small.mkdir()
    assert shutil.which("unshare") is not None
    # A 64 kB file system of its own (a private mount, gone when the command ends).
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {small} && "
        f"{sys.executable} -m hms_desktop --database {clinic.db.url} export history "
        f"--patient {pid} --output {small}/h.csv; echo rc=$?; ls -A {small}"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert "rc=2" in done.stdout, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith("hms: error: "), done.stderr
    assert "No space left on device" in lines[0]
    assert done.stdout.strip().endswith("rc=2")  # ls printed nothing: no file, no partial file


def test_export_to_a_device_from_the_command_line(
    sqlite_clinic: Clinic, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _patient_with_notes(sqlite_clinic, ["n"])
    code = main([
        "--database", sqlite_clinic.db.url, "export", "history", "--patient", str(pid),
        "--output", "/dev/full", "--format", "csv",
    ])  # fmt: skip
    result = Result(code, *capsys.readouterr())
    assert_one_line_error(result, "/dev/full is a device, not a file")
    assert Path("/dev/full").is_char_device()
