"""Appointment reminders: who gets one for a day, what it says, and queuing it.

One reminder per booked appointment of the target day. Patients who opted out
get none, and neither do visits that have begun by the time a late (catch-up)
run gets to them. A patient without an email address gets an outbox item marked
``undeliverable`` (so the desk sees it and can phone) and a log line, never a
crash. The outbox's unique key (kind, appointment, day) means queuing the same
day twice adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.models import Appointment, Department, Doctor, OutboxMessage, Patient
from hms_desktop.services import policy
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.views import VISIT_LABELS

log = logging.getLogger(__name__)

LEADS = {"same_day": 0, "day_before": 1}


def target_day_for(run_day: date, lead: str) -> date:
    """The visits a reminder run on ``run_day`` is about (same day, or the next)."""
    return run_day + timedelta(days=LEADS[lead])


def run_day_for(target_day: date, lead: str) -> date:
    return target_day - timedelta(days=LEADS[lead])


@dataclass(frozen=True)
class ReminderCounts:
    queued: int = 0
    undeliverable: int = 0
    opted_out: int = 0
    already_queued: int = 0
    #: Visits that had begun when a late run got to them: no reminder any more.
    already_started: int = 0

    def as_counts(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "no_email": self.undeliverable,
            "opted_out": self.opted_out,
            "already_queued": self.already_queued,
            "already_started": self.already_started,
        }


def reminder_text(
    *, patient: str, doctor: str, department: str, day: date, at: time, visit_type: str
) -> tuple[str, str]:
    """The subject and plain-text body of a reminder."""
    when = f"{day:%A} {day.day} {day:%B %Y} at {at:%H:%M}"
    subject = f"Appointment reminder: {day:%Y-%m-%d} {at:%H:%M} with {doctor}"
    body = (
        f"Dear {patient},\n\n"
        f"This is a reminder of your appointment on {when} with {doctor} "
        f"({department}).\n"
        f"Visit: {VISIT_LABELS.get(visit_type, visit_type)}.\n\n"
        "If you cannot come, please cancel or call the clinic so someone else can have the slot.\n"
    )
    return subject, body


def queue_reminders(clinic: Clinic, target_day: date, *, run_id: int | None) -> ReminderCounts:
    """Put a reminder in the outbox for each booked appointment on ``target_day``."""
    stmt = (
        select(Appointment, Patient, Doctor, Department.name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.day == target_day, Appointment.status == "booked")
        .order_by(Appointment.start_time, Appointment.id)
    )
    queued = undeliverable = opted_out = already = started = 0
    now = clinic.now()
    with clinic.db.write() as session:
        done = set(
            session.scalars(
                select(OutboxMessage.appointment_id).where(
                    OutboxMessage.kind == "reminder", OutboxMessage.target_day == target_day
                )
            )
        )
        for appt, patient, doctor, department in session.execute(stmt).all():
            if appt.id in done:
                already += 1
                continue
            if patient.reminders_opt_out:
                opted_out += 1
                continue
            if policy.has_begun(appt.day, appt.start_time, now):
                started += 1  # a late (catch-up) run: this visit has begun already
                continue
            subject, body = reminder_text(
                patient=patient.full_name,
                doctor=doctor.full_name,
                department=department,
                day=appt.day,
                at=appt.start_time,
                visit_type=appt.visit_type,
            )
            address = patient.email.strip()
            msg = OutboxMessage(
                kind="reminder",
                appointment_id=appt.id,
                target_day=target_day,
                patient_id=patient.id,
                doctor_id=doctor.id,
                run_id=run_id,
                recipient=address,
                subject=subject[:255],
                body=body,
                status="pending" if address else "undeliverable",
                attempts=0,
                next_attempt_at=clinic.now() if address else None,
                last_error="" if address else "The patient has no email address.",
                created_at=clinic.now(),
            )
            try:
                # A savepoint per item: another run that took over a stale claim may have
                # queued this one a moment ago; the unique key refuses the duplicate.
                with session.begin_nested():
                    session.add(msg)
            except IntegrityError:
                already += 1
                continue
            if address:
                queued += 1
            else:
                undeliverable += 1
                log.warning(
                    "reminder for appointment %s on %s: patient %s (%s) has no email address; "
                    "marked undeliverable in the outbox",
                    appt.id,
                    target_day,
                    patient.id,
                    patient.full_name,
                )
    return ReminderCounts(queued, undeliverable, opted_out, already, started)
