"""What the Jobs panel asks of the jobs, in one place: a snapshot, Run now, Retry.

Plain Python (no Qt): the panel calls these through ``Operations.run`` so the
window never waits on the database or the mail server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hms_desktop.jobs.runner import RunResult, deliver, run_job
from hms_desktop.jobs.scheduler import OUTBOX_JOB, ClinicScheduler, JobInfo, list_jobs
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging import outbox
from hms_desktop.services.messaging.outbox import DeliveryResult, OutboxRow
from hms_desktop.services.safety import audit, job_ledger
from hms_desktop.services.safety.job_ledger import JobRunRow


@dataclass(frozen=True)
class JobsSnapshot:
    jobs: list[JobInfo]
    runs: list[JobRunRow]
    messages: list[OutboxRow]
    counts: dict[str, int]
    smtp_configured: bool


def snapshot(
    clinic: Clinic,
    actor: Actor,
    scheduler: ClinicScheduler | None = None,
    *,
    statuses: Sequence[str] = (),
    runs: int = 30,
    messages: int = 300,
) -> JobsSnapshot:
    """Jobs, recent runs and outbox messages (filtered by status) for the panel.

    Raises:
        PermissionDeniedError: not staff.
    """
    require_staff(actor, "see the background jobs")
    return JobsSnapshot(
        jobs=scheduler.jobs() if scheduler is not None else list_jobs(clinic),
        runs=job_ledger.recent_runs(clinic, limit=runs),
        messages=outbox.list_messages(clinic, actor, statuses=statuses, limit=messages),
        counts=outbox.status_counts(clinic),
        smtp_configured=clinic.settings.smtp_configured,
    )


def run_now(
    clinic: Clinic, actor: Actor, name: str, scheduler: ClinicScheduler | None = None
) -> RunResult | DeliveryResult:
    """Run a job's current period now (still once per period), or a delivery pass.

    Raises:
        PermissionDeniedError: not staff.
        ValidationError: an unknown job.
    """
    require_staff(actor, "run background jobs")
    audit.record_now(clinic, actor, "job.run_now", "job", None, job=name)
    if name == OUTBOX_JOB:
        return scheduler.deliver_now() if scheduler is not None else deliver(clinic)
    if scheduler is not None:
        result = scheduler.run_now(name)
        assert result is not None
        return result
    return run_job(clinic, name, trigger="manual")


def retry(
    clinic: Clinic,
    actor: Actor,
    message_ids: Sequence[int] | None,
    scheduler: ClinicScheduler | None = None,
) -> tuple[int, DeliveryResult]:
    """Queue failed messages again (``None``: all failed) and deliver at once.

    Returns:
        How many were queued, and what the delivery pass did.
    """
    queued = outbox.retry(clinic, actor, message_ids)
    return queued, scheduler.deliver_now() if scheduler is not None else deliver(clinic)
