"""The append-only audit log: who did what to which patient's data, and when."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hms_desktop.db.models import AuditEntry, utcnow
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic


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
    """Add an entry in the caller's transaction, so it commits or rolls back with the change."""
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_user_id=actor.user_id,
            actor=actor.username,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            details=json.dumps(details, default=str, sort_keys=True) if details else "",
        )
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
    """Record in a transaction of its own (reads, exports)."""
    with clinic.db.write() as session:
        record(session, actor, action, entity, entity_id, patient_id=patient_id, **details)


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


def list_entries(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int | None = None,
    action_prefix: str = "",
    actor_name: str = "",
    limit: int = 500,
) -> list[AuditRow]:
    """Newest first. Only administrators read the audit log."""
    require_admin(actor, "read the audit log")
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if patient_id is not None:
        stmt = stmt.where(AuditEntry.patient_id == patient_id)
    if action_prefix:
        stmt = stmt.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    if actor_name:
        stmt = stmt.where(AuditEntry.actor == actor_name)
    with clinic.db.read() as session:
        return [
            AuditRow(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.patient_id, e.details)
            for e in session.scalars(stmt)
        ]
