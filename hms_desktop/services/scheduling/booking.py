"""Booking: book, reschedule, cancel, and the status of a visit.

A visit has a start and an end. The rule "no doctor and no patient has two live
visits that overlap" is checked here and again by the database (an exclusion
constraint on PostgreSQL, triggers inside SQLite's serialised write transaction),
so two PCs racing for overlapping times get exactly one success and one
:class:`SlotTakenError` naming the visit that won. Time and role rules come from
:mod:`hms_desktop.services.policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, bindparam, exists, insert, select, true, update
from sqlalchemy.orm import Session

from hms_desktop.db import changes
from hms_desktop.db.engine import inserted_id
from hms_desktop.db.models import (
    Appointment,
    AuditEntry,
    Doctor,
    Patient,
    Treatment,
    VisitType,
    utcnow,
)
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    WritesCrossedError,
)
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging import calendar_invite
from hms_desktop.services.people.validation import (
    clean_text,
    parse_day,
    parse_time,
)
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import listing, overlap, quick_book
from hms_desktop.services.scheduling.availability import (
    DAY_HOURS,
    Window,
    day_windows,
    fits,
    windows_from,
)
from hms_desktop.services.scheduling.listing import AppointmentFilter as AppointmentFilter
from hms_desktop.services.scheduling.listing import appointments_statement as appointments_statement
from hms_desktop.services.scheduling.listing import count_appointments as count_appointments
from hms_desktop.services.scheduling.listing import list_appointments as list_appointments
from hms_desktop.services.scheduling.listing import scoped_filter as scoped_filter
from hms_desktop.services.views import FLOW_LABELS, STATUS_LABELS, AppointmentRow, day_words

# Re-exported: screens and exports read the labels from here.
from hms_desktop.services.views import VISIT_LABELS as VISIT_LABELS

#: booked -> one of these, and nothing else.
FINAL_STATUSES = ("completed", "cancelled", "no_show")
#: What happened to a visit that is no longer booked, as a refusal says it ("was ...").
CLOSED_WORDS = {
    "cancelled": "cancelled",
    "completed": "marked completed",
    "no_show": "marked a no-show",
}


def _end_of(day: date, start: time, minutes: int) -> time:
    moment = datetime.combine(day, start) + timedelta(minutes=minutes)
    if moment.date() != day:
        raise ValidationError("A visit must end by midnight; choose an earlier time.", field="time")
    return moment.time()


def _visit_minutes(session: Session, visit_type: str) -> int:
    minutes = session.scalar(select(VisitType.minutes).where(VisitType.name == visit_type))
    if minutes is None:
        known = session.scalars(select(VisitType.name).order_by(VisitType.name)).all()
        raise ValidationError(f"Visit type must be one of {', '.join(known)}.", field="visit_type")
    return int(minutes)


class _Party(Protocol):
    """What the slot check reads of a doctor or a patient (a row or an ORM object)."""

    @property
    def id(self) -> int: ...
    @property
    def full_name(self) -> str: ...
    @property
    def blacklisted(self) -> bool: ...


@dataclass(frozen=True)
class _Who:
    id: int
    full_name: str
    blacklisted: bool


def _refuse(
    clinic: Clinic,
    doctor: _Party,
    patient: _Party,
    day: date,
    at: time,
    end: time,
    windows: Sequence[Window],
) -> None:
    """Raise what keeps the visit out of this time, but an overlap: blacklisting, a time
    in the past, in a DST gap or beyond the horizon, or outside the doctor's ``windows``
    (their hours on ``day``)."""
    if doctor.blacklisted:
        raise ValidationError(
            f"{doctor.full_name} is not taking bookings (blacklisted). Choose another doctor.",
            field="doctor_id",
        )
    if patient.blacklisted:
        raise ValidationError(
            f"{patient.full_name} is blacklisted and cannot book. The front desk can lift "
            "the blacklist in Admin > Patients.",
            field="patient_id",
        )
    now = clinic.now()
    policy.instant(day, at, clinic.tz)  # refuses a time in a DST gap
    if policy.in_the_past(day, at, now):
        raise ValidationError(
            f"{day_words(day)} {at:%H:%M} is in the past. Choose a time from now on.", field="date"
        )
    horizon_days = clinic.settings.booking_horizon_days
    if (day - now.date()).days > horizon_days:
        raise ValidationError(
            f"Visits can be booked up to {horizon_days} days ahead; choose an earlier day.",
            field="date",
        )
    if not fits(windows, at, end):
        raise ValidationError(
            f"{doctor.full_name} does not see patients on {day_words(day)} at {at:%H:%M}"
            f"-{end:%H:%M}. Choose one of the free slots.",
            field="time",
        )


def _check_slot(
    session: Session,
    clinic: Clinic,
    doctor: _Party,
    patient: _Party,
    day: date,
    at: time,
    end: time,
    *,
    ignore_id: int | None = None,
) -> None:
    """Raise what keeps the visit out of this time, an overlap with another visit included."""
    _refuse(clinic, doctor, patient, day, at, end, day_windows(session, doctor.id, day))
    found = overlap.clash_error(session, doctor.id, patient.id, day, at, end, ignore_id)
    if found is not None:
        raise found


def check_bookable(
    clinic: Clinic,
    *,
    patient_id: int,
    doctor_id: int,
    day: date,
    at: time,
    visit_type: str = "consultation",
    minutes: int | None = None,
    ignore_id: int | None = None,
) -> None:
    """Raise what :func:`book` would raise for this time, without booking (a dry run).

    Raises:
        ValidationError, SlotTakenError, NotFoundError: as :func:`book`.
    """
    with clinic.db.read() as session:
        end = _end_of(day, at, minutes or _visit_minutes(session, visit_type))
        doctor = session.get(Doctor, doctor_id)
        patient = session.get(Patient, patient_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
        if patient is None:
            raise NotFoundError(f"There is no patient with id {patient_id}.", field="patient_id")
        _check_slot(session, clinic, doctor, patient, day, at, end, ignore_id=ignore_id)


def _hold_doctor(session: Session, doctor_id: int) -> None:
    """Hold the doctor's row shared until commit.

    Availability changes and blacklisting lock it exclusively, so on PostgreSQL a
    booking never lands in time that is being removed (SQLite serialises writers).
    """
    session.execute(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update(read=True))


#: The hours of the day asked for, joined to the row below (no hours: one row of NULLs).
_HOURS = DAY_HOURS.subquery("hours")


def _booking_read(*, serialized: bool) -> Select[Any]:
    """What a booking reads in its transaction, in one statement: the doctor (row held
    shared until commit, as :func:`_hold_doctor`), the patient (flags, and where a
    confirmation goes), the visit type's length (NULL for an unknown type); parameters
    ``doctor``, ``patient``, ``visit_type``.

    ``serialized`` (SQLite, whose write transaction holds the only write lock from its
    start): also the audit chain's head, and one row per window of the doctor's hours on
    the day (parameters ``wd``, ``day``). On PostgreSQL the hours are read by a statement
    of their own after this one: a statement's snapshot is taken before it waits for the
    doctor's row, so hours changed by the transaction it waited for would be missed.
    """
    extra = (
        (
            audit_chain.HEAD_SEQ,
            audit_chain.HEAD_HASH,
            _HOURS.c.start_time,
            _HOURS.c.end_time,
            _HOURS.c.slot_minutes,
            _HOURS.c.kind,
        )
        if serialized
        else ()
    )
    stmt = (
        select(
            Doctor.full_name,
            Doctor.blacklisted,
            Patient.full_name,
            Patient.blacklisted,
            Patient.email,
            Patient.reminders_opt_out,
            select(VisitType.minutes)
            .where(VisitType.name == bindparam("visit_type"))
            .scalar_subquery(),
            *extra,
        )
        .select_from(Doctor)
        .join(Patient, Patient.id == bindparam("patient"))
    )
    if serialized:
        stmt = stmt.outerjoin(_HOURS, true())
    return stmt.where(Doctor.id == bindparam("doctor")).with_for_update(read=True, of=Doctor)


_READ = _booking_read(serialized=False)
_READ_SERIALIZED = _booking_read(serialized=True)

#: The new visit (Core: one statement, its id back from the database).
_INSERT = insert(Appointment)
_START_SERIES = (
    update(Appointment)
    .where(Appointment.id == bindparam("new_id"))
    .values(series_id=bindparam("new_id"))
)


def _missing(session: Session, doctor_id: int, patient_id: int) -> NotFoundError:
    """Which of the doctor and the patient is not there (the doctor is asked first)."""
    if session.get(Doctor, doctor_id) is None:
        return NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
    return NotFoundError(f"There is no patient with id {patient_id}.", field="patient_id")


def _load(session: Session, appointment_id: int, *, lock: bool = False) -> Appointment:
    # A change locks the row first: two PCs closing one visit at once (complete and
    # cancel) must not both see "booked" and both win.
    appt = session.get(Appointment, appointment_id, with_for_update=lock or None)
    if appt is None:
        raise NotFoundError(f"There is no appointment {appointment_id}.")
    return appt


def _facts(appt: Appointment) -> policy.VisitFacts:
    return policy.VisitFacts(
        appt.doctor_id, appt.patient_id, appt.day, appt.start_time, appt.flow_status
    )


def visit_has_begun(clinic: Clinic, day: date, at: time) -> bool:
    """True from the visit's start on, in the clinic's zone (the rule: :func:`policy.has_begun`).

    The screens ask it (e.g. which question "Mark completed" asks) and never decide it.
    """
    return policy.has_begun(day, at, clinic.now())


def _may_change(actor: Actor, appt: Appointment, what: str) -> None:
    if not policy.is_party(actor, _facts(appt)):
        raise PermissionDeniedError(f"You may not {what} this appointment.")


@dataclass(frozen=True)
class NewVisit:
    """A visit to book (each field as :func:`book` takes it)."""

    patient_id: int
    doctor_id: int
    day: date
    at: time
    visit_type: str = "consultation"
    reason: str = ""
    minutes: int | None = None
    series_id: int | None = None
    arrived_at: datetime | None = None


def _admit(actor: Actor, patient_id: int, arrived_at: datetime | None) -> None:
    """Raise unless ``actor`` may book for the patient (a walk-in: the front desk only)."""
    if actor.role == "doctor":
        raise PermissionDeniedError("Doctors do not book appointments; ask the front desk.")
    policy.require_patient_self_or_staff(actor, patient_id, "book appointments")
    if arrived_at is not None:
        policy.require_staff(actor, "register a walk-in")


def _cleaned(visit: NewVisit) -> NewVisit:
    """``visit`` with its reason cleaned, or the refusal of its reason or length."""
    reason = clean_text(visit.reason, "reason", max_len=1000)
    if visit.minutes is not None and not 5 <= visit.minutes <= 480:
        raise ValidationError("A visit lasts 5 to 480 minutes.", field="minutes")
    return replace(visit, reason=reason)


@dataclass(frozen=True)
class _Checked:
    """What a booking's transaction read for the visit, and found it may have."""

    end: time
    doctor_name: str
    recipient: calendar_invite.Recipient
    #: The audit chain's head, read with it where that holds to the entry (SQLite).
    head: tuple[int, str] | None


