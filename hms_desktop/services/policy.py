"""The clinic's rules everyone asks: time ("in the past", "has begun", DST) and permissions.

Services and screens both ask here, so a rule is written once. Times of visits are
the clinic's wall-clock times; these functions turn them into instants in the
clinic's zone before comparing them with "now", so a PC in another zone (or a
clock in UTC) decides the same way.

Daylight saving time, one defined way:
- a wall-clock time inside a *gap* (Europe/Berlin 2026-03-29 02:00-02:59) does not
  exist: no slot is offered there and booking one is refused;
- a time inside a *fold* (the hour that happens twice in autumn) means its first
  occurrence (``fold=0``, summer time), everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy import exists as sql_exists

from hms_desktop.db.models import Appointment
from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import (
    STAFF_ROLES,
    SYSTEM,
    Actor,
    require_admin,
    require_doctor_or_staff,
    require_patient_access,
    require_patient_self_or_staff,
    require_staff,
)
from hms_desktop.services.views import AppointmentRow, day_words

if TYPE_CHECKING:
    from hms_desktop.services.clinic import Clinic

# --- time -------------------------------------------------------------------------------


def exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """False for a wall-clock time the zone skips (a DST gap)."""
    local = datetime.combine(day, at, tzinfo=tz)
    try:
        back = local.astimezone(UTC).astimezone(tz)
    except OverflowError:  # year 1 or 9999: no clock change there; other rules refuse it
        return True
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The moment a clinic wall-clock time means: a fold's first occurrence.

    Raises:
        ValidationError: the time falls in a DST gap (it does not exist that day).
    """
    if not exists(day, at, tz):
        raise ValidationError(
            f"{day_words(day)} {at:%H:%M} does not exist in {tz.key} (the clocks go forward "
            "then). Choose another time.",
            field="time",
        )
    return datetime.combine(day, at.replace(fold=0), tzinfo=tz)


def _start(day: date, at: time, tz: ZoneInfo) -> datetime:
    # A time in a gap is treated as the moment the clocks jump (never "not yet begun").
    if not exists(day, at, tz):
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)
    return datetime.combine(day, at.replace(fold=0), tzinfo=tz)


def has_begun(day: date, start: time, now: datetime) -> bool:
    """True from the visit's start on (``now`` is aware; its zone is the clinic's).

    A visit that has begun can no longer be booked, moved or cancelled online by a
    patient, and gets no reminder.
    """
    tz = now.tzinfo
    assert isinstance(tz, ZoneInfo), "now must be in the clinic's zone"
    # Compared in UTC: Python compares two times of one zone by their wall clock and
    # ignores ``fold``, which would put the second 02:15 of an autumn night before 02:30.
    try:
        return _start(day, start, tz).astimezone(UTC) <= now.astimezone(UTC)
    except OverflowError:  # a day at the edge of the calendar (year 1 or 9999)
        return day < now.date()


