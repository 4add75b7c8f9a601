"""The in-process scheduler: APScheduler 3 ``BackgroundScheduler`` in the clinic's time zone.

Why a tick rather than a cron trigger per job: each job's APScheduler entry is a
short interval (``tick_seconds``, 30 s) that asks the job definition "what is
due at the clinic's *now*?" and runs it through the ledger. So

* the very first tick after :meth:`ClinicScheduler.start` is the catch-up: a
  firing missed while the application was closed is due and runs once;
* the firing time follows the clinic's clock (a fake one in tests), and a PC
  that slept through 08:00 runs the reminders when it wakes;
* one code path decides on-time, late and repeated firings; the ledger makes a
  second start, a second tick or a second PC do nothing;
* a run that fails is retried by later ticks once the ledger's back-off has passed
  (1, 5, 15, 60 minutes), then left failed for a person (Jobs panel, status bar);
* a PC whose clock is more than 2 minutes off the database server's claims nothing
  and says so once (``failed`` event with the ledger's message).

A reminder run fires at most ``tick_seconds`` after the configured time.
Jobs never touch widgets: they report through ``on_event`` (called on a worker
thread; ``ui.job_bridge`` moves it to the UI thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from hms_desktop.errors import HmsError
from hms_desktop.jobs.definitions import JOBS, enabled_jobs, get_job
from hms_desktop.jobs.runner import EventSink, JobEvent, RunResult, deliver, emit, run_job
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging.email_delivery import SmtpSender
from hms_desktop.services.messaging.outbox import BACKOFF_BASE, MAX_ATTEMPTS, DeliveryResult
from hms_desktop.services.safety import job_ledger
from hms_desktop.services.safety.job_ledger import JobRunRow

log = logging.getLogger(__name__)

OUTBOX_JOB = "outbox"


class _BusyTickFilter(logging.Filter):
    """A tick skipped because the previous one still runs (a long run) is normal, not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


_apscheduler_log = logging.getLogger("hms_desktop.jobs.apscheduler")
_apscheduler_log.addFilter(_BusyTickFilter())


@dataclass(frozen=True)
class JobInfo:
    """A job as the Jobs panel and ``hms jobs list`` show it."""

    name: str
    title: str
    schedule: str
    next_run: datetime | None
    current_period: str
    last_run: JobRunRow | None
    can_run_now: bool = True


