"""The one service that reads and changes clinic-wide settings and visit types.

Only an administrator may read the full set or change anything; every change is
written to the audit log with who made it and the old and new value. The SMTP
password is not a clinic setting (each PC keeps it in its keyring).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hms_desktop.db.models import ClinicSetting, VisitType, utcnow
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings.stored import read_values, write_values
from hms_desktop.services.clinic_settings.values import (
    KEYS,
    ClinicSettings,
    env_name,
    from_mapping,
    local_zone_name,
    parse_value,
)
from hms_desktop.services.safety import audit

#: The row that says the PC settings files' clinic values were moved in already.
IMPORTED_MARK = "imported_from_settings_file"


@dataclass(frozen=True)
class SettingView:
    """One setting as ``hms clinic show`` and the admin dialog show it."""

    key: str
    value: Any
    stored: Any
    #: The environment variable overriding it on this PC, or "".
    overridden_by: str


def show(clinic: Clinic, actor: Actor) -> list[SettingView]:
    """Every clinic setting: the value in force on this PC and the stored one.

    Raises:
        PermissionDeniedError: not an administrator.
    """
    policy.require_admin(actor, "see the clinic settings")
    clinic.reload_settings()
    with clinic.db.read() as session:
        stored = from_mapping(read_values(session))
    current, overrides = clinic.settings, clinic.overrides
    return [
        SettingView(key, getattr(current, key), getattr(stored, key), overrides.get(key, ""))
        for key in KEYS
    ]


def change(clinic: Clinic, actor: Actor, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and store ``values`` (key -> value or text); return what actually changed.

    Each changed value is audited (``clinic_settings.change``: key, old, new). Every
    PC reads the new values within :data:`~hms_desktop.services.clinic.REFRESH_SECONDS`;
    this one at once. Nothing is stored unless every value is valid.

    Raises:
        PermissionDeniedError: not an administrator.
        ValidationError: an unknown key or a value it cannot hold (names the setting).
    """
    policy.require_admin(actor, "change the clinic settings")
    parsed = {key: parse_value(key, raw) for key, raw in values.items()}
    with clinic.db.write() as session:
        before = from_mapping(read_values(session))
        changed = {k: v for k, v in parsed.items() if getattr(before, k) != v}
        write_values(session, changed)
        for key, new in changed.items():
            audit.record(
                session, actor, "clinic_settings.change", "clinic_settings", None,
                key=key, old=getattr(before, key), new=new,
            )  # fmt: skip
    if changed:
        clinic.reload_settings()
        clinic.changes.notify("clinic_settings")
    return changed


def is_set_up(clinic: Clinic) -> bool:
    """True once the clinic has its time zone stored (the first run asked for it)."""
    with clinic.db.read() as session:
        return session.get(ClinicSetting, "timezone") is not None


def import_legacy(
    clinic: Clinic, actor: Actor, legacy: Mapping[str, Any], *, source: str = ""
) -> dict[str, Any]:
    """Move clinic values from an old per-PC settings file into the database, once.

    Runs on the first start by an administrator or by ``hms init``; later calls (from
    any PC) change nothing. Only values not stored yet are taken, each audited as
    ``clinic_settings.import``; a value the file holds but this version refuses is
    left out (the administrator sets it in the dialog). Returns what was stored.

    Raises:
        PermissionDeniedError: not an administrator.
    """
    policy.require_admin(actor, "move settings into the clinic database")
    taken: dict[str, Any] = {}
    for key, raw in legacy.items():
        try:
            taken[key] = parse_value(key, raw)
        except ValidationError:
            continue
    with clinic.db.write() as session:
        if session.get(ClinicSetting, IMPORTED_MARK, with_for_update=True) is not None:
            return {}
        present = set(read_values(session))
        taken = {k: v for k, v in taken.items() if k not in present}
        write_values(session, taken)
        session.add(
            ClinicSetting(
                key=IMPORTED_MARK,
                value=json.dumps(source or socket.gethostname()),
                updated_at=utcnow(),
            )
        )
        for key, value in taken.items():
            audit.record(
                session, actor, "clinic_settings.import", "clinic_settings", None,
                key=key, new=value, source=source,
            )  # fmt: skip
    clinic.reload_settings()
    if taken:
        clinic.changes.notify("clinic_settings")
    return taken


