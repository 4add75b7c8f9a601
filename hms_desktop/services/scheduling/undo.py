"""Taking back the last booking, move, cancel, "Mark completed" or "Mark no-show".

Undo never rewrites history. The audit log is append-only and hash-chained, and the
outbox may already hold (or have sent) a reminder whose calendar invitation names the
appointment, so every undo is a new, audited change through the ordinary rules:

- a booking that nothing else happened to yet (no arrival, move, treatment, series,
  waitlist, and no message about it sent or being sent) is taken back entirely: the row
  is deleted in one transaction with an audit entry "appointment.undo_book" (the audit
  log keeps the history; its entries name the id without a foreign key) and its
  unsent confirmation or reminder goes with it (the outbox rows cascade). It leaves
  no visit on the patient's record and counts as no cancellation;
- any other booking is undone by cancelling it (audited with the note "undo of a
  booking"): a confirmation already sent is followed by a cancellation as usual;
- a cancel is undone by booking the same patient, doctor, day, time, visit type and
  reason again, if that time is still free and not yet past (a new appointment: a
  withdrawn calendar invitation cannot come back to life under its old UID);
- a move is undone by moving the visit back, if the old time is still free;
- "Mark completed" is undone by reopening the visit, until a treatment is recorded;
- "Mark no-show" is undone by reopening the visit (the patient came after all).

Each refusal is the ordinary typed error of the underlying rule (slot taken, past, ...).
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import (
    Appointment,
    AuditEntry,
    OutboxMessage,
    Treatment,
    WaitlistEntry,
)
from hms_desktop.errors import ConflictError, NotFoundError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking

UNDO_BOOKING_NOTE = "undo of a booking"
#: Outbox states of a message that left (or is leaving) the clinic: the patient may
#: have it, so the visit must stay to be cancelled in their calendar too.
_GONE_OUT = ("sending", "sent")


def undo_booking(clinic: Clinic, actor: Actor, appointment_id: int) -> bool:
    """Take back a booking. Returns True when it was deleted, False when cancelled.

    Deleted (audited as "appointment.undo_book") while nothing else happened to it;
    otherwise cancelled, noted as an undo in the audit log (see the module's notes).

    Raises:
        ConflictError: it is no longer booked (completed, cancelled meanwhile).
        ValidationError, PermissionDeniedError: as :func:`booking.cancel`.
    """
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id, with_for_update=True)
        if appt is None:
            raise NotFoundError("This appointment no longer exists.")
        facts = policy.VisitFacts(
            appt.doctor_id, appt.patient_id, appt.day, appt.start_time, appt.status
        )
        # Its messages are locked too: a sender claiming one now (pending -> sending)
        # waits for this transaction and then finds it gone, or is seen as sending.
        session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.appointment_id == appt.id)
            .with_for_update()
        ).all()
        if appt.status == "booked" and _untouched(session, appt):
            policy.require_action(actor, facts, "cancel", clinic.now())
            audit.record(
                session, actor, "appointment.undo_book", "appointment", appt.id,
                patient_id=appt.patient_id, doctor_id=appt.doctor_id, day=appt.day,
                time=appt.start_time.strftime("%H:%M"),
            )  # fmt: skip
            session.execute(delete(Appointment).where(Appointment.id == appt.id))
            deleted = True
        else:
            deleted = False
    if not deleted:
        booking.cancel(clinic, actor, appointment_id, note=UNDO_BOOKING_NOTE)
        return False
    clinic.changes.notify("appointments")
    return True


def _untouched(session: Session, appt: Appointment) -> bool:
    """Nothing but its booking happened to the visit, and nobody outside has heard of it."""
    if appt.arrived_at is not None or appt.calendar_sequence or appt.series_id is not None:
        return False
    others = (
        exists().where(Treatment.appointment_id == appt.id),
        exists().where(WaitlistEntry.appointment_id == appt.id),
        exists().where(Appointment.series_id == appt.id),
        exists().where(
            OutboxMessage.appointment_id == appt.id, OutboxMessage.status.in_(_GONE_OUT)
        ),
        exists().where(
            AuditEntry.entity == "appointment",
            AuditEntry.entity_id == appt.id,
            AuditEntry.action != "appointment.book",
        ),
    )
    return not session.scalar(select(or_(*others)))


def undo_cancel(clinic: Clinic, actor: Actor, appointment_id: int) -> int:
    """Book the cancelled visit again at its time. Returns the new appointment's id.

    Raises:
        SlotTakenError: someone took the time meanwhile.
        ValidationError: the time is past now, no longer offered, or someone is blacklisted.
        ConflictError: the appointment was not cancelled.
    """
    row = booking.get_appointment(clinic, actor, appointment_id)
    if row.status != "cancelled":
        raise ConflictError("Only a cancelled appointment can be booked again by undo.")
    return booking.book(
        clinic,
        actor,
        patient_id=row.patient_id,
        doctor_id=row.doctor_id,
        day=row.date,
        at=row.time,
        visit_type=row.visit_type,
        reason=row.reason,
    )


def undo_reschedule(
    clinic: Clinic, actor: Actor, appointment_id: int, *, day: date, at: time, doctor_id: int
) -> None:
    """Move a visit back to where it was (``day``, ``at`` with ``doctor_id``).

    Raises: as :func:`booking.reschedule` (the old time taken, past, no longer offered).
    """
    booking.reschedule(clinic, actor, appointment_id, day=day, at=at, doctor_id=doctor_id)


def undo_complete(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Reopen a visit marked completed by mistake (refused once a treatment is recorded).

    Raises: as :func:`booking.reopen_completed`.
    """
    booking.reopen_completed(clinic, actor, appointment_id)


def undo_no_show(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Reopen a visit marked no-show by mistake: it is booked again.

    Raises: as :func:`booking.reopen_no_show`.
    """
    booking.reopen_no_show(clinic, actor, appointment_id)