def _check_new(session: Session, clinic: Clinic, visit: NewVisit, *, serialized: bool) -> _Checked:
    """Read what the booking needs, in its transaction, and raise what keeps the visit out
    (but an overlap: the database's to refuse)."""
    conn = session.connection()
    doctor_id, patient_id, day = visit.doctor_id, visit.patient_id, visit.day
    params = {
        "doctor": doctor_id, "patient": patient_id, "visit_type": visit.visit_type,
        "wd": day.weekday(), "day": day,
    }  # fmt: skip
    rows = conn.execute(_READ_SERIALIZED if serialized else _READ, params).all()
    row = rows[0] if rows else None
    length = visit.minutes or (
        row[6] if row is not None and row[6] else _visit_minutes(session, visit.visit_type)
    )
    end = _end_of(day, visit.at, length)
    if row is None:
        raise _missing(session, doctor_id, patient_id)
    doctor = _Who(doctor_id, row[0], bool(row[1]))
    patient = _Who(patient_id, row[2], bool(row[3]))
    if serialized:
        windows = windows_from(r[-4:] for r in rows)
    else:  # read now that the doctor's row is held (see _booking_read)
        windows = day_windows(conn, doctor_id, day)
    # The overlap is the database's to refuse (the same rule, and it is the one
    # that holds when desks race): no clash query while every writer waits.
    _refuse(clinic, doctor, patient, day, visit.at, end, windows)
    recipient = calendar_invite.Recipient(patient_id, row[2], row[4], bool(row[5]))
    head = (row[7] or 0, row[8] or "") if serialized else None
    return _Checked(end, row[0], recipient, head)