def list_jobs(clinic: Clinic, *, delivery_next: datetime | None = None) -> list[JobInfo]:
    """Every job with its schedule, next run (clinic time) and last ledger entry."""
    settings, now = clinic.settings, clinic.now()
    infos = [
        JobInfo(
            name=job.name,
            title=job.title,
            schedule=job.describe(settings),
            next_run=job.next_run(settings, now),
            current_period=job.current_period(settings, now),
            last_run=job_ledger.last_run(clinic, job.name),
        )
        for job in enabled_jobs(settings).values()
    ]
    retry_minutes = ", ".join(
        str(int(BACKOFF_BASE.total_seconds() // 60) * 2**i) for i in range(MAX_ATTEMPTS - 1)
    )
    smtp = "" if settings.smtp_configured else " (email not configured: messages wait)"
    infos.append(
        JobInfo(
            name=OUTBOX_JOB,
            title="Email delivery",
            schedule=f"Every minute while the app runs; retries after {retry_minutes} min{smtp}",
            next_run=delivery_next,
            current_period="",
            last_run=None,
            can_run_now=True,
        )
    )
    return infos


class ClinicScheduler:
    """Runs the clinic's jobs in the background while the application is open.

    Args:
        clinic: the clinic; its clock and ``settings.timezone`` drive the schedule.
        on_event: called with a :class:`JobEvent` after each run (on a worker thread).
        tick_seconds: how often each job checks whether its period is due.
        delivery_seconds: how often the outbox is delivered (retries with back-off).
        sender_factory: builds the SMTP sender (the real one unless a test swaps it).
    """

    def __init__(
        self,
        clinic: Clinic,
        *,
        on_event: EventSink | None = None,
        tick_seconds: float = 30.0,
        delivery_seconds: float = 60.0,
        sender_factory: Callable[..., SmtpSender] = SmtpSender,
        host: str | None = None,
    ) -> None:
        self.clinic = clinic
        self.on_event = on_event
        self.tick_seconds = tick_seconds
        self.delivery_seconds = delivery_seconds
        self._sender_factory = sender_factory
        self._host = host or job_ledger.this_host()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        #: Runs and delivery passes of this process take turns, so a run's summary counts
        #: its own deliveries, not a delivery pass racing it for the same messages.
        self._work = threading.Lock()
        #: The period each job last handled in this process, so a tick costs no query.
        self._handled: dict[str, str] = {}
        #: The failed period each job retries once the ledger's back-off has passed.
        self._retrying: dict[str, str] = {}
        #: The period whose run could not start (database away), to announce it only once.
        self._unreachable: dict[str, str] = {}
        self._started_at: datetime | None = None
        self._scheduler: BackgroundScheduler | None = None

    # --- life cycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Start the background thread; the first tick at once is the catch-up."""
        if self.running:
            return
        self._stop.clear()
        self._started_at = self.clinic.now()
        tz = self.clinic.settings.tz
        scheduler = BackgroundScheduler(
            timezone=tz,
            logger=_apscheduler_log,
            executors={"default": ThreadPoolExecutor(max_workers=len(JOBS) + 1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = datetime.now(tz)
        # Every job ticks; a tick asks whether its job is on now, so turning one on or off
        # in the settings takes effect without a restart.
        for name, job in JOBS.items():
            scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=self.tick_seconds, timezone=tz),
                args=[name],
                id=name,
                name=job.title,
                next_run_time=now,
            )
        scheduler.add_job(
            self._deliver,
            IntervalTrigger(seconds=self.delivery_seconds, timezone=tz),
            id=OUTBOX_JOB,
            name="Email delivery",
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started (time zone %s, tick %ss)", tz, self.tick_seconds)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the thread; with ``wait`` block until running jobs have stopped.

        Running jobs notice the stop between messages, so this returns within one
        SMTP timeout at worst. Safe to call twice.
        """
        self._stop.set()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=wait)
            log.info("scheduler stopped")

    # --- what the panel and the window ask ------------------------------------------------------
    def jobs(self) -> list[JobInfo]:
        """Each job with its schedule, next run and last run (reads the database)."""
        delivery_next = None
        scheduler = self._scheduler
        if scheduler is not None:
            entry = scheduler.get_job(OUTBOX_JOB)
            if entry is not None and entry.next_run_time is not None:
                delivery_next = entry.next_run_time.astimezone(self.clinic.settings.tz)
        return list_jobs(self.clinic, delivery_next=delivery_next)

    def run_now(self, name: str) -> RunResult | None:
        """Run a job's current period in the calling thread (the UI calls it via ops.run).

        ``outbox`` runs a delivery pass and returns None. The ledger still applies:
        a period that already ran is skipped.
        """
        if name == OUTBOX_JOB:
            self.deliver_now()
            return None
        with self._work:
            result = run_job(
                self.clinic,
                name,
                trigger="manual",
                on_event=self.on_event,
                sender_factory=self._sender_factory,
                should_stop=self._stop.is_set,
                host=self._host,
            )
        self._after_run(name, result)
        return result

    def deliver_now(self) -> DeliveryResult:
        """One delivery pass now (waits for a run in progress to finish first)."""
        with self._work:
            return self._deliver_unlocked()

    def _deliver_unlocked(self) -> DeliveryResult:
        return deliver(
            self.clinic,
            on_event=self.on_event,
            sender_factory=self._sender_factory,
            should_stop=self._stop.is_set,
        )

    # --- scheduler thread -----------------------------------------------------------------------
    def _tick(self, name: str) -> None:
        if self._stop.is_set():
            return
        job = get_job(name)
        if not job.enabled(self.clinic.settings):
            return  # switched off (scheduled backups: "keep 0")
        due = job.due(self.clinic.settings, self.clinic.now())
        if due is None:
            return
        with self._lock:
            if self._handled.get(name) == due.period_key:
                return
            retrying = self._retrying.get(name) == due.period_key
        started = self._started_at
        trigger = "catch-up" if started is not None and due.fire_at < started else "schedule"
        try:
            if retrying:
                # The ledger keeps the back-off (shared by every PC and restart); ask it
                # rather than a timer of this process.
                state = job_ledger.retry_state(self.clinic, name, due.period_key)
                if state == "wait":
                    return
                if state == "over":
                    with self._lock:
                        self._handled[name] = due.period_key
                        self._retrying.pop(name, None)
                    return
                trigger = "retry"
            with self._work:
                if self._stop.is_set():  # the stop came while waiting for another run
                    return
                result = run_job(
                    self.clinic,
                    name,
                    due.period_key,
                    trigger=trigger,
                    on_event=self.on_event,
                    sender_factory=self._sender_factory,
                    should_stop=self._stop.is_set,
                    host=self._host,
                )
        except Exception as err:  # cannot claim (database away, clock wrong): next tick
            with self._lock:
                first = self._unreachable.get(name) != due.period_key
                self._unreachable[name] = due.period_key
            log.log(
                logging.WARNING if first else logging.DEBUG,
                "job %s %s: could not start (%s); will retry",
                name,
                due.period_key,
                err,
            )
            if first:  # one notification per outage, not one every tick
                emit(
                    self.on_event,
                    JobEvent("failed", name, due.period_key, job.title, str(err), trigger=trigger),
                )
            return
        with self._lock:
            self._unreachable.pop(name, None)
        self._after_run(name, result)

    def _after_run(self, name: str, result: RunResult) -> None:
        """Remember what became of a period, so later ticks cost no query unless needed."""
        existing = result.existing.status if result.existing is not None else ""
        with self._lock:
            if result.status == "failed" or (result.status == "skipped" and existing == "failed"):
                # Failed (here or elsewhere): later ticks ask the ledger whether its
                # back-off has passed, and stop once it is done or out of retries.
                self._retrying[name] = result.period_key
                self._handled.pop(name, None)
            elif result.status == "skipped" and existing == "running":
                # A claim still "running" may be a crashed run: ticks keep asking, and
                # the ledger hands the period over once the claim is stale.
                self._handled.pop(name, None)
            else:
                self._handled[name] = result.period_key
                self._retrying.pop(name, None)

    def _deliver(self) -> None:
        if self._stop.is_set():
            return
        if not self._work.acquire(blocking=False):
            return  # a run is delivering right now; the next pass picks up the rest
        try:
            self._deliver_unlocked()
        except HmsError as err:  # the database is away: the next pass tries again
            log.warning("outbox delivery skipped: %s", err)
        except Exception:
            log.exception("outbox delivery failed")
        finally:
            self._work.release()
