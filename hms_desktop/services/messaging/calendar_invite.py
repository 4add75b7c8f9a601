"""Calendar invitations (RFC 5545) that follow an appointment into the patient's calendar.

Every reminder carries an invitation, and so does a confirmation on booking (when
the clinic sends them), an update when the visit moves and a withdrawal when it is
cancelled. All of them name the appointment by one stable UID; a move or a cancel
raises the appointment's SEQUENCE, so the patient's calendar replaces the old entry
(METHOD:REQUEST) or removes it (METHOD:CANCEL). Built with the ``icalendar`` package:
DTSTART/DTEND in the clinic's zone with its VTIMEZONE, so a calendar in any zone
shows the right hour on either side of a daylight-saving change.

Confirmations, updates and cancels are queued in the outbox in the transaction
that books, moves or cancels (:func:`queue_change`); a later change supersedes a
message not yet sent. Patients who opted out of reminders get none of these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from hms_desktop import APP_ID
from hms_desktop.db import changes
from hms_desktop.db.engine import inserted_id
from hms_desktop.db.models import Appointment, Department, Doctor, OutboxMessage, Patient
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging.email_delivery import sender_address
from hms_desktop.services.people.validation import email_problem
from hms_desktop.services.scheduling.visit_times import visit_minutes, visit_span
from hms_desktop.services.views import VISIT_LABELS

CONFIRMATION = "booking_confirmation"
UPDATE = "appointment_update"
CANCELLATION = "appointment_cancel"
#: Outbox kinds that exist only to carry an invitation (see OUTBOX_KINDS).
CALENDAR_KINDS = (CONFIRMATION, UPDATE, CANCELLATION)
#: Outbox kinds sent to the patient (their address is the patient's).
PATIENT_KINDS = ("reminder", *CALENDAR_KINDS)
KIND_LABELS = {
    "reminder": "Reminder",
    "monthly_report": "Report",
    CONFIRMATION: "Confirmation",
    UPDATE: "Moved",
    CANCELLATION: "Cancelled",
}
PRODID = "-//HMS Desktop//Appointments//EN"

log = logging.getLogger(__name__)


# --- clinic settings read here (one place to switch when they move to the database) ----


def clinic_identity(clinic: Clinic) -> tuple[str, str]:
    """The clinic's name and address (LOCATION of invitations, header of documents)."""
    return clinic.settings.clinic_name.strip(), clinic.settings.clinic_address.strip()


def confirmation_enabled(clinic: Clinic) -> bool:
    """Whether booking a visit emails the patient a confirmation with an invitation."""
    return bool(clinic.settings.send_booking_confirmation)


# --- building the invitation ------------------------------------------------------------


def appointment_uid(appointment_id: int, created_at: datetime) -> str:
    """The invitation's UID: the same for an appointment's whole life, unique across clinics
    (the creation instant tells apart two databases' appointment 1)."""
    return f"appointment-{appointment_id}-{created_at:%Y%m%dT%H%M%S}@{APP_ID}"


@dataclass(frozen=True)
class Invitation:
    """One appointment as a calendar event, and what this message does with it."""

    uid: str
    sequence: int
    method: str  # "REQUEST" or "CANCEL"
    start: datetime  # aware, in the clinic's zone
    end: datetime
    summary: str
    location: str
    description: str
    organizer: str
    organizer_name: str
    attendee: str
    attendee_name: str


