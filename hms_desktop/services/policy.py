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
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import (
    STAFF_ROLES,
    Actor,
    require_admin,
    require_doctor_or_staff,
    require_patient_access,
    require_patient_self_or_staff,
    require_staff,
)
from hms_desktop.services.views import AppointmentRow

# --- time -------------------------------------------------------------------------------


def exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """False for a wall-clock time the zone skips (a DST gap)."""
    local = datetime.combine(day, at, tzinfo=tz)
    back = local.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The moment a clinic wall-clock time means: a fold's first occurrence.

    Raises:
        ValidationError: the time falls in a DST gap (it does not exist that day).
    """
    if not exists(day, at, tz):
        raise ValidationError(
            f"{day:%Y-%m-%d} {at:%H:%M} does not exist in {tz.key} (the clocks go forward "
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
    return _start(day, start, tz).astimezone(UTC) <= now.astimezone(UTC)


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


@dataclass(frozen=True)
class VisitFacts:
    """What the rules need to know about one appointment."""

    doctor_id: int
    patient_id: int
    day: date
    start: time
    status: str


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
        if actor.role == "patient":
            return "Only the doctor or the front desk can record a treatment."
        if visit.status not in ("booked", "completed"):
            return "A cancelled or missed visit has no treatment."
        if not may_close(visit.day, now):
            return f"The visit is on {visit.day:%Y-%m-%d}; record it from that day on."
        return ""
    if visit.status != "booked":
        return "Only a booked appointment can change."
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
        return f"The visit is on {visit.day:%Y-%m-%d}; it can be closed from that day on."
    return ""


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
    "VisitFacts",
    "allowed_actions",
    "exists",
    "has_begun",
    "in_the_past",
    "instant",
    "is_party",
    "may_close",
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
