"""The scheduled jobs: when each fires, which period a firing covers, and its work.

Schedules are wall-clock times in the clinic's time zone (``settings.timezone``).
Each job answers three questions from the clinic's clock:

* ``due(now)``: the latest firing at or before ``now`` and its period, when that
  period is still worth running (the scheduler's tick and the start-up catch-up
  both ask this, so a missed firing is caught up by the same code that runs it
  on time);
* ``next_run(now)``: the next firing, for the Jobs panel and ``hms jobs list``;
* ``current_period(now)``: what "Run now" and the CLI run without arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from hms_desktop.config import parse_hhmm
from hms_desktop.errors import ValidationError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings.values import ClinicSettings as Settings
from hms_desktop.services.messaging import notifications
from hms_desktop.services.people.validation import parse_day
from hms_desktop.services.records import reports
from hms_desktop.services.safety import backup

REMINDERS = "reminders"
MONTHLY_REPORT = "monthly-report"
BACKUP = "backup"


@dataclass(frozen=True)
class Due:
    period_key: str
    fire_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What a job's work produced, before delivery: counts and a line per item."""

    counts: dict[str, int]
    lines: tuple[str, ...]
    summary: str


class JobDefinition(Protocol):
    name: str
    title: str

    def enabled(self, settings: Settings) -> bool: ...
    def fires_at(self, settings: Settings, period_key: str) -> datetime: ...
    def describe(self, settings: Settings) -> str: ...
    def due(self, settings: Settings, now: datetime) -> Due | None: ...
    def next_run(self, settings: Settings, now: datetime) -> datetime: ...
    def current_period(self, settings: Settings, now: datetime) -> str: ...
    def check_period(self, period_key: str) -> str: ...
    def execute(self, clinic: Clinic, period_key: str, run_id: int) -> Outcome: ...


def _at(settings: Settings, day: date, hhmm: str, name: str) -> datetime:
    # Attaching the zone to the wall-clock time gives the right UTC offset on DST days.
    return datetime.combine(day, parse_hhmm(hhmm, name), tzinfo=settings.tz)


class ReminderJob:
    """Daily at ``reminder_time``; covers the visits of the same or the next day."""

    name = REMINDERS
    title = "Appointment reminders"

    def _fire(self, settings: Settings, day: date) -> datetime:
        return _at(settings, day, settings.reminder_time, "reminder_time")

    def enabled(self, settings: Settings) -> bool:
        return True

    def describe(self, settings: Settings) -> str:
        lead = "the same day's" if settings.reminder_lead == "same_day" else "the next day's"
        return f"Daily at {settings.reminder_time}, for {lead} appointments"

    def due(self, settings: Settings, now: datetime) -> Due | None:
        today = now.astimezone(settings.tz).date()
        run_day = today if now >= self._fire(settings, today) else today - timedelta(days=1)
        target = notifications.target_day_for(run_day, settings.reminder_lead)
        if target < today:
            return None  # those visits are over: a reminder now would help nobody
        return Due(target.isoformat(), self._fire(settings, run_day))

    def next_run(self, settings: Settings, now: datetime) -> datetime:
        today = now.astimezone(settings.tz).date()
        fire = self._fire(settings, today)
        return fire if now < fire else self._fire(settings, today + timedelta(days=1))

    def current_period(self, settings: Settings, now: datetime) -> str:
        today = now.astimezone(settings.tz).date()
        return notifications.target_day_for(today, settings.reminder_lead).isoformat()

    def fires_at(self, settings: Settings, period_key: str) -> datetime:
        target = parse_day(period_key)
        return self._fire(settings, notifications.run_day_for(target, settings.reminder_lead))

    def check_period(self, period_key: str) -> str:
        return parse_day(period_key).isoformat()

    def execute(self, clinic: Clinic, period_key: str, run_id: int) -> Outcome:
        day = parse_day(period_key)
        counts = notifications.queue_reminders(clinic, day, run_id=run_id)
        return Outcome(
            counts=counts.as_counts(),
            lines=(),
            summary=f"Reminders for {day:%Y-%m-%d}",
        )


