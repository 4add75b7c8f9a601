"""The job-run ledger: a job runs at most once per period, across PCs and restarts.

A run first *claims* its period (``reminders`` + ``2026-12-01``) by inserting a row;
the unique constraint on (job name, period key) lets exactly one PC or process
win. Everyone else finds the claim and does nothing.

Crashes: a claim stays ``running`` when the process that made it dies. A claim
older than :data:`STALE_AFTER` (30 minutes, far longer than any run takes) or a
``failed`` one may be taken over by a compare-and-swap update, so a crashed period
is not lost forever. Taking over is safe even if the first run was merely slow:
every item a job produces is unique in the database on its own (one reminder per
appointment and day, one report per doctor and month), so a second run only adds
what is missing. Timestamps come from the clinic's clock; PCs whose clocks differ
by minutes do not matter against a 30-minute timeout.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.models import JobRun
from hms_desktop.services.clinic import Clinic

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=30)
TRIGGERS = ("schedule", "catch-up", "manual", "cli")


def this_host() -> str:
    """Names this PC and process in the ledger, so the desk sees who ran what."""
    return f"{socket.gethostname()} pid {os.getpid()}"[:255]


@dataclass(frozen=True)
class JobRunRow:
    """One ledger entry, as the Jobs panel and ``hms jobs list`` show it."""

    id: int
    job_name: str
    period_key: str
    status: str
    trigger: str
    host: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    @property
    def counts_text(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items() if v) or "-"


@dataclass(frozen=True)
class Claim:
    """The right to run one period, held by this process until finished or failed."""

    run_id: int
    job_name: str
    period_key: str
    taken_over_from: str = ""


def _row(run: JobRun) -> JobRunRow:
    try:
        counts = {str(k): int(v) for k, v in json.loads(run.counts or "{}").items()}
    except (ValueError, TypeError, AttributeError):
        counts = {}
    return JobRunRow(
        id=run.id,
        job_name=run.job_name,
        period_key=run.period_key,
        status=run.status,
        trigger=run.trigger,
        host=run.host,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=counts,
        error=run.error,
    )


def claim(
    clinic: Clinic,
    job_name: str,
    period_key: str,
    *,
    trigger: str,
    host: str | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> Claim | None:
    """Claim a period before doing any of its work.

    Returns:
        The claim, or None when another run holds or finished this period (the
        caller then does nothing).
    """
    host = host or this_host()
    now = clinic.now()
    try:
        with clinic.db.write() as session:
            run = JobRun(
                job_name=job_name,
                period_key=period_key,
                status="running",
                host=host,
                trigger=trigger,
                started_at=now,
            )
            session.add(run)
            session.flush()
            return Claim(run.id, job_name, period_key)
    except IntegrityError:
        pass  # the period is claimed already: see whether the claim is dead
    with clinic.db.write() as session:
        run_or_none = session.scalar(
            select(JobRun).where(JobRun.job_name == job_name, JobRun.period_key == period_key)
        )
        if run_or_none is None:
            return None
        run = run_or_none
        stale = run.status == "running" and run.started_at < now - stale_after
        if not (stale or run.status == "failed"):
            return None
        # Compare-and-swap: of two PCs taking over the same dead claim, one matches.
        result = session.execute(
            update(JobRun)
            .where(
                JobRun.id == run.id,
                JobRun.status == run.status,
                JobRun.started_at == run.started_at,
            )
            .values(
                status="running",
                host=host,
                trigger=trigger,
                started_at=now,
                finished_at=None,
                error="",
                counts="{}",
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        log.warning(
            "job %s %s: took over the %s claim of %s (started %s)",
            job_name,
            period_key,
            run.status,
            run.host,
            run.started_at.isoformat(),
        )
        return Claim(run.id, job_name, period_key, taken_over_from=run.host)


def finish(clinic: Clinic, run_id: int, counts: dict[str, Any]) -> None:
    """Mark a claimed run done with its counts."""
    with clinic.db.write() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                status="done",
                finished_at=clinic.now(),
                counts=json.dumps({k: int(v) for k, v in counts.items()}, sort_keys=False),
            )
        )


def fail(clinic: Clinic, run_id: int, error: str, counts: dict[str, Any] | None = None) -> None:
    """Mark a claimed run failed; a later run (Run now, next start) may take it over."""
    with clinic.db.write() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                status="failed",
                finished_at=clinic.now(),
                error=error[:4000],
                counts=json.dumps({k: int(v) for k, v in (counts or {}).items()}),
            )
        )


def find(clinic: Clinic, job_name: str, period_key: str) -> JobRunRow | None:
    """The ledger entry of one period, or None when it never ran."""
    with clinic.db.read() as session:
        run = session.scalar(
            select(JobRun).where(JobRun.job_name == job_name, JobRun.period_key == period_key)
        )
        return _row(run) if run else None


def recent_runs(clinic: Clinic, *, job_name: str | None = None, limit: int = 50) -> list[JobRunRow]:
    """The newest runs first (all jobs, or one)."""
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job_name is not None:
        stmt = stmt.where(JobRun.job_name == job_name)
    with clinic.db.read() as session:
        return [_row(r) for r in session.scalars(stmt)]


def last_run(clinic: Clinic, job_name: str) -> JobRunRow | None:
    runs = recent_runs(clinic, job_name=job_name, limit=1)
    return runs[0] if runs else None