def minutes_since_start(day: date, start: time, now: datetime) -> int:
    """Whole minutes from the visit's start to ``now``; 0 until it begins (``now`` is
    aware, in the clinic's zone). How late an expected patient is."""
    tz = now.tzinfo
    assert isinstance(tz, ZoneInfo), "now must be in the clinic's zone"
    try:
        since = now.astimezone(UTC) - _start(day, start, tz).astimezone(UTC)
    except OverflowError:  # a day at the edge of the calendar (year 1 or 9999)
        return 0
    return max(0, int(since.total_seconds() // 60))


def not_begun_clause(day: Any, start: Any, local_now: datetime) -> ColumnElement[bool]:
    """:func:`has_begun`'s negation as SQL, for many rows at once (``local_now``: the
    clinic's naive wall-clock time). It compares wall-clock times, so within the one
    repeated hour of an autumn night it may call a visit begun up to an hour early."""
    today, at = local_now.date(), local_now.time()
    return or_(day > today, and_(day == today, start > at))


def in_the_past(day: date, at: time, now: datetime) -> bool:
    """True for a start time that is now or earlier: nobody books it."""
    return has_begun(day, at, now)


def may_close(day: date, now: datetime) -> bool:
    """A visit may be marked completed or no-show from its own day on (clinic date)."""
    return day <= now.date()


# --- what a role may do with an appointment ---------------------------------------------

#: Every action on an appointment a screen may offer.
ACTIONS = ("reschedule", "cancel", "complete", "no_show", "record_treatment")


#: Where a booked visit is on its day once the patient is here (``Appointment.flow_status``).
PRESENT = ("arrived", "in_consultation")


@dataclass(frozen=True)
class VisitFacts:
    """What the rules need to know about one appointment."""

    doctor_id: int
    patient_id: int
    day: date
    start: time
    #: The stored status, or where a booked visit is on its day (:data:`PRESENT`).
    status: str

    @property
    def stored_status(self) -> str:
        """The status as stored: an arrived or called-in visit is still booked."""
        return "booked" if self.status in PRESENT else self.status


def is_party(actor: Actor, visit: VisitFacts) -> bool:
    """Staff, the visit's own doctor, or its own patient."""
    if actor.role in STAFF_ROLES:
        return True
    if actor.role == "patient":
        return actor.patient_id == visit.patient_id
    if actor.role == "doctor":
        return actor.doctor_id == visit.doctor_id
    return False


def refusal(actor: Actor, visit: VisitFacts, action: str, now: datetime) -> str:
    """Why ``actor`` may not take ``action`` on the visit now ("" when they may)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not is_party(actor, visit):
        return "You may not change this appointment."
    if action == "record_treatment":
        # Clinical fields are the treating doctor's alone (not the desk, not administrators).
        if actor.role != "doctor":
            return "Only the doctor who saw the patient can record the treatment."
        if visit.stored_status not in ("booked", "completed"):
            return "A cancelled or missed visit has no treatment."
        if not may_close(visit.day, now):
            return f"The visit is on {day_words(visit.day)}; record it from that day on."
        return ""
    if visit.stored_status != "booked":
        return "Only a booked appointment can change."
    if visit.status in PRESENT:
        # The patient is here: the visit is closed (or cancelled at the desk), not moved,
        # and nobody who came is a no-show.
        if action == "reschedule":
            return (
                "The patient has checked in; a visit can be moved only before that (undo "
                "the check-in first)."
            )
        if action == "no_show":
            return "The patient checked in: the visit cannot be a no-show."
    begun = has_begun(visit.day, visit.start, now)
    if action == "reschedule":
        if actor.role == "doctor":
            return "Doctors do not move appointments; ask the front desk."
        if actor.role == "patient" and begun:
            return "A visit that has started can no longer be moved online; call the clinic."
        return ""
    if action == "cancel":
        if actor.role == "patient" and begun:
            return "A visit that has started can no longer be cancelled online; call the clinic."
        return ""
    # complete / no_show
    if actor.role == "patient":
        return "Only the doctor or the front desk can close a visit."
    if not may_close(visit.day, now):
        return f"The visit is on {day_words(visit.day)}; it can be closed from that day on."
    if action == "no_show" and not begun:
        # Nobody is missing before the time they were due.
        return (
            f"The visit starts at {visit.start:%H:%M}; a no-show can be recorded once that "
            "time has passed."
        )
    return ""


def may_mark_no_show(actor: Actor, visit: VisitFacts, now: datetime) -> bool:
    """True when a screen may offer "No-show" for the visit: it is booked, the actor may
    close it, and its start time has passed (in the clinic's zone, DST-safe)."""
    return not refusal(actor, visit, "no_show", now)


def row_actions(actor: Actor, row: AppointmentRow | None, now: datetime) -> frozenset[str]:
    """The actions a screen enables for a listed appointment (none without a row)."""
    if row is None:
        return frozenset()
    facts = VisitFacts(row.doctor_id, row.patient_id, row.date, row.time, row.status)
    return allowed_actions(actor, facts, now)


def allowed_actions(actor: Actor, visit: VisitFacts, now: datetime) -> frozenset[str]:
    """The actions a screen should enable for this actor on this visit now."""
    return frozenset(a for a in ACTIONS if not refusal(actor, visit, a, now))


def require_action(actor: Actor, visit: VisitFacts, action: str, now: datetime) -> None:
    """Raise when the actor may not take the action now.

    Raises:
        PermissionDeniedError: it is not the actor's visit, or their role may never do it.
        ValidationError: their role may, but not now (the visit began, or is not due yet).
    """
    reason = refusal(actor, visit, action, now)
    if not reason:
        return
    if not is_party(actor, visit) or reason.startswith(("Only", "Doctors")):
        raise PermissionDeniedError(reason)
    raise ValidationError(reason, field="status")


__all__ = [
    "ACTIONS",
    "PRESENT",
    "VisitFacts",
    "allowed_actions",
    "exists",
    "has_begun",
    "in_the_past",
    "instant",
    "is_party",
    "may_close",
    "may_mark_no_show",
    "not_begun_clause",
    "refusal",
    "require_action",
    "require_admin",
    "require_doctor_or_staff",
    "require_patient_access",
    "require_patient_self_or_staff",
    "require_staff",
    "row_actions",
]


# --- clinical records: care relationship, emergency access, the patient's own request ------

#: A typed reason is at least this long, so "x" does not pass for one.
MIN_REASON_LENGTH = 10


def care_window_days(clinic: Clinic) -> int:
    """Days after a visit during which its doctor still reads the patient's records."""
    return clinic.settings.care_window_days


def idle_lock_minutes(clinic: Clinic) -> int:
    """Minutes without input after which a signed-in window locks itself."""
    return clinic.settings.idle_lock_minutes


class CareRelationshipRequiredError(PermissionDeniedError):
    """A doctor without a current care relationship: emergency access (with a reason) may
    still open the records."""


class Reader(Protocol):
    """What a rule's query runs on: a session, a connection, or a kept driver connection
    (``db.kept.KeptReader``)."""

    def scalar(self, statement: Any, params: Any = None, /) -> Any: ...


#: Built once (a history is opened often): the visit that makes a care relationship.
_CARE = select(
    sql_exists().where(
        Appointment.patient_id == bindparam("patient"),
        Appointment.doctor_id == bindparam("doctor"),
        or_(
            and_(
                Appointment.status == "completed",
                Appointment.day >= bindparam("since"),
                Appointment.day <= bindparam("today"),
            ),
            and_(Appointment.day == bindparam("today"), Appointment.status != "cancelled"),
        ),
    )
)


def has_care_relationship(
    session: Reader, doctor_id: int, patient_id: int, today: date, window_days: int
) -> bool:
    """A visit with this doctor completed within the last ``window_days``, or a live visit
    today (a booking ahead, however soon, is not yet care)."""
    since = today - timedelta(days=window_days)
    params = {"patient": patient_id, "doctor": doctor_id, "since": since, "today": today}
    return bool(session.scalar(_CARE, params))


def clean_reason(reason: str, what: str) -> str:
    """A typed reason, trimmed.

    Raises:
        ValidationError: shorter than :data:`MIN_REASON_LENGTH` characters.
    """
    reason = " ".join(reason.split())[:500]
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(
            f"Type the reason for {what} (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    return reason


def needs_patient_request(actor: Actor) -> bool:
    """Whether ``actor`` opens a patient's clinical record only at the patient's own
    request (:func:`require_record_access`): the front desk and administrators, not the
    system (the command line, jobs)."""
    return actor.is_staff and actor != SYSTEM


def require_record_access(
    session: Reader,
    clinic: Clinic,
    actor: Actor,
    patient_id: int,
    what: str,
    *,
    emergency_reason: str = "",
    patient_request: str = "",
) -> str:
    """Who may read a patient's clinical fields (diagnoses, treatments, notes), and why.

    The patient themself; a doctor in a care relationship (:func:`has_care_relationship`)
    or, without one, by emergency access with a typed reason; the front desk and
    administrators only to produce the patient's own export at their request (with the
    reason); the system (command line, jobs). Returns the basis for the audit entry:
    "self", "care", "emergency", "patient_request" or "system".

    Raises:
        CareRelationshipRequiredError: a doctor without a care relationship nor a reason.
        PermissionDeniedError: anyone else.
        ValidationError: a reason given that is too short.
    """
    if actor == SYSTEM:
        return "system"
    if actor.role == "patient" and actor.patient_id == patient_id:
        return "self"
    if actor.role == "doctor" and actor.doctor_id is not None:
        window = care_window_days(clinic)
        if has_care_relationship(session, actor.doctor_id, patient_id, clinic.today(), window):
            return "care"
        if emergency_reason:
            clean_reason(emergency_reason, "emergency access")
            return "emergency"
        raise CareRelationshipRequiredError(
            f"You may not {what} of this patient: you have no visit with them in the last "
            f"{window} days nor today. In an emergency, open them with a reason."
        )
    if actor.is_staff and patient_request:
        clean_reason(patient_request, "the patient's request")
        return "patient_request"
    if actor.is_staff:
        raise PermissionDeniedError(
            f"The front desk may not {what}: clinical records are for the patient and their "
            "doctors (an export can be made at the patient's own request)."
        )
    raise PermissionDeniedError(f"You may not {what} of this patient.")


def require_treating_doctor(actor: Actor, doctor_id: int) -> None:
    """Recording and amending clinical fields: the visit's own doctor (or the system).

    Raises:
        PermissionDeniedError: administrators, the front desk, other doctors, patients.
    """
    if actor == SYSTEM or (actor.role == "doctor" and actor.doctor_id == doctor_id):
        return
    raise PermissionDeniedError(
        "Only the doctor who saw the patient can record or amend the treatment."
    )
