"""When each job is due and which period a firing covers (clinic wall-clock time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hms_desktop.errors import ValidationError
from hms_desktop.jobs.definitions import JOBS, MonthlyReportJob, ReminderJob, get_job
from hms_desktop.services.clinic_settings.values import ClinicSettings

BERLIN = ZoneInfo("Europe/Berlin")
SETTINGS = ClinicSettings(timezone="Europe/Berlin")


def t(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("now", "lead", "period"),
    [
        (t(2026, 12, 1, 7, 59), "same_day", None),  # yesterday's visits are over
        (t(2026, 12, 1, 8, 0), "same_day", "2026-12-01"),
        (t(2026, 12, 1, 23, 59), "same_day", "2026-12-01"),
        (t(2026, 12, 1, 7, 59), "day_before", "2026-12-01"),  # missed yesterday: still useful
        (t(2026, 12, 1, 8, 0), "day_before", "2026-12-02"),
    ],
)
def test_which_reminder_day_is_due(now: datetime, lead: str, period: str | None) -> None:
    due = ReminderJob().due(SETTINGS.replace(reminder_lead=lead), now)
    assert (due.period_key if due else None) == period


def test_a_utc_instant_is_read_in_the_clinic_zone() -> None:
    # 07:30 UTC is 08:30 in Berlin in winter: the 08:00 reminders are due.
    now = datetime(2026, 12, 1, 7, 30, tzinfo=ZoneInfo("UTC"))
    due = ReminderJob().due(SETTINGS, now)
    assert due is not None and due.fire_at == t(2026, 12, 1, 8, 0)


@pytest.mark.parametrize(
    ("now", "period", "next_run"),
    [
        (t(2026, 12, 1, 0, 0), "2026-11", t(2027, 1, 1)),
        (t(2026, 11, 30, 23, 59), "2026-10", t(2026, 12, 1)),
        (t(2027, 1, 1, 0, 0), "2026-12", t(2027, 2, 1)),
        (t(2027, 3, 3, 12, 0), "2027-02", t(2027, 4, 1)),
    ],
)
def test_the_monthly_report_covers_the_month_just_ended(
    now: datetime, period: str, next_run: datetime
) -> None:
    job = MonthlyReportJob()
    due = job.due(SETTINGS, now)
    assert due is not None and due.period_key == period
    assert job.next_run(SETTINGS, now) == next_run
    assert job.current_period(SETTINGS, now) == period


def test_schedules_keep_wall_clock_time_across_daylight_saving() -> None:
    job = ReminderJob()
    before = job.next_run(SETTINGS, t(2026, 10, 24, 9, 0))  # clocks go back on 25 October
    assert before == t(2026, 10, 25, 8, 0)
    assert before.utcoffset() == timedelta(hours=1)
    assert job.next_run(SETTINGS, t(2026, 3, 28, 9, 0)).utcoffset() == timedelta(hours=2)


def test_unknown_jobs_and_periods_are_refused() -> None:
    with pytest.raises(ValidationError, match="the jobs are reminders, monthly-report, backup"):
        get_job("vacuum")
    with pytest.raises(ValidationError):
        JOBS["reminders"].check_period("2026-02-30")
    assert JOBS["monthly-report"].check_period("2026-02") == "2026-02"
    assert date.fromisoformat(JOBS["reminders"].check_period("2026-02-28"))
