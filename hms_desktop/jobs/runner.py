"""Run one job for one period, exactly once: claim, work, deliver, record, report.

Used by the scheduler (on time and catch-up), the Jobs panel's "Run now" and the
``hms jobs run`` command alike. Every run writes a log line and produces one
:class:`JobEvent` summary, which the desktop turns into a notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hms_desktop.errors import ValidationError
from hms_desktop.jobs.definitions import get_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging import outbox
from hms_desktop.services.messaging.email_delivery import SmtpSender
from hms_desktop.services.safety import job_ledger
from hms_desktop.services.safety.job_ledger import JobRunRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    """Something a job did, for the window (status bar, tray) and the Jobs panel.

    ``kind`` is ``finished``, ``skipped``, ``retrying`` (failed; the schedule tries
    again after its back-off), ``failed`` (for good: out of retries, or it could not
    start) or ``delivery``.
    """

    kind: str
    job_name: str
    period_key: str
    title: str
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    trigger: str = ""

    @property
    def is_problem(self) -> bool:
        return self.kind == "failed" or bool(self.counts.get("failed"))


EventSink = Callable[[JobEvent], None]


@dataclass(frozen=True)
class RunResult:
    """What one run did. ``status`` is ``done``, ``skipped`` (claimed elsewhere) or ``failed``."""

    job_name: str
    period_key: str
    status: str
    trigger: str
    message: str
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    #: One line per item produced (a message, a report), for ``hms jobs run``.
    lines: tuple[str, ...] = ()
    #: The ledger entry that made this run skip.
    existing: JobRunRow | None = None


def emit(sink: EventSink | None, event: JobEvent) -> None:
    """Hand an event to the sink; a broken listener must not break a job."""
    if sink is None:
        return
    try:
        sink(event)
    except Exception:
        log.exception("job event listener failed")


def _message_lines(clinic: Clinic, run_id: int) -> tuple[str, ...]:
    rows = outbox.list_messages(clinic, SYSTEM, run_id=run_id, limit=100_000)
    return tuple(
        f"{r.status_label:<10} {r.recipient or '(no email)'}  {r.subject}" for r in reversed(rows)
    )


def _summary(title: str, counts: dict[str, int]) -> str:
    words = {
        "queued": "queued",
        "generated": "generated",
        "sent": "sent",
        "waiting": "waiting to send",
        "failed": "failed",
        "no_email": "without email",
        "opted_out": "opted out",
        "already_started": "too late (visit begun)",
    }
    parts = [f"{counts[k]} {label}" for k, label in words.items() if counts.get(k)]
    return f"{title}: {', '.join(parts) if parts else 'nothing to do'}"


def _retry_note(clinic: Clinic, attempt: int, retry_at: datetime | None) -> str:
    if retry_at is not None:
        at = retry_at.astimezone(clinic.settings.tz)
        return f" (attempt {attempt} of {job_ledger.MAX_ATTEMPTS}; trying again at {at:%H:%M})"
    if attempt >= job_ledger.MAX_ATTEMPTS:
        return f" (attempt {attempt}; no more automatic retries: use Run now)"
    return ""


def run_job(
    clinic: Clinic,
    name: str,
    period_key: str | None = None,
    *,
    trigger: str,
    on_event: EventSink | None = None,
    sender_factory: Callable[..., SmtpSender] = SmtpSender,
    should_stop: Callable[[], bool] | None = None,
    host: str | None = None,
) -> RunResult:
    """Run job ``name`` for ``period_key`` (default: the current period) unless already run.

    A failure after the claim is recorded in the ledger (status ``failed``, which the
    schedule retries after its back-off and a person may rerun at once) and returned,
    not raised, so the scheduler survives it.

    Raises:
        ValidationError: an unknown job or a malformed period.
        DatabaseUnavailableError: the database cannot be reached to claim the period.
        ClockSkewError: this PC's clock is too far from the database server's.
    """
    job = get_job(name)
    settings = clinic.settings
    period = job.check_period(period_key or job.current_period(settings, clinic.now()))
    due_at = job.fires_at(settings, period)
    if due_at > clinic.now():
        # Claiming a period early would make its real run find it done: bookings made
        # in between would get no reminder, a month not yet over an incomplete report.
        raise ValidationError(
            f"{job.title} for {period}: not due until {due_at:%Y-%m-%d %H:%M}, and cannot "
            "run before then.",
            field="period",
        )
    claim = job_ledger.claim(clinic, name, period, trigger=trigger, host=host)
    if claim is None:
        existing = job_ledger.find(clinic, name, period)
        where = f" by {existing.host}" if existing and existing.host else ""
        state = existing.status if existing else "claimed"
        message = f"{job.title} for {period}: already {state}{where}; nothing to do."
        log.info("job %s %s (%s): %s", name, period, trigger, message)
        emit(on_event, JobEvent("skipped", name, period, job.title, message, trigger=trigger))
        return RunResult(name, period, "skipped", trigger, message, existing=existing)
    log.info("job %s %s: started (%s)", name, period, trigger)
    counts: dict[str, int] = {}
    try:
        outcome = job.execute(clinic, period, claim.run_id)
        counts.update(outcome.counts)
        outbox.deliver_due(clinic, should_stop=should_stop, sender_factory=sender_factory)
        by_status = outbox.status_counts(clinic, run_id=claim.run_id)
        counts.update(
            sent=by_status.get("sent", 0),
            waiting=by_status.get("pending", 0) + by_status.get("sending", 0),
            failed=by_status.get("failed", 0),
        )
        job_ledger.finish(clinic, claim.run_id, counts)
    except Exception as err:
        log.exception("job %s %s: attempt %d failed", name, period, claim.attempt)
        retry_at = None
        try:
            job_ledger.fail(clinic, claim.run_id, f"{type(err).__name__}: {err}", counts)
            row = job_ledger.find(clinic, name, period)
            retry_at = row.retry_at if row is not None else None
        except Exception:  # the database itself is gone; the stale claim is taken over later
            log.exception("job %s %s: could not record the failure", name, period)
        message = f"{job.title} for {period} failed: {err}" + _retry_note(
            clinic, claim.attempt, retry_at
        )
        kind = "failed" if retry_at is None else "retrying"
        emit(on_event, JobEvent(kind, name, period, job.title, message, counts, trigger))
        return RunResult(name, period, "failed", trigger, message, claim.run_id, counts)
    lines = outcome.lines + _message_lines(clinic, claim.run_id)
    message = _summary(outcome.summary, counts)
    log.info("job %s %s: %s", name, period, message)
    emit(on_event, JobEvent("finished", name, period, job.title, message, counts, trigger))
    return RunResult(name, period, "done", trigger, message, claim.run_id, counts, lines)


def deliver(
    clinic: Clinic,
    *,
    on_event: EventSink | None = None,
    sender_factory: Callable[..., SmtpSender] = SmtpSender,
    should_stop: Callable[[], bool] | None = None,
) -> outbox.DeliveryResult:
    """One delivery pass over the outbox (retries whose back-off has passed)."""
    result = outbox.deliver_due(clinic, should_stop=should_stop, sender_factory=sender_factory)
    if result.sent or result.failed or result.retrying:
        message = f"Email: {result.sent} sent, {result.retrying} to retry, {result.failed} failed"
        log.info("outbox: %s", message)
        emit(
            on_event,
            JobEvent("delivery", "outbox", "", "Email delivery", message, result.as_counts()),
        )
    return result
