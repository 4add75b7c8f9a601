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
what is missing.

Retries: a ``failed`` period is taken over by the schedule only after its back-off
(:data:`RETRY_BACKOFF`: 1, 5, 15 and 60 minutes after attempts 1-4), and not after
:data:`MAX_ATTEMPTS`; then it stays failed until a person runs it (Run now, ``hms
jobs run``), which may take it over at once. The attempt number lives in the row's
counts (``attempts``), so every PC and every restart sees the same back-off.

Whose clock: every ledger decision (claimed when, stale since when, retry when) uses
the database server's clock on PostgreSQL (``now()``), so PCs whose clocks differ
agree. A PC whose own clock is more than :data:`MAX_SKEW` off the server's claims
nothing (:class:`ClockSkewError`): its schedule would fire at the wrong hour, and a
PC a day fast would use up tomorrow's periods. A SQLite database lives on this PC
(network shares are refused), so its "server" clock is this PC's clock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import JobRun
from hms_desktop.errors import HmsError
from hms_desktop.services.clinic import Clinic

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=30)
#: "retry" is the schedule taking over its own failed period after the back-off.
TRIGGERS = ("schedule", "catch-up", "retry", "manual", "cli")
#: Triggers of a person, who may rerun a failed period at once and after the last retry.
PERSON_TRIGGERS = ("manual", "cli")
#: How long the schedule waits before attempt 2, 3, 4 and 5 of a failed period.
RETRY_BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60))
MAX_ATTEMPTS = len(RETRY_BACKOFF) + 1
#: A PC whose clock is further than this from the database server's claims nothing.
MAX_SKEW = timedelta(minutes=2)


class ClockSkewError(HmsError):
    """This PC's clock is too far from the database server's to run scheduled jobs."""


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
    def attempts(self) -> int:
        """How many times this period has been started (1 for a first run)."""
        return max(1, self.counts.get("attempts", 1))

    @property
    def gave_up(self) -> bool:
        """Failed, and the schedule will not try again (a person may still run it)."""
        return self.status == "failed" and self.attempts >= MAX_ATTEMPTS

    @property
    def retry_at(self) -> datetime | None:
        """When the schedule tries a failed period again (ledger time), or None."""
        if self.status != "failed" or self.gave_up or self.finished_at is None:
            return None
        return self.finished_at + RETRY_BACKOFF[self.attempts - 1]

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
    #: 1 for the first run of a period, 2 for its first retry, ...
    attempt: int = 1


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
        The claim, or None when another run holds or finished this period, or a
        failed one is still backing off or out of retries (the caller then does
        nothing).

    Raises:
        ClockSkewError: this PC's clock is too far from the database server's.
        DatabaseUnavailableError: the database cannot be reached.
    """
    host = host or this_host()
    try:
        with clinic.db.write() as session:
            now = checked_ledger_now(clinic, session)
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
        pass  # the period is claimed already: see whether the claim is dead or may be retried
    with clinic.db.write() as session:
        now = checked_ledger_now(clinic, session)
        run_or_none = session.scalar(
            select(JobRun).where(JobRun.job_name == job_name, JobRun.period_key == period_key)
        )
        if run_or_none is None:
            return None
        run = run_or_none
        row = _row(run)
        stale = run.status == "running" and run.started_at < now - stale_after
        if run.status == "failed" and trigger not in PERSON_TRIGGERS:
            retry_at = row.retry_at
            if retry_at is None or now < retry_at:
                return None  # gave up, or still backing off
        elif not stale and run.status != "failed":
            return None
        attempt = row.attempts + 1
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
                counts=json.dumps({"attempts": attempt}),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        log.warning(
            "job %s %s: attempt %d took over the %s claim of %s (started %s)",
            job_name,
            period_key,
            attempt,
            run.status,
            run.host,
            run.started_at.isoformat(),
        )
        return Claim(run.id, job_name, period_key, taken_over_from=run.host, attempt=attempt)


def _counts_with_attempts(session: Session, run_id: int, counts: dict[str, Any]) -> str:
    """The run's counts, keeping its attempt number (retries need it after the run)."""
    values = {k: int(v) for k, v in counts.items() if k != "attempts"}
    previous = session.get(JobRun, run_id)
    attempts = _row(previous).attempts if previous is not None else 1
    if attempts > 1:
        values["attempts"] = attempts
    return json.dumps(values, sort_keys=False)


def finish(clinic: Clinic, run_id: int, counts: dict[str, Any]) -> None:
    """Mark a claimed run done with its counts."""
    with clinic.db.write() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                status="done",
                finished_at=ledger_now(clinic, session),
                counts=_counts_with_attempts(session, run_id, counts),
            )
        )


def fail(clinic: Clinic, run_id: int, error: str, counts: dict[str, Any] | None = None) -> None:
    """Mark a claimed run failed; the schedule retries it after its back-off, a person at once."""
    with clinic.db.write() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                status="failed",
                finished_at=ledger_now(clinic, session),
                error=error[:4000],
                counts=_counts_with_attempts(session, run_id, counts or {}),
            )
        )


def ledger_now(clinic: Clinic, session: Session) -> datetime:
    """The time ledger decisions use: PostgreSQL's ``now()``, else this PC's clock.

    SQLite has no server: the file is on this PC, whose clock is the only one. A fake
    clock that drives the server (tests) stands in for ``now()`` as well.
    """
    if clinic.db.is_sqlite or clinic.clock.drives_server:
        return clinic.now()
    server = session.scalar(text("SELECT now()"))
    assert isinstance(server, datetime)
    return server.astimezone(clinic.settings.tz)


def _span(delta: timedelta) -> str:
    minutes = round(abs(delta).total_seconds() / 60)
    if minutes >= 24 * 60:
        days, rest = divmod(minutes, 24 * 60)
        return f"{days} day{'s' if days != 1 else ''}" + (f" {rest // 60} h" if rest >= 60 else "")
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min"


def checked_ledger_now(clinic: Clinic, session: Session) -> datetime:
    """:func:`ledger_now`, after making sure this PC's clock agrees with it.

    Raises:
        ClockSkewError: this PC's clock is more than :data:`MAX_SKEW` from the server's.
    """
    server = ledger_now(clinic, session)
    skew = clinic.now() - server
    if abs(skew) > MAX_SKEW:
        side = "ahead of" if skew > timedelta(0) else "behind"
        message = (
            f"This PC's clock is {_span(skew)} {side} the database server's, so it runs no "
            "scheduled jobs; set the PC's date and time right (within 2 minutes)."
        )
        # The caller warns (the scheduler once per period, not every tick).
        log.debug("%s (PC %s, server %s)", message, clinic.now().isoformat(), server.isoformat())
        raise ClockSkewError(message)
    return server


def retry_state(clinic: Clinic, job_name: str, period_key: str) -> str:
    """Where the schedule stands with a period that failed.

    Returns:
        ``"due"`` (its back-off has passed, or it has no entry: run it), ``"wait"``
        (backing off, or another run holds it) or ``"over"`` (done, or failed for the
        last time: the schedule leaves it alone).
    """
    with clinic.db.read() as session:
        run = session.scalar(
            select(JobRun).where(JobRun.job_name == job_name, JobRun.period_key == period_key)
        )
        if run is None:
            return "due"
        row = _row(run)
        if row.status == "running":
            return "wait"
        retry_at = row.retry_at
        if retry_at is None:
            return "over"
        return "due" if ledger_now(clinic, session) >= retry_at else "wait"


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
