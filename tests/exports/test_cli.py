"""``hms export history`` and ``hms export appointments``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hms_desktop.cli import main
from hms_desktop.services.clinic import Clinic
from tests.exports.helpers import (
    APPOINTMENT_HEADER,
    HISTORY_HEADER,
    HistoryWorld,
    csv_cell,
    expected_appointments,
    expected_history,
    read_csv,
    read_xlsx,
    xlsx_cell,
)

REPO = Path(__file__).resolve().parents[2]
#: The console script pip installed beside this interpreter (pyproject [project.scripts]).
HMS = str(Path(sys.executable).with_name("hms"))


def hms(clinic: Clinic, *args: str) -> list[str]:
    return ["--database", clinic.db.url, "export", *args]


def test_history_csv_and_xlsx(clinic: Clinic, history: HistoryWorld, out_dir: Path, capsys):
    target = out_dir / "jose.csv"
    args = hms(clinic, "history", "--patient", str(history.jose), "--format", "csv")
    assert main([*args, "--output", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"3 rows written to {target}"
    expected = expected_history(clinic, history.jose)
    assert read_csv(target) == [HISTORY_HEADER, *([csv_cell(v) for v in r] for r in expected)]

    book = out_dir / "jose.xlsx"  # the format follows the suffix when not given
    history_args = ["history", "--patient", str(history.jose), "-o", str(book)]
    assert main(hms(clinic, *history_args)) == 0
    assert "3 rows written" in capsys.readouterr().out
    assert read_xlsx(book) == [HISTORY_HEADER, *([xlsx_cell(v) for v in r] for r in expected)]


def test_appointments_with_filters(clinic: Clinic, history: HistoryWorld, out_dir: Path, capsys):
    target = out_dir / "appts.csv"
    args = hms(
        clinic, "appointments", "--from", history.day1.isoformat(), "--to",
        history.day2.isoformat(), "--doctor", str(history.world.doctor_id),
        "--status", "completed", "--format", "csv", "--output", str(target),
    )  # fmt: skip
    assert main(args) == 0
    expected = expected_appointments(
        clinic,
        date_from=history.day1,
        date_to=history.day2,
        doctor_id=history.world.doctor_id,
        status="completed",
    )
    assert len(expected) == 3
    assert capsys.readouterr().out.strip() == f"3 rows written to {target}"
    assert read_csv(target) == [APPOINTMENT_HEADER, *([csv_cell(v) for v in r] for r in expected)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "--patient", "999", "-o", "{out}/x.csv"], "There is no patient with id 999"),
        (["history", "--patient", "1", "-o", "{out}/x.ods"], "Choose the format csv or xlsx"),
        (["history", "--patient", "1", "-o", "{out}/no/x.csv"], "does not exist"),
        (
            ["appointments", "--from", "2026-13-01", "--to", "2026-06-30", "-o", "{out}/a.csv"],
            "is not a real date: there is no month 13",
        ),
        (
            ["appointments", "--from", "2026-06-30", "--to", "2026-06-01", "-o", "{out}/a.csv"],
            "end date is before the start date",
        ),
    ],
    ids=["no-patient", "bad-format", "no-folder", "bad-date", "reversed-range"],
)
def test_errors_are_one_line_and_write_nothing(
    clinic: Clinic, out_dir: Path, capsys, args: list[str], message: str
):
    code = main(hms(clinic, *(a.format(out=out_dir) for a in args)))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hms: error: ") and message in lines[0]
    assert list(out_dir.iterdir()) == []


def test_installed_command_runs(sqlite_clinic: Clinic, out_dir: Path):
    """The real ``hms`` entry point, in its own process (as a script would call it)."""
    from tests import factories as f

    pid = f.patient(sqlite_clinic, "José Núñez")
    target = out_dir / "empty.xlsx"
    done = subprocess.run(
        [HMS, "--database", sqlite_clinic.db.url, "export",
         "history", "--patient", str(pid), "--format", "xlsx", "--output", str(target)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"0 rows written to {target}"
    assert read_xlsx(target) == [HISTORY_HEADER]
    missing = subprocess.run(
        [HMS, "--database", sqlite_clinic.db.url, "export",
         "history", "--patient", "4242", "--output", str(out_dir / "x.csv")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip() == "hms: error: There is no patient with id 4242."
