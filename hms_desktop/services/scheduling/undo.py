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
- a walk-in (:func:`.patient_flow.walk_in`: booked and checked in at once, or an extra
  visit) is taken back entirely while nothing else happened to it (not called in, no
  treatment, nothing sent): the row is deleted in one transaction with an audit entry
  "appointment.undo_walk_in", as a fresh booking is. Once anything did, it is refused
  rather than cancelled (the desk cancels it knowingly, if it must);
- a cancel is undone by booking the same patient, doctor, day, time, visit type and
  reason again, if that time is still free and not yet past (a new appointment: a
  withdrawn calendar invitation cannot come back to life under its old UID);
- a move is undone by moving the visit back, if the old time is still free;
- "Mark completed" is undone by reopening the visit, until a treatment is recorded;
- "Mark no-show" is undone by reopening the visit (the patient came after all);
- a repeat (the visits :func:`.series.repeat_visit` booked) is undone in one transaction:
  each visit is taken back as a booking is (deleted or cancelled, each with its own
  audit entry), plus one entry "appointment.undo_repeat" naming them all; or, when any
  one of them cannot be (changed at another desk meanwhile, the database gone), none is.

Each refusal is the ordinary typed error of the underlying rule (slot taken, past, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from hms_desktop.errors import ConflictError, HmsError, NotFoundError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import booking
from hms_desktop.services.views import day_words

UNDO_BOOKING_NOTE = "undo of a booking"
#: Outbox states of a message that left (or is leaving) the clinic: the patient may
#: have it, so the visit must stay to be cancelled in their calendar too.
_GONE_OUT = ("sending", "sent")


def undo_booking(clinic: Clinic, actor: Actor, appointment_id: int) -> bool:
    """Take back a booking. Returns True when it was deleted, False when cancelled.

    Deleted (audited as "appointment.undo_book") while nothing else happened to it;
    otherwise cancelled, noted as an undo in the audit log (see the module's notes).

    Raises:
        NotFoundError: it no longer exists.
        ConflictError: it is no longer booked (completed, cancelled meanwhile).
        ValidationError, PermissionDeniedError: as :func:`booking.cancel`.
    """
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id, with_for_update=True)
        if appt is None:
            raise NotFoundError("This appointment no longer exists.")
        _lock_messages(session, [appt.id])
        deleted = _take_back(session, clinic, actor, appt)
    clinic.changes.notify("appointments")
    return deleted


