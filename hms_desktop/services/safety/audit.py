"""The append-only audit log: who did what to which patient's data, and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import AuditEntry, utcnow
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import search_text
from hms_desktop.services.safety import audit_chain


def plain_entry(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    patient_id: int | None = None,
    **details: Any,
) -> audit_chain.PlainEntry:
    """An entry not yet written, without the ORM object: for a hot path that writes it
    with a statement of its own (the quick booking, :func:`audit_chain.append_kept`)."""
    return audit_chain.PlainEntry(
        utcnow(), actor.user_id, actor.username, action, entity, entity_id, patient_id,
        details_text(details),
    )  # fmt: skip


def entry(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    patient_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    """An entry not yet written (:func:`record` writes one; a hot path may build it before
    its transaction and append it with :func:`audit_chain.append`)."""
    plain = plain_entry(actor, action, entity, entity_id, patient_id=patient_id, **details)
    return AuditEntry(**{name: getattr(plain, name) for name in audit_chain.ENTRY_FIELDS})


def details_text(details: dict[str, Any]) -> str:
    """An entry's ``details`` as stored: sorted JSON, or empty."""
    return json.dumps(details, default=str, sort_keys=True) if details else ""


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    patient_id: int | None = None,
    **details: Any,
) -> None:
    """Add an entry in the caller's transaction, so it commits or rolls back with the change.

    The entry joins the hash chain (:func:`audit_chain.append`), which stays locked
    for other writers until the caller's transaction ends.
    """
    audit_chain.append(
        session, entry(actor, action, entity, entity_id, patient_id=patient_id, **details)
    )


def record_now(
    clinic: Clinic,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    patient_id: int | None = None,
    **details: Any,
) -> None:
    """Record in a transaction of its own (reads, exports); on PostgreSQL one round trip
    (:func:`audit_chain.append_alone`)."""
    audit_chain.append_alone(
        clinic.db, entry(actor, action, entity, entity_id, patient_id=patient_id, **details)
    )


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    patient_id: int | None
    details: str


def _local_midnight_utc(clinic: Clinic, day: date) -> datetime:
    """The UTC moment a clinic-local day starts (the log stores UTC)."""
    return datetime.combine(day, time(0), tzinfo=clinic.settings.tz).astimezone(UTC)


def list_entries(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int | None = None,
    action_prefix: str = "",
    actor_name: str = "",
    limit: int = 500,
    date_from: date | None = None,
    date_to: date | None = None,
    text: str = "",
    offset: int = 0,
) -> list[AuditRow]:
    """Newest first. Only administrators read the audit log, and each read is audited.

    Args:
        date_from, date_to: clinic-local days, both included.
        text: found anywhere in the action, entity, actor or details (any case).

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        ValidationError: ``date_to`` is before ``date_from``.
    """
    require_admin(actor, "read the audit log")
    if date_from is not None and date_to is not None and date_to < date_from:
        raise ValidationError("The end date is before the start date.", field="date_to")
    stmt = (
        select(AuditEntry)
        .order_by(AuditEntry.id.desc())
        .limit(max(1, min(limit, 10_000)))
        .offset(max(0, offset))
    )
    if patient_id is not None:
        stmt = stmt.where(AuditEntry.patient_id == patient_id)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    if actor_name:
        stmt = stmt.where(AuditEntry.actor == actor_name)
    if date_from is not None:
        stmt = stmt.where(AuditEntry.at >= _local_midnight_utc(clinic, date_from))
    if date_to is not None:
        next_day = date_to + timedelta(days=1)
        stmt = stmt.where(AuditEntry.at < _local_midnight_utc(clinic, next_day))
    needle = search_text(text)
    if needle:
        stmt = stmt.where(
            or_(
                *(
                    column.icontains(needle, autoescape=True)
                    for column in (
                        AuditEntry.action,
                        AuditEntry.entity,
                        AuditEntry.actor,
                        AuditEntry.details,
                    )
                )
            )
        )
    with clinic.db.read() as session:
        rows = [
            AuditRow(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.patient_id, e.details)
            for e in session.scalars(stmt)
        ]
    # Reading the log is itself recorded (after the read, so a listing does not show
    # its own entry): who looked, with which filters, and how much they saw.
    shown: dict[str, Any] = {
        "of_patient": patient_id,
        "action_prefix": action_prefix,
        "actor_name": actor_name,
        "date_from": date_from,
        "date_to": date_to,
        "text": needle,
        "offset": offset or None,
    }
    filters = {k: v for k, v in shown.items() if v not in (None, "")}
    with clinic.db.write() as session:
        record(session, actor, "audit.read", "audit_log", None, rows=len(rows), **filters)
    return rows