def _insert_new(
    session: Session, clinic: Clinic, actor: Actor, visit: NewVisit, checked: _Checked
) -> tuple[int, AuditEntry]:
    """Insert the checked visit and queue its confirmation; returns its id and its
    "appointment.book" entry, not yet appended.

    Raises:
        OverlapError: the database refused it (naming the attempt).
    """
    conn = session.connection()
    values = {
        "doctor_id": visit.doctor_id,
        "patient_id": visit.patient_id,
        "day": visit.day,
        "start_time": visit.at,
        "end_time": checked.end,
        "visit_type": visit.visit_type,
        "reason": visit.reason,
        "status": "booked",
        "series_id": visit.series_id if visit.series_id != -1 else None,
    }
    if visit.arrived_at is not None:
        values["arrived_at"] = visit.arrived_at
    attempt = overlap.Attempt(visit.doctor_id, visit.patient_id, visit.day, visit.at, checked.end)
    with overlap.refused_as_overlap(attempt):
        new_id = inserted_id(conn.execute(_INSERT, values))
    if visit.series_id == -1:
        conn.execute(_START_SERIES, {"new_id": new_id})
    changes.record(session, Appointment.__tablename__, [new_id])
    if visit.arrived_at is None:  # a walk-in stands at the desk: nothing to confirm by email
        calendar_invite.queue_confirmation(
            session, clinic, new_id, checked.recipient, (visit.doctor_id, checked.doctor_name),
            visit.day, visit.at,
        )  # fmt: skip
    entry = audit.entry(
        actor,
        "appointment.book",
        "appointment",
        new_id,
        patient_id=visit.patient_id,
        doctor_id=visit.doctor_id,
        day=visit.day,
        time=visit.at.strftime("%H:%M"),
        end=checked.end.strftime("%H:%M"),
    )
    return new_id, entry