def undo_walk_in(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Take back a walk-in entirely: the visit is deleted, audited as
    "appointment.undo_walk_in", in one transaction (front desk only).

    Refused, with nothing changed, once anything but the walk-in happened to the visit
    (see the module's notes): it is then no longer the desk's mistake to take back.

    Raises:
        NotFoundError: it no longer exists.
        ConflictError: it is not a walk-in, or something happened to it since (the
            doctor called the patient in, it was closed, moved or cancelled, ...).
        PermissionDeniedError: not the front desk or an administrator.
    """
    require_staff(actor, "take back a walk-in")
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id, with_for_update=True)
        if appt is None:
            raise NotFoundError("This visit no longer exists.")
        _lock_messages(session, [appt.id])
        if appt.status in booking.CLOSED_WORDS:
            raise ConflictError(
                f"This walk-in was {booking.CLOSED_WORDS[appt.status]} meanwhile; "
                "it can no longer be taken back."
            )
        if appt.consultation_at is not None:
            raise ConflictError(
                "The doctor has called the patient in; the walk-in can no longer be taken back."
            )
        if not _walked_in(session, appt) or not _untouched(session, appt, walk_in=True):
            raise ConflictError(
                "This visit changed since the walk-in; it can no longer be taken back "
                "in one step. Cancel it instead."
            )
        facts = policy.VisitFacts(
            appt.doctor_id, appt.patient_id, appt.day, appt.start_time, appt.status
        )
        policy.require_action(actor, facts, "cancel", clinic.now())
        audit.record(
            session, actor, "appointment.undo_walk_in", "appointment", appt.id,
            patient_id=appt.patient_id, doctor_id=appt.doctor_id, day=appt.day,
            time=appt.start_time.strftime("%H:%M"), overbooked=appt.overbooked,
        )  # fmt: skip
        session.execute(delete(Appointment).where(Appointment.id == appt.id))
    clinic.changes.notify("appointments")


def _walked_in(session: Session, appt: Appointment) -> bool:
    """The visit was made by a walk-in (arrived as it was created, audited so)."""
    return appt.arrived_at is not None and bool(
        session.scalar(
            select(
                exists().where(
                    AuditEntry.entity == "appointment",
                    AuditEntry.entity_id == appt.id,
                    AuditEntry.action == "appointment.walk_in",
                )
            )
        )
    )


@dataclass(frozen=True)
class RepeatUndone:
    """What :func:`undo_repeat` did with each visit of the repeat."""

    deleted: tuple[int, ...]
    cancelled: tuple[int, ...]


def undo_repeat(clinic: Clinic, actor: Actor, appointment_ids: Sequence[int]) -> RepeatUndone:
    """Take back the visits one repeat booked (:func:`.series.repeat_visit`): all of them,
    in one transaction, or none.

    Each visit goes as :func:`undo_booking` would take it (deleted or cancelled, with
    the same audit entry); one more entry, "appointment.undo_repeat" on the repeated
    visit, names them all.

    Raises:
        NotFoundError, ConflictError, ValidationError, PermissionDeniedError: one of the
            visits cannot be taken back (e.g. another desk cancelled or completed it
            meanwhile); the message names that visit and why. Nothing was undone.
        DatabaseUnavailableError: the database failed on the way; nothing was undone.
    """
    ids = sorted(set(appointment_ids))
    if not ids:
        return RepeatUndone((), ())
    with clinic.db.write() as session:
        # Every visit, then every message of theirs, locked in one statement each and in
        # id order: two desks undoing overlapping visits wait for each other, never in a
        # circle (see undo_booking for why the messages).
        visits = session.scalars(
            select(Appointment)
            .where(Appointment.id.in_(ids))
            .order_by(Appointment.id)
            .with_for_update()
        ).all()
        if len(visits) < len(ids):
            gone = min(set(ids) - {a.id for a in visits})
            raise NotFoundError(
                f"Visit {gone} of the repeat no longer exists, {_none_of(len(ids))}"
            )
        _lock_messages(session, ids)
        deleted: list[int] = []
        cancelled: list[int] = []
        # The entries go last: a visit's day count taken after the audit chain's lock
        # could deadlock with a booking on that day (see audit_chain.appended_last).
        with audit_chain.appended_last(session):
            for appt in sorted(visits, key=lambda a: (a.day, a.start_time, a.id)):
                try:
                    took = _take_back(session, clinic, actor, appt)
                except HmsError as err:
                    raise _blocked(err, appt, len(ids)) from err
                session.flush()  # each day's count in date order, as one by one
                (deleted if took else cancelled).append(appt.id)
            first = visits[0]
            audit.record(
                session, actor, "appointment.undo_repeat", "appointment",
                first.series_id if first.series_id is not None else first.id,
                patient_id=first.patient_id, deleted=deleted, cancelled=cancelled,
            )  # fmt: skip
    clinic.changes.notify("appointments")
    return RepeatUndone(tuple(deleted), tuple(cancelled))


def _blocked(err: HmsError, appt: Appointment, count: int) -> HmsError:
    """``err`` said of one visit of a repeat, as the reason none was taken back."""
    when = f"{day_words(appt.day)} at {appt.start_time:%H:%M}"
    if isinstance(err, ConflictError) and appt.status in booking.CLOSED_WORDS:
        why = f"was {booking.CLOSED_WORDS[appt.status]} meanwhile"
    else:
        why = f"cannot be taken back ({str(err).rstrip('.')})"
    return type(err)(f"The visit on {when} {why}, {_none_of(count)}", field=err.field)


def _none_of(count: int) -> str:
    if count == 1:
        return "so the repeat was not taken back."
    return f"so none of the {count} repeat visits was taken back."


def _lock_messages(session: Session, appointment_ids: Sequence[int]) -> None:
    """Lock the visits' outbox messages: a sender claiming one now (pending -> sending)
    waits for this transaction and then finds it gone, or is seen as sending."""
    session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.appointment_id.in_(appointment_ids))
        .order_by(OutboxMessage.id)
        .with_for_update()
    ).all()


def _take_back(session: Session, clinic: Clinic, actor: Actor, appt: Appointment) -> bool:
    """Undo one booking in the caller's transaction (the visit and its messages locked):
    True when it was deleted, False when cancelled (see :func:`undo_booking`)."""
    if appt.status == "booked" and _untouched(session, appt):
        facts = policy.VisitFacts(
            appt.doctor_id, appt.patient_id, appt.day, appt.start_time, appt.status
        )
        policy.require_action(actor, facts, "cancel", clinic.now())
        audit.record(
            session, actor, "appointment.undo_book", "appointment", appt.id,
            patient_id=appt.patient_id, doctor_id=appt.doctor_id, day=appt.day,
            time=appt.start_time.strftime("%H:%M"),
        )  # fmt: skip
        session.execute(delete(Appointment).where(Appointment.id == appt.id))
        return True
    booking.change_status(session, clinic, actor, appt, "cancelled", note=UNDO_BOOKING_NOTE)
    return False


def _untouched(session: Session, appt: Appointment, *, walk_in: bool = False) -> bool:
    """Nothing but its booking (a walk-in: its booking and arrival, made at once) happened
    to the visit, and nobody outside has heard of it."""
    # (A walk-in's arrival came with its booking: undo_walk_in checked it, and no call-in.)
    if (appt.arrived_at is not None and not walk_in) or appt.calendar_sequence:
        return False
    made = ("appointment.book", "appointment.walk_in") if walk_in else ("appointment.book",)
    if appt.series_id is not None:
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
            AuditEntry.action.not_in(made),
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