def to_ical(inv: Invitation, *, stamp: datetime) -> bytes:
    """The iCalendar object (METHOD, one VEVENT, the clinic zone's VTIMEZONE) as bytes."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", inv.method)
    event = Event()
    event.add("uid", inv.uid)
    event.add("sequence", inv.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", inv.start)
    event.add("dtend", inv.end)
    event.add("summary", inv.summary)
    if inv.location:
        event.add("location", inv.location)
    event.add("description", inv.description)
    event.add("status", "CANCELLED" if inv.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{inv.organizer}")
    organizer.params["cn"] = vText(inv.organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{inv.attendee}")
    attendee.params["cn"] = vText(inv.attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION" if inv.method == "REQUEST" else "DECLINED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    cal.add_component(event)
    # Only the transitions around the visit: a VTIMEZONE with seventy years of them
    # would be most of the message.
    day = inv.start.date()
    cal.add_missing_timezones(
        first_date=day - timedelta(days=366), last_date=day + timedelta(days=366)
    )
    return bytes(cal.to_ical())


def invitation_for(
    session: Session, clinic: Clinic, appointment_id: int, method: str, *, to: str
) -> Invitation | None:
    """The invitation for the appointment as it is now (None when it is gone)."""
    row = session.execute(
        select(Appointment, Patient.full_name, Doctor.full_name, Department.name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.id == appointment_id)
    ).first()
    if row is None:
        return None
    appt, patient, doctor, department = row
    tz = clinic.settings.tz
    minutes = visit_minutes(appt.start_time, appt.end_time)
    start, end = visit_span(appt.day, appt.start_time, minutes, tz)
    name, address = clinic_identity(clinic)
    kind = VISIT_LABELS.get(appt.visit_type, appt.visit_type)
    where = ", ".join(part for part in (name, address.replace("\n", ", ")) if part)
    return Invitation(
        uid=appointment_uid(appt.id, appt.created_at),
        sequence=appt.calendar_sequence,
        method=method,
        start=start,
        end=end,
        summary=f"{kind} with {doctor}" + (f" ({name})" if name else ""),
        location=where,
        description=f"{kind} with {doctor} ({department}) for {patient}.",
        organizer=sender_address(clinic.settings),
        organizer_name=name or doctor,
        attendee=to,
        attendee_name=patient,
    )


def method_for(kind: str) -> str:
    return "CANCEL" if kind == CANCELLATION else "REQUEST"


# --- queuing with a change, and what the outbox checks before sending --------------------


def _message_text(kind: str, patient: str, doctor: str, day: date, at: time) -> tuple[str, str]:
    """Subject (in the reminders' form) and plain-text body of a calendar message."""
    short = f"{day:%Y-%m-%d} {at:%H:%M} with {doctor}"
    when = f"{day:%A} {day.day} {day:%B %Y} at {at:%H:%M}"
    if kind == CONFIRMATION:
        subject, lead = (
            f"Appointment booked: {short}",
            f"your appointment with {doctor} is booked for {when}.",
        )
    elif kind == UPDATE:
        subject, lead = (
            f"Appointment moved: {short}",
            f"your appointment has moved. It is now on {when} with {doctor}.",
        )
    else:
        subject, lead = (
            f"Appointment cancelled: {short}",
            f"your appointment on {when} with {doctor} is cancelled.",
        )
    body = (
        f"Dear {patient},\n\n{lead}\n\n"
        "The calendar entry in this message updates your calendar. If you have questions, "
        "please call the clinic.\n"
    )
    return subject[:255], body


def _sends(clinic: Clinic, kind: str, day: date, at: time) -> bool:
    """Whether a message of ``kind`` goes out for a visit at ``day`` ``at`` at all (the
    clinic sends confirmations, the visit has not begun); the patient is asked after."""
    if kind == CONFIRMATION and not confirmation_enabled(clinic):
        return False
    local_now = clinic.now().astimezone(clinic.settings.tz).replace(tzinfo=None)
    return datetime.combine(day, at) > local_now


def _message_row(
    clinic: Clinic,
    kind: str,
    appointment_id: int,
    patient_id: int,
    doctor_id: int,
    address: str,
    names: tuple[str, str],
    day: date,
    at: time,
) -> dict[str, Any]:
    """The outbox row of a calendar message (``names``: the patient's and the doctor's)."""
    subject, body = _message_text(kind, names[0], names[1], day, at)
    now = clinic.now()
    return {
        "kind": kind,
        "appointment_id": appointment_id,
        "target_day": None,  # the reminders' (kind, appointment, day) key does not apply
        "patient_id": patient_id,
        "doctor_id": doctor_id,
        "recipient": address,
        "subject": subject,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def queue_change(session: Session, clinic: Clinic, appt: Appointment, kind: str) -> bool:
    """Queue a confirmation, update or cancel for ``appt`` in the caller's transaction.

    A move or cancel first raises the appointment's SEQUENCE (whether or not a message
    goes out, the event has changed). Nothing is queued for a patient who opted out or
    has no email address, for a confirmation the clinic does not send, or for a visit
    that has begun. A message not yet sent for the same appointment is superseded.
    Returns whether a message was queued.
    """
    if kind not in CALENDAR_KINDS:
        raise ValueError(f"not a calendar message kind: {kind}")
    if kind != CONFIRMATION:
        appt.calendar_sequence = (appt.calendar_sequence or 0) + 1
    if not _sends(clinic, kind, appt.day, appt.start_time):
        return False
    patient = session.get_one(Patient, appt.patient_id)
    address = patient.email.strip()
    if patient.reminders_opt_out or not address:
        return False
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appt.id,
            OutboxMessage.kind.in_(CALENDAR_KINDS),
            OutboxMessage.status == "pending",
        )
        .values(status="expired", last_error="Superseded by a later change to the visit.")
        .execution_options(synchronize_session=False)
    )
    doctor = session.get_one(Doctor, appt.doctor_id)
    names = (patient.full_name, doctor.full_name)
    row = _message_row(
        clinic, kind, appt.id, patient.id, doctor.id, address, names, appt.day, appt.start_time
    )
    session.add(OutboxMessage(**row))
    return True


