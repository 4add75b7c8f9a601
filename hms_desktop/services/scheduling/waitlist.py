"""The waitlist: patients who asked for an earlier time, offered time as it frees.

A request names a doctor or a department, the weekdays and the times of day that
suit, until when, and how long the visit is. When time frees (a cancel, a move, a
no-show), :func:`candidates` ranks the waiting requests that fit it: first those
whose visit fits the freed time, then those who have waited longest. Taking one
(:func:`take_offer`, :func:`book_from_waitlist`) closes the request in the same
step; :func:`undo_book_from_waitlist` takes both back in one transaction.

A patient on the waitlist usually has a visit already and wants it earlier: the
request's *later visit* is their next live visit (booked, not checked in) in the
request's scope (the doctor asked for, or any doctor of the department asked for)
that starts after the time taken. Taking the earlier time then moves that visit (a
reschedule: the old time is freed for others) instead of booking a second one; a
patient with no such visit gets a new booking. The request's days, times and
"until" say when the patient can come, so they limit the time offered, not which
visit moves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from hms_desktop.db.models import (
    Appointment,
    AuditEntry,
    Department,
    Doctor,
    Patient,
    WaitlistEntry,
)
from hms_desktop.errors import ConflictError, NotFoundError, ValidationError
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_text, parse_day, parse_time
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import availability, overlap
from hms_desktop.services.views import FLOW_LABELS, Slot, WaitlistRow

#: The audit note of the cancel that takes back a booking from the waitlist.
UNDO_BOOK_NOTE = "undo of a booking from the waitlist"

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(value: str | None) -> str:
    """``"mon,tue"`` (any case, spaces allowed) as stored; empty for any day.

    Raises:
        ValidationError: a name that is not a weekday.
    """
    names = [d.strip().lower()[:3] for d in (value or "").split(",") if d.strip()]
    wrong = [n for n in names if n not in WEEKDAYS]
    if wrong:
        raise ValidationError(
            f"Days are mon, tue, wed, thu, fri, sat, sun (not {', '.join(wrong)}).", field="days"
        )
    return ",".join(d for d in WEEKDAYS if d in names)


def parse_between(value: str | None) -> tuple[time | None, time | None]:
    """``"09:00-12:00"`` as two times; (None, None) for any time.

    Raises:
        ValidationError: not two HH:MM times, or the second not after the first.
    """
    if not value or not value.strip():
        return None, None
    parts = value.replace(" ", "").split("-")
    if len(parts) != 2:
        raise ValidationError("Give the times as HH:MM-HH:MM, e.g. 09:00-12:00.", field="between")
    start, end = parse_time(parts[0], "between"), parse_time(parts[1], "between")
    if end <= start:
        raise ValidationError("The second time must be after the first.", field="between")
    return start, end


def add(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int,
    doctor_id: int | None = None,
    department_id: int | None = None,
    days: str | None = None,
    between: str | None = None,
    until: date | str | None = None,
    minutes: int = 30,
    note: str = "",
) -> int:
    """Put a patient on the waitlist. Returns the request's id.

    Raises:
        ValidationError: neither doctor nor department, bad days/times, a past ``until``.
        NotFoundError: unknown patient, doctor or department.
        PermissionDeniedError: not front desk or administrator.
    """
    require_staff(actor, "put a patient on the waitlist")
    if (doctor_id is None) == (department_id is None):
        raise ValidationError("Name a doctor or a department (one of them).", field="doctor_id")
    the_days = parse_days(days)
    time_from, time_to = parse_between(between)
    the_until = parse_day(until, "until") if until is not None else None
    if the_until is not None and the_until < clinic.today():
        raise ValidationError("'Until' is in the past.", field="until")
    if not 5 <= int(minutes) <= 480:
        raise ValidationError("A visit lasts 5 to 480 minutes.", field="minutes")
    note = clean_text(note, "note", max_len=1000)
    with clinic.db.write() as session:
        if session.get(Patient, patient_id) is None:
            raise NotFoundError(f"There is no patient with id {patient_id}.", field="patient_id")
        if doctor_id is not None and session.get(Doctor, doctor_id) is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
        if department_id is not None and session.get(Department, department_id) is None:
            raise NotFoundError(
                f"There is no department with id {department_id}.", field="department_id"
            )
        entry = WaitlistEntry(
            patient_id=patient_id,
            doctor_id=doctor_id,
            department_id=department_id,
            days=the_days,
            time_from=time_from,
            time_to=time_to,
            until=the_until,
            minutes=int(minutes),
            note=note,
            created_by=actor.username,
        )
        session.add(entry)
        session.flush()
        audit.record(session, actor, "waitlist.add", "waitlist", entry.id, patient_id=patient_id)
        new_id = entry.id
    clinic.changes.notify("waitlist")
    return new_id


def remove(clinic: Clinic, actor: Actor, entry_id: int) -> None:
    """Take a request off the waitlist (the patient no longer needs it).

    Raises:
        NotFoundError: no waiting request with that id.
    """
    require_staff(actor, "change the waitlist")
    with clinic.db.write() as session:
        entry = _waiting(session, entry_id, lock=True)
        entry.state = "removed"
        audit.record(
            session, actor, "waitlist.remove", "waitlist", entry.id, patient_id=entry.patient_id
        )
    clinic.changes.notify("waitlist")


def _rows(clinic: Clinic, where: list[object]) -> list[WaitlistRow]:
    doc = aliased(Doctor)
    stmt = (
        select(
            WaitlistEntry, Patient.full_name, Patient.date_of_birth, doc.full_name, Department.name
        )
        .join(Patient, Patient.id == WaitlistEntry.patient_id)
        .outerjoin(doc, doc.id == WaitlistEntry.doctor_id)
        .outerjoin(Department, Department.id == WaitlistEntry.department_id)
        .where(WaitlistEntry.state == "waiting", *where)  # type: ignore[arg-type]
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    with clinic.db.read() as session:
        return [
            WaitlistRow(
                id=e.id,
                patient_id=e.patient_id,
                patient=patient,
                doctor_id=e.doctor_id,
                doctor=doctor or "",
                department_id=e.department_id,
                department=department or "",
                days=e.days,
                time_from=e.time_from,
                time_to=e.time_to,
                until=e.until,
                minutes=e.minutes,
                note=e.note,
                created_at=e.created_at,
                patient_born=born,
            )
            for e, patient, born, doctor, department in session.execute(stmt)
        ]


def list_entries(clinic: Clinic, actor: Actor) -> list[WaitlistRow]:
    """The waiting requests, longest waiting first (expired ones are left out)."""
    require_staff(actor, "see the waitlist")
    today = clinic.today()
    return [r for r in _rows(clinic, []) if r.until is None or r.until >= today]


def _fits_when(row: WaitlistRow, day: date, start: time) -> bool:
    if row.until is not None and day > row.until:
        return False
    if row.days and WEEKDAYS[day.weekday()] not in row.days.split(","):
        return False
    if row.time_from is not None and row.time_to is not None:
        end = (datetime.combine(day, start) + timedelta(minutes=row.minutes)).time()
        return row.time_from <= start and end <= row.time_to
    return True


def candidates(
    clinic: Clinic, actor: Actor, *, doctor_id: int, day: date, start: time, end: time
) -> list[WaitlistRow]:
    """Waiting requests that the freed time ``start``-``end`` with ``doctor_id`` suits.

    Ranked: requests whose visit fits the freed length first, then the longest
    waiting. A request for the doctor's department counts as for the doctor.
    """
    require_staff(actor, "see the waitlist")
    with clinic.db.read() as session:
        department_id = session.scalar(select(Doctor.department_id).where(Doctor.id == doctor_id))
    if department_id is None:
        raise NotFoundError(f"There is no doctor with id {doctor_id}.")
    rows = _rows(
        clinic,
        [
            (WaitlistEntry.doctor_id == doctor_id)
            | (WaitlistEntry.doctor_id.is_(None) & (WaitlistEntry.department_id == department_id))
        ],
    )
    freed = (datetime.combine(day, end) - datetime.combine(day, start)).total_seconds() / 60
    suitable = [r for r in rows if _fits_when(r, day, start)]
    return sorted(suitable, key=lambda r: (r.minutes > freed, r.created_at, r.id))


def _waiting(session: Session, entry_id: int, *, lock: bool = False) -> WaitlistEntry:
    """The request ``entry_id``, still waiting (locked for the transaction with ``lock``).

    Raises:
        NotFoundError: no waiting request with that id.
    """
    entry = session.get(WaitlistEntry, entry_id, with_for_update=lock or None)
    if entry is None or entry.state != "waiting":
        raise NotFoundError(f"There is no waiting request {entry_id} on the waitlist.")
    return entry


@dataclass(frozen=True)
class LaterVisit:
    """The visit that taking an earlier time moves: where it is now."""

    appointment_id: int
    doctor_id: int
    doctor: str
    day: date
    start: time


@dataclass(frozen=True)
class Taken:
    """What :func:`take_offer` did: the visit, and where it was if it was moved."""

    appointment_id: int
    moved_from: LaterVisit | None = None


def _later_visit_id(
    session: Session, entry: WaitlistEntry | WaitlistRow, after: datetime, *, strictly: bool = True
) -> int | None:
    """The id of ``entry``'s patient's first live visit in its scope starting after
    ``after`` (at or after it with ``strictly`` false)."""
    if entry.doctor_id is not None:
        scope = Appointment.doctor_id == entry.doctor_id
    else:
        scope = Appointment.doctor_id.in_(
            select(Doctor.id).where(Doctor.department_id == entry.department_id)
        )
    day, start = after.date(), after.time()
    same_day_later = Appointment.start_time > start if strictly else Appointment.start_time >= start
    return session.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == entry.patient_id,
            scope,
            Appointment.status == "booked",
            Appointment.arrived_at.is_(None),
            or_(Appointment.day > day, and_(Appointment.day == day, same_day_later)),
        )
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
        .limit(1)
    )


def _later_visit(session: Session, appointment_id: int) -> LaterVisit:
    appt = session.get(Appointment, appointment_id)
    assert appt is not None
    doctor = session.get(Doctor, appt.doctor_id)
    return LaterVisit(
        appt.id, appt.doctor_id, doctor.full_name if doctor else "", appt.day, appt.start_time
    )


def visit_to_move(
    clinic: Clinic,
    actor: Actor,
    entry_id: int,
    *,
    day: date | str,
    at: time | str,
) -> LaterVisit | None:
    """The visit :func:`take_offer` would move to ``day`` ``at`` for request ``entry_id``
    (None: it would book a new one). For the question asked before.

    Raises:
        NotFoundError: the request is not waiting any more.
    """
    require_staff(actor, "see the waitlist")
    when = datetime.combine(parse_day(day, "day"), parse_time(at, "at"))
    with clinic.db.read() as session:
        later = _later_visit_id(session, _waiting(session, entry_id), when)
        return _later_visit(session, later) if later is not None else None


def take_offer(
    clinic: Clinic,
    actor: Actor,
    entry_id: int,
    *,
    doctor_id: int,
    day: date | str,
    at: time | str,
) -> Taken:
    """Give the waiting patient the freed time and close the request.

    With a later visit in the request's scope (see the module's docstring) that visit is
    moved there, in one transaction with the request's change: audited as a reschedule
    and as "waitlist.book" naming where it was (what :func:`undo_book_from_waitlist`
    moves it back to). Without one a new visit is booked, as :func:`book_from_waitlist`.

    Raises:
        NotFoundError: the request is not waiting any more.
        ConflictError: another desk took the request or changed the visit meanwhile.
        SlotTakenError: the time was taken meanwhile (nothing changed).
        ValidationError, PermissionDeniedError: as :func:`booking.reschedule`.
    """
    from hms_desktop.services.scheduling import booking

    require_staff(actor, "book from the waitlist")
    the_day, the_time = parse_day(day, "day"), parse_time(at, "at")
    with clinic.db.read() as session:
        entry = _waiting(session, entry_id)
        patient_id = entry.patient_id
        later_id = _later_visit_id(session, entry, datetime.combine(the_day, the_time))
        was = _later_visit(session, later_id) if later_id is not None else None
    if was is None:
        return Taken(_book_new(clinic, actor, entry_id, patient_id, doctor_id, the_day, the_time))
    try:
        with clinic.db.write() as session:
            # The visit first, as a move takes it, then the request (as the undo does).
            appt = session.get(
                Appointment, was.appointment_id, with_for_update=True, populate_existing=True
            )
            if (
                appt is None
                or appt.status != "booked"
                or appt.arrived_at is not None
                or (appt.doctor_id, appt.day, appt.start_time)
                != (was.doctor_id, was.day, was.start)
            ):
                raise ConflictError(
                    "The patient's visit changed at another desk meanwhile; nothing was "
                    "moved. Look at the waitlist again."
                )
            booking.move_in(
                session, clinic, actor, appt, day=the_day, at=the_time, doctor_id=doctor_id
            )
            taken = session.get(
                WaitlistEntry, entry_id, with_for_update=True, populate_existing=True
            )
            if taken is None or taken.state != "waiting":
                raise ConflictError("Another desk has just booked this waitlist request.")
            taken.state = "booked"
            taken.appointment_id = appt.id
            audit.record(
                session,
                actor,
                "waitlist.book",
                "waitlist",
                taken.id,
                patient_id=taken.patient_id,
                appointment_id=appt.id,
                moved_from=f"{was.day:%Y-%m-%d} {was.start:%H:%M}",
                moved_from_doctor_id=was.doctor_id,
            )
    except overlap.OverlapError as refused:
        overlap.raise_refused(clinic, refused)
    clinic.changes.notify("appointments")
    clinic.changes.notify("waitlist")
    return Taken(was.appointment_id, was)


def book_from_waitlist(
    clinic: Clinic,
    actor: Actor,
    entry_id: int,
    *,
    doctor_id: int,
    day: date | str,
    at: time | str,
) -> int:
    """:func:`take_offer`, returning only the visit's id (moved or new).

    Raises: as :func:`take_offer`.
    """
    return take_offer(clinic, actor, entry_id, doctor_id=doctor_id, day=day, at=at).appointment_id


def _book_new(
    clinic: Clinic,
    actor: Actor,
    entry_id: int,
    patient_id: int,
    doctor_id: int,
    day: date,
    at: time,
) -> int:
    """Book the waiting patient into the freed time and close the request. Returns the visit id.

    Raises:
        NotFoundError: the request is not waiting any more.
        SlotTakenError: the time was taken meanwhile (the request stays waiting).
    """
    from hms_desktop.services.scheduling import booking

    new_id = booking.book(
        clinic,
        actor,
        patient_id=patient_id,
        doctor_id=doctor_id,
        day=day,
        at=at,
        reason="From the waitlist",
    )
    with clinic.db.write() as session:
        entry = session.get(WaitlistEntry, entry_id, with_for_update=True)
        raced = entry is None or entry.state != "waiting"
        if entry is not None and not raced:
            entry.state = "booked"
            entry.appointment_id = new_id
            audit.record(
                session,
                actor,
                "waitlist.book",
                "waitlist",
                entry.id,
                patient_id=patient_id,
                appointment_id=new_id,
            )
    if raced:
        # Another desk booked the same request a moment earlier: keep one visit.
        booking.cancel(clinic, actor, new_id)
        raise ConflictError("Another desk has just booked this waitlist request.")
    clinic.changes.notify("waitlist")
    return new_id


def _moved_from(session: Session, entry_id: int) -> tuple[date, time, int] | None:
    """Where :func:`take_offer` moved the request's visit from (None: it booked a new one),
    as its last "waitlist.book" audit entry says."""
    details = session.scalar(
        select(AuditEntry.details)
        .where(
            AuditEntry.entity == "waitlist",
            AuditEntry.entity_id == entry_id,
            AuditEntry.action == "waitlist.book",
        )
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    said = json.loads(details) if details else {}
    if "moved_from" not in said:
        return None
    moment = datetime.strptime(said["moved_from"], "%Y-%m-%d %H:%M")
    return moment.date(), moment.time(), int(said["moved_from_doctor_id"])


def undo_book_from_waitlist(clinic: Clinic, actor: Actor, entry_id: int) -> int:
    """Take back :func:`take_offer` in one transaction: a visit it moved goes back to
    where it was (audited as a reschedule), a visit it booked is cancelled (audited as
    an undo), and the request waits again as it was, with its place in the queue.
    Returns the visit's id.

    Raises:
        NotFoundError: the request is not booked from the waitlist (any more).
        ConflictError: the visit changed meanwhile (checked in, cancelled or closed);
            nothing was undone.
        SlotTakenError: a moved visit's old time was taken meanwhile; nothing was undone.
        ValidationError, PermissionDeniedError: as :func:`booking.set_status` or
            :func:`booking.reschedule` (e.g. the visit has begun); nothing was undone.
    """
    try:
        return _undo_book(clinic, actor, entry_id)
    except overlap.OverlapError as refused:
        overlap.raise_refused(clinic, refused)
        raise  # raise_refused always raises


def _undo_book(clinic: Clinic, actor: Actor, entry_id: int) -> int:
    from hms_desktop.services.scheduling import booking

    require_staff(actor, "change the waitlist")
    with clinic.db.write() as session:
        entry = session.get(WaitlistEntry, entry_id)
        appointment_id = entry.appointment_id if entry is not None else None
        if entry is None or entry.state != "booked" or appointment_id is None:
            raise NotFoundError(f"Request {entry_id} is not booked from the waitlist.")
        # The visit first, as a cancel takes it, then the request.
        # populate_existing: the rows as they are now that they are locked, not as read.
        appt = session.get(
            Appointment, appointment_id, with_for_update=True, populate_existing=True
        )
        entry = session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
        if entry is None or entry.state != "booked" or entry.appointment_id != appointment_id:
            raise NotFoundError(f"Request {entry_id} is not booked from the waitlist.")
        if appt is None:
            raise NotFoundError("The visit booked from the waitlist no longer exists.")
        if appt.status != "booked" or appt.arrived_at is not None:
            raise ConflictError(
                "The visit booked from the waitlist has changed meanwhile "
                f"({FLOW_LABELS.get(appt.flow_status, appt.flow_status).lower()}); "
                "it was not taken back."
            )
        moved_from = _moved_from(session, entry_id)
        if moved_from is None:
            booking.change_status(session, clinic, actor, appt, "cancelled", note=UNDO_BOOK_NOTE)
        else:
            back_day, back_at, back_doctor = moved_from
            booking.move_in(
                session, clinic, actor, appt, day=back_day, at=back_at, doctor_id=back_doctor
            )
        entry.state = "waiting"
        entry.appointment_id = None
        audit.record(
            session,
            actor,
            "waitlist.undo_book",
            "waitlist",
            entry.id,
            patient_id=entry.patient_id,
            appointment_id=appt.id,
            **({"moved_back": True} if moved_from is not None else {}),
        )
    clinic.changes.notify("appointments")
    clinic.changes.notify("waitlist")
    return appointment_id


@dataclass(frozen=True)
class Offer:
    """A waiting request and the earliest free time that suits it (None: nothing yet).

    ``moves``: the patient's later visit that taking the time would move (None: it
    would book a new visit)."""

    request: WaitlistRow
    slot: Slot | None
    doctor: str = ""
    moves: LaterVisit | None = None


def offers(clinic: Clinic, actor: Actor) -> list[Offer]:
    """Every waiting request with the earliest free time that suits it, best offers first.

    A time suits a request when it is with the doctor (or any doctor of the
    department) asked for, on a day and at a time of day that suit, and earlier
    than the patient's next live visit in that scope (they asked for an earlier one;
    that visit is what taking the time moves). Requests with an offer come first, in
    rank order: the visit fits the slot's length, then the longest waiting.
    """
    from hms_desktop.services.people import doctors as doctor_service

    rows = list_entries(clinic, actor)
    if not rows:
        return []
    names = {d.id: d.full_name for d in doctor_service.list_doctors(clinic)}
    now = clinic.now().replace(tzinfo=None)
    with clinic.db.read() as session:
        moves: dict[int, LaterVisit | None] = {}
        for row in rows:
            next_id = _later_visit_id(session, row, now, strictly=False)
            moves[row.id] = _later_visit(session, next_id) if next_id is not None else None
        found = _earliest_suiting(session, clinic, rows, moves, now)
    out = [
        Offer(row, found.get(row.id), names.get(found[row.id].doctor_id, ""), moves[row.id])
        if row.id in found
        else Offer(row, None)
        for row in rows
    ]

    def rank(offer: Offer) -> tuple[bool, bool, datetime, int]:
        slot = offer.slot
        fits = slot is not None and _minutes(slot) >= offer.request.minutes
        return (slot is None, not fits, offer.request.created_at, offer.request.id)

    return sorted(out, key=rank)


#: How many days of free time :func:`offers` reads at a time for one doctor or department.
_OFFER_DAYS = 7


def _earliest_suiting(
    session: Session,
    clinic: Clinic,
    rows: list[WaitlistRow],
    moves: dict[int, LaterVisit | None],
    now: datetime,
) -> dict[int, Slot]:
    """Each request's earliest suitable free time (request id -> slot; none: no time).

    Requests of one doctor or one department share their reads: the free times of its
    bookable doctors a week at a time from today, until every request has its time or
    can have none (past its "until", past the visit it would move, or the horizon's
    end). A clinic of 200 doctors took seconds when every request listed its scope's
    whole horizon, though most find a time in the first days.
    """
    scopes: dict[tuple[int | None, int | None], list[WaitlistRow]] = {}
    for row in rows:
        scopes.setdefault((row.doctor_id, row.department_id), []).append(row)
    first_day, last_day = clinic.today(), availability.last_bookable_day(clinic)
    found: dict[int, Slot] = {}
    for (doctor_id, department_id), members in scopes.items():
        doctor_ids = availability.bookable_doctor_ids(
            session, doctor_id=doctor_id, department_id=department_id
        )
        waiting = members if doctor_ids else []
        start = first_day
        while waiting and start <= last_day:
            end = min(last_day, start + timedelta(days=_OFFER_DAYS - 1))
            slots = availability.free_slots_between(session, clinic, doctor_ids, start, end)
            after = datetime.combine(end + timedelta(days=1), time(0))
            still: list[WaitlistRow] = []
            for row in waiting:
                moved = moves[row.id]
                before = datetime.combine(moved.day, moved.start) if moved is not None else None
                best = next(
                    (
                        s
                        for s in slots
                        if datetime.combine(s.date, s.time) > now
                        and (before is None or datetime.combine(s.date, s.time) < before)
                        and _fits_when(row, s.date, s.time)
                    ),
                    None,
                )
                if best is not None:
                    found[row.id] = best
                elif (before is None or after < before) and (row.until is None or row.until > end):
                    still.append(row)  # later days may suit it
            waiting = still
            start = end + timedelta(days=1)
    return found


def _minutes(slot: Slot) -> float:
    return (
        datetime.combine(slot.date, slot.end_time) - datetime.combine(slot.date, slot.time)
    ).total_seconds() / 60
