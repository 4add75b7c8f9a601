"""Taking back the last booking, move, cancel, "Mark completed" or "Mark no-show".

Undo never rewrites history. The audit log is append-only and hash-chained, and the
outbox may already hold (or have sent) a reminder whose calendar invitation names the
appointment, so every undo is a new, audited change through the ordinary rules:

- a booking is undone by cancelling it (audited with the note "undo of a booking"):
  its row stays, so the audit entries keep pointing at something real, and a reminder
  already sent is withdrawn like any cancellation;
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

from hms_desktop.errors import ConflictError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking

UNDO_BOOKING_NOTE = "undo of a booking"


def undo_booking(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Take back a booking: the appointment is cancelled, noted as an undo in the audit log.

    Raises:
        ConflictError: it is no longer booked (completed, cancelled meanwhile).
        ValidationError, PermissionDeniedError: as :func:`booking.cancel`.
    """
    booking.cancel(clinic, actor, appointment_id, note=UNDO_BOOKING_NOTE)


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