def _audit_new(
    session: Session,
    actor: Actor,
    visit: NewVisit,
    entry: AuditEntry,
    head: tuple[int, str] | None,
) -> None:
    """Append the booking's entry, and a walk-in's arrival after it."""
    audit_chain.append(session, entry, head=head)
    if visit.arrived_at is not None:
        arrival = audit.entry(
            actor, "appointment.walk_in", "appointment", entry.entity_id,
            patient_id=visit.patient_id,
        )  # fmt: skip
        audit_chain.append(session, arrival, head=(entry.seq, entry.row_hash))


def book(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int,
    doctor_id: int,
    day: date | str,
    at: time | str,
    visit_type: str = "consultation",
    reason: str = "",
    minutes: int | None = None,
    series_id: int | None = None,
    arrived_at: datetime | None = None,
) -> int:
    """Book a free time. Returns the new appointment's id.

    The visit lasts ``minutes``, by default the visit type's length, and must fit in
    the doctor's availability. ``series_id`` makes the visit an occurrence of a
    recurring series (see :mod:`.series`); ``-1`` starts a new series named after
    this visit's id. ``arrived_at`` (front desk only): the patient is here already, a
    walk-in (see :func:`.patient_flow.walk_in`); the visit is created checked in at that
    moment and audited as "appointment.walk_in" too, in the same transaction, and no
    booking confirmation is queued (the patient is standing at the desk).

    Raises:
        ValidationError: past time, a time in a DST gap, beyond the booking horizon, not
            in the doctor's hours, blacklisted doctor or patient, unknown visit type.
        SlotTakenError: it overlaps another live visit of the doctor or of the patient
            (the message names it: "overlaps <name> at HH:MM").
        PermissionDeniedError: a patient booking for someone else, or a doctor booking.
    """
    _admit(actor, patient_id, arrived_at)
    new = NewVisit(
        patient_id, doctor_id, parse_day(day), parse_time(at), visit_type, reason,
        minutes, series_id, arrived_at,
    )  # fmt: skip
    visit = _cleaned(new)
    # Everything below runs while other writers wait (SQLite: the whole transaction,
    # BEGIN IMMEDIATE; PostgreSQL: the doctor's row, the day's counter, the audit chain),
    # so it is Core statements, compiled once: what the checks read (SQLite: one statement;
    # PostgreSQL: the hours in a second one, see _booking_read), then the visit, its
    # confirmation and its audit entry. Every check is made in here, none is trusted from
    # an earlier read: hours or a blacklisting changed meanwhile are seen.
    for attempt in range(1, CROSSED_TRIES + 1):
        try:
            new_id = _book_once(clinic, actor, visit)
        except WritesCrossedError:
            # PostgreSQL rolled it back whole for crossing another desk's booking (e.g.
            # both for one patient at once): every check is made again, and the other
            # booking, committed now, is seen (a taken time says so).
            if attempt == CROSSED_TRIES:
                raise
        else:
            clinic.changes.notify("appointments")
            return new_id
    raise AssertionError("unreachable")