class MonthlyReportJob:
    """At ``monthly_report_time`` on the 1st; covers the month that has just ended."""

    name = MONTHLY_REPORT
    title = "Monthly doctor reports"

    def _fire(self, settings: Settings, first: date) -> datetime:
        return _at(settings, first, settings.monthly_report_time, "monthly_report_time")

    def enabled(self, settings: Settings) -> bool:
        return True

    def describe(self, settings: Settings) -> str:
        return f"On the 1st of each month at {settings.monthly_report_time}, for the month before"

    def due(self, settings: Settings, now: datetime) -> Due | None:
        first = now.astimezone(settings.tz).date().replace(day=1)
        fire = self._fire(settings, first)
        if now < fire:
            first = (first - timedelta(days=1)).replace(day=1)
            fire = self._fire(settings, first)
        return Due(reports.previous_month(first), fire)

    def next_run(self, settings: Settings, now: datetime) -> datetime:
        first = now.astimezone(settings.tz).date().replace(day=1)
        fire = self._fire(settings, first)
        if now < fire:
            return fire
        return self._fire(settings, (first + timedelta(days=32)).replace(day=1))

    def current_period(self, settings: Settings, now: datetime) -> str:
        return reports.previous_month(now.astimezone(settings.tz).date())

    def fires_at(self, settings: Settings, period_key: str) -> datetime:
        _first, last = reports.month_bounds(reports.parse_month(period_key))
        return self._fire(settings, last + timedelta(days=1))

    def check_period(self, period_key: str) -> str:
        return reports.parse_month(period_key)

    def execute(self, clinic: Clinic, period_key: str, run_id: int) -> Outcome:
        made = reports.generate_reports(clinic, period_key, run_id=run_id)
        created = [m for m in made if m.created]
        lines = tuple(
            f"report #{m.report_id}  {m.doctor}: {m.total} appointments"
            + ("" if m.created else " (existed already)")
            for m in made
        )
        return Outcome(
            counts={"doctors": len(made), "generated": len(created)},
            lines=lines,
            summary=f"Monthly reports for {reports.month_label(period_key)}",
        )


class BackupJob:
    """Daily at ``backup_time``: an online copy of the database, keeping the newest N."""

    name = BACKUP
    title = "Database backup"

    def _fire(self, settings: Settings, day: date) -> datetime:
        return _at(settings, day, settings.backup_time, "backup_time")

    def enabled(self, settings: Settings) -> bool:
        # Keeping 0 backups turns the schedule off (PostgreSQL clinics often back up
        # the server itself); a backup by hand still works.
        return settings.backup_retention > 0

    def describe(self, settings: Settings) -> str:
        return f"Daily at {settings.backup_time}, keeping the newest {settings.backup_retention}"

    def due(self, settings: Settings, now: datetime) -> Due | None:
        today = now.astimezone(settings.tz).date()
        day = today if now >= self._fire(settings, today) else today - timedelta(days=1)
        # A missed evening is caught up once at the next start; a copy is a copy.
        return Due(day.isoformat(), self._fire(settings, day))

    def next_run(self, settings: Settings, now: datetime) -> datetime:
        today = now.astimezone(settings.tz).date()
        fire = self._fire(settings, today)
        return fire if now < fire else self._fire(settings, today + timedelta(days=1))

    def current_period(self, settings: Settings, now: datetime) -> str:
        return now.astimezone(settings.tz).date().isoformat()

    def fires_at(self, settings: Settings, period_key: str) -> datetime:
        return self._fire(settings, parse_day(period_key))

    def check_period(self, period_key: str) -> str:
        return parse_day(period_key).isoformat()

    def execute(self, clinic: Clinic, period_key: str, run_id: int) -> Outcome:
        path = backup.run_scheduled_backup(clinic)
        kept = len(backup.list_backups(clinic.settings.effective_backup_dir))
        return Outcome(
            counts={"written": 1, "kept": kept},
            lines=(str(path),),
            summary=f"Backup for {period_key}",
        )


def enabled_jobs(settings: Settings) -> dict[str, JobDefinition]:
    """The jobs this clinic's settings schedule."""
    return {name: job for name, job in JOBS.items() if job.enabled(settings)}


JOBS: dict[str, JobDefinition] = {
    REMINDERS: ReminderJob(),
    MONTHLY_REPORT: MonthlyReportJob(),
    BACKUP: BackupJob(),
}


def get_job(name: str) -> JobDefinition:
    """The job called ``name``.

    Raises:
        ValidationError: an unknown name (the message lists the known ones).
    """
    try:
        return JOBS[name]
    except KeyError:
        raise ValidationError(
            f"There is no job {name!r}; the jobs are {', '.join(JOBS)}.", field="job"
        ) from None
