"""The outbox: every reminder and report email, and its delivery state.

Jobs add messages in the same transaction as their work; delivery happens later
(right after a run, and every minute from the scheduler) and only when SMTP is
configured. A message goes ``pending -> sending -> sent``. A transient failure
puts it back to ``pending`` with an exponential back-off (1, 2, 4, 8 minutes);
after :data:`MAX_ATTEMPTS` tries, or at once for a refused recipient, it stays
``failed`` until someone presses Retry.

Nothing is sent twice: a message is *claimed* (``pending -> sending``) by a
conditional update before it is handed to the server, so two PCs delivering at
once never both send it. If the application dies between sending and recording
``sent``, nobody can know whether the server took it, so such a message becomes
``failed`` with an explanation instead of being sent again automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from hms_desktop import APP_ID
from hms_desktop.db.models import (
    Appointment,
    Department,
    Doctor,
    MonthlyReport,
    OutboxMessage,
    Patient,
)
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging.email_delivery import DeliveryError, Email, SmtpSender
from hms_desktop.services.messaging.notifications import reminder_text
from hms_desktop.services.safety import audit

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)
#: A message still "sending" after this long was interrupted by a crash.
SENDING_STALE_AFTER = timedelta(minutes=10)
STATUS_LABELS = {
    "pending": "Waiting",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "undeliverable": "No address",
    "expired": "Expired",
}

SenderFactory = Callable[..., SmtpSender]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    status: str
    recipient: str
    subject: str
    body: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str
    target_day: date | None
    appointment_id: int | None
    report_id: int | None
    patient_id: int | None
    doctor_id: int | None
    run_id: int | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery pass did. ``skipped`` says why nothing was tried."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    skipped: str = ""

    def as_counts(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "expired": self.expired,
        }


def _row(m: OutboxMessage) -> OutboxRow:
    return OutboxRow(
        id=m.id,
        kind=m.kind,
        status=m.status,
        recipient=m.recipient,
        subject=m.subject,
        body=m.body,
        attempts=m.attempts,
        created_at=m.created_at,
        next_attempt_at=m.next_attempt_at,
        sent_at=m.sent_at,
        last_error=m.last_error,
        target_day=m.target_day,
        appointment_id=m.appointment_id,
        report_id=m.report_id,
        patient_id=m.patient_id,
        doctor_id=m.doctor_id,
        run_id=m.run_id,
    )


def backoff(attempts: int) -> timedelta:
    """The wait before try ``attempts + 1``: 1, 2, 4, 8 ... minutes."""
    return BACKOFF_BASE * (2 ** max(0, attempts - 1))


# --- delivery ------------------------------------------------------------------------------


def _recover_interrupted(session: Session, now: datetime) -> int:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "sending",
            OutboxMessage.claimed_at < now - SENDING_STALE_AFTER,
        )
        .values(
            status="failed",
            last_error="Delivery was interrupted (the application stopped while sending); it may "
            "or may not have arrived. Press Retry to send it again.",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _opted_out() -> Any:
    return (
        select(Patient.id)
        .where(Patient.id == OutboxMessage.patient_id, Patient.reminders_opt_out.is_(True))
        .exists()
    )


def _reminder_still_wanted(local_now: datetime) -> Any:
    """The visit is still booked on the reminder's day, has not begun (a reminder after the
    visit is no use), and the patient still wants one."""
    booked = (
        select(Appointment.id)
        .where(
            Appointment.id == OutboxMessage.appointment_id,
            Appointment.status == "booked",
            Appointment.day == OutboxMessage.target_day,
            policy.not_begun_clause(Appointment.day, Appointment.start_time, local_now),
        )
        .exists()
    )
    return and_(booked, ~_opted_out())


def _expire_reminders(session: Session, local_now: datetime) -> int:
    """A reminder for a visit that is past or has begun, cancelled or moved, or for a
    patient who has opted out since, is no longer worth sending."""
    today = local_now.date()
    moved_or_closed = or_(
        select(Appointment.id)
        .where(
            Appointment.id == OutboxMessage.appointment_id,
            or_(
                Appointment.status != "booked",
                Appointment.day != OutboxMessage.target_day,
                ~policy.not_begun_clause(Appointment.day, Appointment.start_time, local_now),
            ),
        )
        .exists(),
        _opted_out(),
    )
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == "reminder",
            OutboxMessage.status == "pending",
            or_(OutboxMessage.target_day < today, moved_or_closed),
        )
        .values(
            status="expired",
            last_error="The visit is past or has begun, cancelled or moved, or the patient "
            "opted out.",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _claim(clinic: Clinic, message_id: int) -> Email | None:
    """pending -> sending, atomically; None when another PC or thread got it first."""
    now = clinic.now()
    local_now = now.astimezone(clinic.settings.tz).replace(tzinfo=None)
    with clinic.db.write() as session:
        # Checked again at the moment of sending: a pass over many messages takes a while,
        # and a visit cancelled (or an opt-out saved) meanwhile must not get its reminder.
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == "pending",
                or_(OutboxMessage.kind != "reminder", _reminder_still_wanted(local_now)),
            )
            .values(status="sending", claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        msg = session.get_one(OutboxMessage, message_id)
        if msg.kind == "reminder" and msg.appointment_id is not None:
            _refresh_reminder(session, msg)
        html = ""
        if msg.report_id is not None:
            html = (
                session.scalar(select(MonthlyReport.html).where(MonthlyReport.id == msg.report_id))
                or ""
            )
        stamp = msg.created_at.strftime("%Y%m%d%H%M%S")
        return Email(
            to=msg.recipient,
            subject=msg.subject,
            body=msg.body,
            html=html,
            message_id=f"<outbox-{msg.id}.{stamp}@{APP_ID}.invalid>",
        )


def _refresh_reminder(session: Session, msg: OutboxMessage) -> None:
    """Say what is true now: the visit may have moved to another time or doctor on the
    same day since the reminder was queued (the stored text is updated to match)."""
    row = session.execute(
        select(Appointment, Patient.full_name, Doctor.full_name, Department.name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.id == msg.appointment_id)
    ).first()
    if row is None:
        return
    appt, patient, doctor, department = row
    subject, body = reminder_text(
        patient=patient,
        doctor=doctor,
        department=department,
        day=appt.day,
        at=appt.start_time,
        visit_type=appt.visit_type,
    )
    if (subject[:255], body) != (msg.subject, msg.body):
        msg.subject, msg.body, msg.doctor_id = subject[:255], body, appt.doctor_id


def _record_sent(clinic: Clinic, message_id: int) -> None:
    with clinic.db.write() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
            .values(
                status="sent",
                sent_at=clinic.now(),
                attempts=OutboxMessage.attempts + 1,
                last_error="",
                next_attempt_at=None,
            )
            .execution_options(synchronize_session=False)
        )


def _record_failure(clinic: Clinic, message_id: int, err: DeliveryError) -> str:
    """Back to pending with a back-off, or failed for good; returns the new status."""
    now = clinic.now()
    with clinic.db.write() as session:
        msg = session.get_one(OutboxMessage, message_id)
        if msg.status != "sending":
            return msg.status
        msg.attempts += 1
        msg.last_error = str(err)[:2000]
        if err.permanent or msg.attempts >= MAX_ATTEMPTS:
            msg.status, msg.next_attempt_at = "failed", None
        else:
            msg.status, msg.next_attempt_at = "pending", now + backoff(msg.attempts)
        log.warning(
            "outbox %s to %s: attempt %s failed (%s); now %s",
            message_id,
            msg.recipient,
            msg.attempts,
            err,
            msg.status,
        )
        return msg.status


def deliver_due(
    clinic: Clinic,
    *,
    limit: int = 200,
    should_stop: Callable[[], bool] | None = None,
    sender_factory: SenderFactory = SmtpSender,
) -> DeliveryResult:
    """Send every pending message whose time has come, over one SMTP connection.

    Never raises for a mail-server problem: failures are recorded on the messages.
    Returns what was done; ``skipped`` is set when SMTP is not configured.
    """
    now = clinic.now()
    with clinic.db.write() as session:
        recovered = _recover_interrupted(session, now)
        expired = _expire_reminders(
            session, now.astimezone(clinic.settings.tz).replace(tzinfo=None)
        )
    if recovered:
        log.warning("outbox: %s interrupted deliveries marked failed", recovered)
    if not clinic.settings.smtp_configured:
        return DeliveryResult(expired=expired, skipped="Email (SMTP) is not configured.")
    with clinic.db.read() as session:
        due = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "pending",
                    or_(
                        OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
    if not due:
        return DeliveryResult(expired=expired)
    sent = retrying = failed = 0
    sender = sender_factory(clinic.settings)
    down: DeliveryError | None = None
    try:
        sender.connect()
    except DeliveryError as err:
        down = err
    try:
        for message_id in due:
            if should_stop is not None and should_stop():
                break
            email = _claim(clinic, message_id)
            if email is None:
                continue
            if down is None:
                try:
                    sender.send(email)
                except DeliveryError as err:
                    if not sender.connected:
                        down = err
                    status = _record_failure(clinic, message_id, err)
                else:
                    _record_sent(clinic, message_id)
                    log.info("outbox %s: sent to %s (%s)", message_id, email.to, email.subject)
                    sent += 1
                    continue
            else:
                status = _record_failure(clinic, message_id, down)
            if status == "failed":
                failed += 1
            else:
                retrying += 1
    finally:
        sender.close()
    return DeliveryResult(sent=sent, retrying=retrying, failed=failed, expired=expired)


# --- reading and retrying --------------------------------------------------------------------


def list_messages(
    clinic: Clinic,
    actor: Actor,
    *,
    statuses: Sequence[str] = (),
    run_id: int | None = None,
    limit: int = 500,
) -> list[OutboxRow]:
    """Newest first. Staff only (the messages name patients and their visits)."""
    require_staff(actor, "see the outbox")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(OutboxMessage.status.in_(list(statuses)))
    if run_id is not None:
        stmt = stmt.where(OutboxMessage.run_id == run_id)
    with clinic.db.read() as session:
        return [_row(m) for m in session.scalars(stmt)]


def status_counts(clinic: Clinic, *, run_id: int | None = None) -> dict[str, int]:
    """How many messages are in each status (of one run, or all)."""
    stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if run_id is not None:
        stmt = stmt.where(OutboxMessage.run_id == run_id)
    with clinic.db.read() as session:
        return {status: int(n) for status, n in session.execute(stmt)}


def _current_address(session: Session, msg: OutboxMessage) -> str:
    if msg.kind == "reminder" and msg.patient_id is not None:
        return session.scalar(select(Patient.email).where(Patient.id == msg.patient_id)) or ""
    if msg.doctor_id is not None:
        return session.scalar(select(Doctor.email).where(Doctor.id == msg.doctor_id)) or ""
    return msg.recipient


def retry(clinic: Clinic, actor: Actor, message_ids: Sequence[int] | None = None) -> int:
    """Queue failed (or address-less) messages again, with fresh attempts.

    The address is read again, so fixing a patient's email and pressing Retry
    delivers. ``None`` retries every failed message. Returns how many were queued.

    Raises:
        PermissionDeniedError: not staff.
    """
    require_staff(actor, "retry emails")
    now = clinic.now()
    stmt = select(OutboxMessage).where(OutboxMessage.status.in_(("failed", "undeliverable")))
    if message_ids is None:
        stmt = stmt.where(OutboxMessage.status == "failed")
    else:
        stmt = stmt.where(OutboxMessage.id.in_(list(message_ids)))
    queued = 0
    with clinic.db.write() as session:
        for msg in session.scalars(stmt).all():
            address = _current_address(session, msg)
            if not address:
                msg.status = "undeliverable"
                msg.last_error = "There is still no email address to send to."
                continue
            msg.recipient = address
            msg.status, msg.attempts, msg.last_error = "pending", 0, ""
            msg.next_attempt_at, msg.claimed_at = now, None
            queued += 1
            audit.record(
                session, actor, "outbox.retry", "outbox", msg.id, patient_id=msg.patient_id
            )
    log.info("outbox: %s messages queued again by %s", queued, actor.username)
    return queued