#: How often a booking rolled back for crossing another is made again before "busy".
CROSSED_TRIES = 3


def _book_quickly(clinic: Clinic, actor: Actor, visit: NewVisit) -> int | None:
    """:func:`book` the quick way (:mod:`.quick_book`): checked before its transaction,
    written in a few statements that prove nothing checked has changed. Returns the new
    visit's id, or None: made the long way (a series or walk-in, a check refused, or
    something changed between the read and the write).

    Raises:
        OverlapError: the database refused an overlap (naming the attempt).
    """
    if visit.series_id is not None or visit.arrived_at is not None or clinic.db.read_only:
        return None
    try:
        return _book_quickly_on(clinic, actor, visit)
    except quick_book.KeptConnectionGoneError:
        return None


def _book_quickly_on(clinic: Clinic, actor: Actor, visit: NewVisit) -> int | None:
    day = visit.day
    with quick_book.connection(clinic.db) as quick:
        facts = quick.read(visit.doctor_id, visit.patient_id, visit.visit_type, day)
        if facts is None or (visit.minutes is None and not facts.type_minutes):
            return None  # the long way names what is missing
        try:
            end = _end_of(day, visit.at, visit.minutes or facts.type_minutes or 0)
            doctor = _Who(visit.doctor_id, facts.doctor_name, facts.doctor_blacklisted)
            patient = _Who(visit.patient_id, facts.patient_name, facts.patient_blacklisted)
            _refuse(clinic, doctor, patient, day, visit.at, end, windows_from(facts.hours))
        except ValidationError:
            return None  # refused: the long way refuses it again, inside its transaction
        recipient = calendar_invite.Recipient(
            visit.patient_id, facts.patient_name, facts.email, facts.reminders_opt_out
        )
        message = calendar_invite.confirmation_row(
            clinic, recipient, (visit.doctor_id, facts.doctor_name), day, visit.at
        )
        entry = audit.plain_entry(
            actor, "appointment.book", "appointment", None, patient_id=visit.patient_id,
            doctor_id=visit.doctor_id, day=day, time=visit.at.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
        )  # fmt: skip
        checked = quick_book.Visit(
            visit.doctor_id, visit.patient_id, day, visit.at, end, visit.visit_type,
            visit.reason, None if visit.minutes else facts.type_minutes, facts.schedule_version,
        )  # fmt: skip
        attempt = overlap.Attempt(visit.doctor_id, visit.patient_id, day, visit.at, end)
        with overlap.refused_as_overlap(attempt):
            written = quick.write(checked, facts.new_id, message, entry)
    if written is None:
        return None
    clinic.db.changes.committed(written)
    return written[Appointment.__tablename__][0]


def _book_once(clinic: Clinic, actor: Actor, visit: NewVisit) -> int:
    """:func:`book`'s one transaction."""
    try:
        quick_id = _book_quickly(clinic, actor, visit)
        if quick_id is not None:
            return quick_id
        with clinic.db.write() as session:
            checked = _check_new(
                session, clinic, visit, serialized=audit_chain.head_known_early(session)
            )
            new_id, entry = _insert_new(session, clinic, actor, visit, checked)
            # Last: on PostgreSQL the audit chain stays locked from here to the commit.
            _audit_new(session, actor, visit, entry, checked.head)
    except overlap.OverlapError as refused:
        overlap.raise_refused(clinic, refused)
    return new_id


def book_in(session: Session, clinic: Clinic, actor: Actor, visit: NewVisit) -> int:
    """:func:`book` in the caller's write transaction (e.g. every visit of a repeat, all or
    none). Returns the new visit's id. The caller tells :attr:`Clinic.changes` after its
    commit, and describes a refused overlap after its rollback.

    Raises:
        as :func:`book`, but for an overlap: OverlapError (naming the attempt; on
        PostgreSQL the transaction cannot go on).
    """
    _admit(actor, visit.patient_id, visit.arrived_at)
    visit = _cleaned(visit)
    checked = _check_new(session, clinic, visit, serialized=False)
    new_id, entry = _insert_new(session, clinic, actor, visit, checked)
    _audit_new(session, actor, visit, entry, None)
    return new_id


