"""The daily backup job: on time, caught up once, exactly once per day, retention kept."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from hms_desktop.errors import ValidationError
from hms_desktop.jobs import runner
from hms_desktop.jobs.definitions import BACKUP, JOBS
from hms_desktop.services.safety import backup
from tests import factories as f
from tests.conftest import CLINIC_TZ, make_clinic


def test_backup_is_due_after_its_time_and_covers_that_day(sqlite_clinic) -> None:
    job = JOBS[BACKUP]
    settings = sqlite_clinic.settings.replace(backup_time="22:00", backup_retention=3)
    assert job.enabled(settings)
    assert not job.enabled(settings.replace(backup_retention=0))
    evening = datetime(2026, 6, 15, 22, 0, tzinfo=CLINIC_TZ)
    assert job.due(settings, evening - timedelta(minutes=1)).period_key == "2026-06-14"
    assert job.due(settings, evening).period_key == "2026-06-15"
    assert job.next_run(settings, evening) == evening + timedelta(days=1)
    assert "22:00" in job.describe(settings)


def test_backup_runs_once_per_day_and_keeps_the_newest_copies(sqlite_url, clock, tmp_path) -> None:
    clinic = make_clinic(
        sqlite_url, clock, backup_dir=str(tmp_path / "backups"), backup_retention=2
    )
    try:
        patient_id = f.patient(clinic, "Backed Up")
        with pytest.raises(ValidationError, match="not due until 2026-06-15 22:00"):
            runner.run_job(clinic, BACKUP, trigger="run-now")  # 09:00: the day is not over
        clock.advance(hours=13, minutes=30)
        written = []
        for _day in range(3):
            result = runner.run_job(clinic, BACKUP, trigger="schedule")
            assert result.status == "done", result.message
            again = runner.run_job(clinic, BACKUP, trigger="catch-up")
            assert again.status == "skipped"  # the same day is never backed up twice
            written.append(result.lines[0])
            clock.advance(days=1)
        kept = backup.list_backups(tmp_path / "backups")
        assert [str(p) for p in kept] == written[-2:]
        with sqlite3.connect(kept[-1]) as conn:
            assert conn.execute(
                "SELECT full_name FROM patients WHERE id = ?", (patient_id,)
            ).fetchone() == ("Backed Up",)
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
    finally:
        clinic.close()