def first_run(clinic: Clinic, actor: Actor, *, timezone: str, clinic_name: str) -> None:
    """Store what the first run asked: the clinic's time zone and name.

    Raises:
        PermissionDeniedError: not an administrator.
        ValidationError: an unknown zone or an unusable name.
    """
    if not clinic_name.strip():
        raise ValidationError("Type the clinic's name.", field="clinic_name")
    change(clinic, actor, {"timezone": timezone, "clinic_name": clinic_name})


def suggested_zone() -> str:
    """The zone the first run offers: this PC's own (never a silent UTC)."""
    return local_zone_name()


def seed(clinic: Clinic, values: Mapping[str, Any]) -> ClinicSettings:
    """Store checked values with no person behind them (test clinics, demo data).

    Not audited: nobody changed a running clinic's rules. People use :func:`change`.

    Raises:
        ValidationError: an unknown key or a value it cannot hold.
    """
    parsed = {key: parse_value(key, raw) for key, raw in values.items()}
    with clinic.db.write() as session:
        write_values(session, parsed)
    return clinic.reload_settings()


# --- visit types ------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitTypeView:
    name: str
    label: str
    minutes: int


def list_visit_types(clinic: Clinic) -> list[VisitTypeView]:
    """Every visit type with its default length, by name (anyone signed in may read)."""
    with clinic.db.read() as session:
        rows = session.scalars(select(VisitType).order_by(VisitType.name))
        return [VisitTypeView(v.name, v.label, v.minutes) for v in rows]


def set_visit_type(
    clinic: Clinic, actor: Actor, name: str, *, minutes: int, label: str = ""
) -> VisitTypeView:
    """Set a visit type's default length (a new name adds a type). Audited (old, new).

    Bookings already made keep their length; new ones take the new default.

    Raises:
        PermissionDeniedError: not an administrator.
        ValidationError: a name that is not a short word, or a length outside 5-480 minutes.
    """
    policy.require_admin(actor, "change visit types")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if not key or len(key) > 32 or not key.replace("_", "").isalnum() or not key.isascii():
        raise ValidationError(
            f"A visit type is a short word like follow_up, not {name!r}.", field="name"
        )
    if isinstance(minutes, bool) or not 5 <= minutes <= 480:
        raise ValidationError("A visit lasts 5 to 480 minutes.", field="minutes")
    label = label.strip()[:64] or key.replace("_", " ").capitalize()
    with clinic.db.write() as session:
        row = session.get(VisitType, key, with_for_update=True)
        old = None if row is None else row.minutes
        if row is None:
            row = VisitType(name=key, label=label, minutes=minutes)
            session.add(row)
        else:
            row.minutes = minutes
        view = VisitTypeView(row.name, row.label, row.minutes)
        audit.record(
            session, actor, "visit_type.set", "visit_type", None,
            name=key, old=old, new=minutes,
        )  # fmt: skip
    clinic.changes.notify("clinic_settings")
    return view


def visit_type(clinic: Clinic, name: str) -> VisitTypeView:
    """One visit type.

    Raises:
        NotFoundError: no such type (the message lists the known ones).
    """
    types = {v.name: v for v in list_visit_types(clinic)}
    if name not in types:
        raise NotFoundError(
            f"There is no visit type {name!r}; use one of {', '.join(sorted(types))}.",
            field="visit_type",
        )
    return types[name]


__all__ = [
    "SettingView",
    "VisitTypeView",
    "change",
    "env_name",
    "first_run",
    "import_legacy",
    "is_set_up",
    "list_visit_types",
    "seed",
    "set_visit_type",
    "show",
    "suggested_zone",
    "visit_type",
]