def reschedule(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    *,
    day: date | str,
    at: time | str,
    doctor_id: int | None = None,
) -> None:
    """Move a booked appointment to another free time (optionally another doctor).

    The visit keeps its length.

    Raises:
        the errors of :func:`book`, plus ConflictError for a visit that is not booked.
    """
    the_day, the_time = parse_day(day), parse_time(at)
    try:
        with clinic.db.write() as session:
            appt = _load(session, appointment_id, lock=True)
            move_in(session, clinic, actor, appt, day=the_day, at=the_time, doctor_id=doctor_id)
    except overlap.OverlapError as refused:
        overlap.raise_refused(clinic, refused)
    clinic.changes.notify("appointments")


def move_in(
    session: Session,
    clinic: Clinic,
    actor: Actor,
    appt: Appointment,
    *,
    day: date,
    at: time,
    doctor_id: int | None = None,
) -> None:
    """:func:`reschedule` in the caller's write transaction, on a visit the caller loaded
    and locked (e.g. every later visit of a series, all or none). The caller tells
    :attr:`Clinic.changes` after its commit, and describes a refused overlap after its
    rollback.

    Raises:
        as :func:`reschedule`, but for an overlap the database refused: OverlapError
        (naming the attempt; on PostgreSQL the transaction cannot go on).
    """
    if appt.flow_status != "booked" and policy.is_party(actor, _facts(appt)):
        raise ConflictError(
            "Only a booked appointment can be moved; this one is "
            f"{FLOW_LABELS[appt.flow_status].lower()}."
        )
    policy.require_action(actor, _facts(appt), "reschedule", clinic.now())
    target_doctor = doctor_id or appt.doctor_id
    _hold_doctor(session, target_doctor)
    doctor = session.get(Doctor, target_doctor)
    if doctor is None:
        raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
    length = datetime.combine(appt.day, appt.end_time) - datetime.combine(appt.day, appt.start_time)
    end = _end_of(day, at, int(length.total_seconds() // 60))
    _check_slot(session, clinic, doctor, appt.patient, day, at, end, ignore_id=appt.id)
    before = f"{appt.day:%Y-%m-%d} {appt.start_time:%H:%M} doctor {appt.doctor_id}"
    appt.doctor_id, appt.day = doctor.id, day
    appt.start_time, appt.end_time = at, end
    overlap.flush_or_overlap(session, overlap.Attempt(doctor.id, appt.patient_id, day, at, end))
    audit.record(
        session,
        actor,
        "appointment.reschedule",
        "appointment",
        appt.id,
        patient_id=appt.patient_id,
        before=before,
        after=f"{day:%Y-%m-%d} {at:%H:%M} doctor {doctor.id}",
    )
    calendar_invite.queue_change(session, clinic, appt, calendar_invite.UPDATE)


def set_status(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    status: str,
    *,
    early_close: bool = False,
    note: str = "",
) -> None:
    """Move a booked appointment to completed, cancelled or no-show (rules: :mod:`policy`).

    Completing a visit that has not begun yet needs ``early_close`` (the person said so);
    ``note`` goes to the audit entry (e.g. that a cancel undoes a booking just made).

    Raises:
        ValidationError: an unknown status, closing before the visit's day, a patient
            cancelling a visit that has begun, completing before the visit's start
            without ``early_close``, or a no-show before the visit's start.
        ConflictError: the appointment is not booked any more.
        PermissionDeniedError: a patient marking anything but a cancel; another doctor's patient.
    """
    _action_for(status)  # an unknown status is refused before any transaction
    with clinic.db.write() as session:
        appt = _load(session, appointment_id, lock=True)
        change_status(session, clinic, actor, appt, status, early_close=early_close, note=note)
    clinic.changes.notify("appointments")


def _action_for(status: str) -> str:
    """The :mod:`policy` action that gives a visit ``status``."""
    if status not in FINAL_STATUSES:
        raise ValidationError(
            "An appointment can become completed, cancelled or no-show.", field="status"
        )
    return {"cancelled": "cancel", "completed": "complete", "no_show": "no_show"}[status]


def change_status(
    session: Session,
    clinic: Clinic,
    actor: Actor,
    appt: Appointment,
    status: str,
    *,
    early_close: bool = False,
    note: str = "",
) -> None:
    """:func:`set_status` in the caller's write transaction, on a visit the caller loaded
    and locked (e.g. an undo that takes back several visits at once, all or none). The
    caller tells :attr:`Clinic.changes` after its commit.

    Raises: as :func:`set_status`.
    """
    action = _action_for(status)
    facts = _facts(appt)
    if appt.status != "booked" and policy.is_party(actor, facts):
        raise ConflictError(
            f"This appointment is {STATUS_LABELS[appt.status].lower()} already; only a booked "
            "appointment can change."
        )
    if status == "no_show" and appt.arrived_at is not None and policy.is_party(actor, facts):
        # Said first: "here" answers it, whatever the clock says.
        raise ConflictError("The patient checked in: the visit cannot be a no-show.")
    policy.require_action(actor, facts, action, clinic.now())
    if status == "completed" and not early_close:
        _refuse_early_close(clinic, appt)
    appt.status = status
    appt.status_changed_at = utcnow()
    audit.record(
        session,
        actor,
        f"appointment.{status}",
        "appointment",
        appt.id,
        patient_id=appt.patient_id,
        **({"early_close": True} if status == "completed" and early_close else {}),
        **({"note": note} if note else {}),
    )
    if status == "cancelled":
        calendar_invite.queue_change(session, clinic, appt, calendar_invite.CANCELLATION)


def _refuse_early_close(clinic: Clinic, appt: Appointment) -> None:
    if appt.flow_status == "in_consultation":
        return  # called in: the patient was seen, whatever the clock says
    if not visit_has_begun(clinic, appt.day, appt.start_time):
        raise ValidationError(
            f"The visit starts at {appt.start_time:%H:%M} and has not begun yet. Close it "
            "early only if the patient was seen (confirm an early close).",
            field="status",
        )


def cancel(clinic: Clinic, actor: Actor, appointment_id: int, *, note: str = "") -> None:
    """Cancel a booked appointment (see :func:`set_status` for the errors)."""
    set_status(clinic, actor, appointment_id, "cancelled", note=note)


def complete(
    clinic: Clinic, actor: Actor, appointment_id: int, *, early_close: bool = False
) -> None:
    """Mark a visit completed; before its start only with ``early_close`` (see set_status)."""
    set_status(clinic, actor, appointment_id, "completed", early_close=early_close)


def reopen_completed(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Undo "Mark completed": the visit is booked again, until a treatment is recorded.

    Raises:
        ConflictError: the visit is not completed, or its treatment is recorded already
            (then it stays completed: the record belongs to a visit that happened).
        PermissionDeniedError: a patient, or another doctor's visit.
    """
    _reopen(clinic, actor, appointment_id, "completed")


def reopen_no_show(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """Undo "Mark no-show" (the patient came after all): the visit is booked again.

    Raises:
        ConflictError: the visit is not a no-show.
        PermissionDeniedError: a patient, or another doctor's visit.
    """
    _reopen(clinic, actor, appointment_id, "no_show")


def _reopen(clinic: Clinic, actor: Actor, appointment_id: int, was: str) -> None:
    with clinic.db.write() as session:
        appt = _load(session, appointment_id, lock=True)
        _may_change(actor, appt, "reopen")
        if actor.role == "patient":
            raise PermissionDeniedError("Only the doctor or the front desk can reopen a visit.")
        if appt.status != was:
            raise ConflictError(
                f"This appointment is {STATUS_LABELS[appt.status].lower()}; only a "
                f"{STATUS_LABELS[was].lower()} visit can be reopened here."
            )
        if session.scalar(select(exists().where(Treatment.appointment_id == appt.id))):
            raise ConflictError(
                "A treatment is recorded for this visit, so it stays completed. "
                "Correct the treatment instead."
            )
        appt.status = "booked"
        appt.status_changed_at = utcnow()
        audit.record(
            session, actor, "appointment.reopen", "appointment", appt.id,
            patient_id=appt.patient_id, **({"was": was} if was != "completed" else {}),
        )  # fmt: skip
    clinic.changes.notify("appointments")


def get_appointment(clinic: Clinic, actor: Actor, appointment_id: int) -> AppointmentRow:
    """One appointment, for staff, its doctor or its patient.

    Raises:
        NotFoundError: no such appointment.
        PermissionDeniedError: anyone else.
    """
    with clinic.db.read() as session:
        _may_change(actor, _load(session, appointment_id), "see")
        found = session.execute(
            listing.appointments_statement(listing.AppointmentFilter()).where(
                Appointment.id == appointment_id
            )
        ).one()
        return listing.appointment_row(found)