@dataclass(frozen=True)
class Recipient:
    """What a confirmation needs of the patient, read in the booking's transaction."""

    patient_id: int
    full_name: str
    email: str
    reminders_opt_out: bool


_OUTBOX_INSERT = insert(OutboxMessage)


def confirmation_row(
    clinic: Clinic, patient: Recipient, doctor: tuple[int, str], day: date, at: time
) -> dict[str, Any] | None:
    """The outbox row :func:`queue_confirmation` would insert for a new visit, its
    ``appointment_id`` still None (the caller sets it), or None when no message goes out.
    For a writer that inserts the row with statements of its own."""
    address = patient.email.strip()
    if not _sends(clinic, CONFIRMATION, day, at) or patient.reminders_opt_out or not address:
        return None
    return _message_row(
        clinic, CONFIRMATION, 0, patient.patient_id, doctor[0], address,
        (patient.full_name, doctor[1]), day, at,
    ) | {"appointment_id": None}  # fmt: skip


def queue_confirmation(
    session: Session,
    clinic: Clinic,
    appointment_id: int,
    patient: Recipient,
    doctor: tuple[int, str],
    day: date,
    at: time,
) -> bool:
    """:func:`queue_change` with :data:`CONFIRMATION` for a visit just inserted (one Core
    insert; a new visit has no earlier message to supersede). ``doctor``: id and name.

    Returns whether a message was queued.
    """
    address = patient.email.strip()
    if not _sends(clinic, CONFIRMATION, day, at) or patient.reminders_opt_out or not address:
        return False
    row = _message_row(
        clinic, CONFIRMATION, appointment_id, patient.patient_id, doctor[0], address,
        (patient.full_name, doctor[1]), day, at,
    )  # fmt: skip
    new_id = inserted_id(session.connection().execute(_OUTBOX_INSERT, row))
    changes.record(session, OutboxMessage.__tablename__, [new_id])
    return True


def _patient_opted_out() -> Any:
    return (
        select(Patient.id)
        .where(Patient.id == OutboxMessage.patient_id, Patient.reminders_opt_out.is_(True))
        .exists()
    )


def _visit_begun(local_now: datetime) -> Any:
    today, at = local_now.date(), local_now.time()
    return or_(
        Appointment.day < today, and_(Appointment.day == today, Appointment.start_time <= at)
    )


def still_wanted(local_now: datetime) -> Any:
    """SQL: a calendar message whose visit has not begun and whose patient still wants mail."""
    not_begun = (
        select(Appointment.id)
        .where(Appointment.id == OutboxMessage.appointment_id, ~_visit_begun(local_now))
        .exists()
    )
    return and_(not_begun, ~_patient_opted_out())


def expire_unwanted(session: Session, local_now: datetime) -> int:
    """Pending calendar messages for a visit that has begun (or whose patient opted out
    since) are no longer worth sending; returns how many were expired."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(CALENDAR_KINDS),
            OutboxMessage.status == "pending",
            ~still_wanted(local_now),
        )
        .values(status="expired", last_error="The visit has begun, or the patient opted out.")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def calendar_part(
    session: Session, clinic: Clinic, msg: OutboxMessage, *, stamp: datetime
) -> tuple[bytes, str] | None:
    """The iCalendar bytes and METHOD for an outbox message (reminder or calendar kind)."""
    if msg.kind not in PATIENT_KINDS or msg.appointment_id is None:
        return None
    if email_problem(msg.recipient):  # the message fails on its address, with the reason
        return None
    method = method_for(msg.kind)
    try:
        inv = invitation_for(session, clinic, msg.appointment_id, method, to=msg.recipient)
        return None if inv is None else (to_ical(inv, stamp=stamp), method)
    except (ValueError, TypeError, KeyError, UnicodeError):
        # The message still says when and with whom in its text: better without the
        # calendar entry than not at all, and the rest of the pass goes on.
        log.exception("outbox %s: the calendar invitation could not be built", msg.id)
        return None
