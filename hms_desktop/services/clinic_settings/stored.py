"""Reading and writing the ``clinic_settings`` rows (no permission checks here).

:mod:`hms_desktop.services.clinic` reads through this when it opens the clinic;
changes made by a person go through :mod:`hms_desktop.services.clinic_settings.service`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hms_desktop.db.models import ClinicSetting, utcnow
from hms_desktop.services.clinic_settings.values import KEYS, ClinicSettings, from_mapping


def read_values(session: Session) -> dict[str, Any]:
    """The stored values by key (only keys this version knows; JSON decoded)."""
    rows = session.execute(select(ClinicSetting.key, ClinicSetting.value)).all()
    return {key: json.loads(value) for key, value in rows if key in KEYS}


def read_settings(session: Session) -> ClinicSettings:
    """The stored settings, defaults for what is not stored.

    Raises:
        ValidationError: a stored value this version cannot use (names the setting).
    """
    return from_mapping(read_values(session))


def write_values(session: Session, values: Mapping[str, Any]) -> None:
    """Store already-checked values in the caller's transaction (insert or update)."""
    for key, value in values.items():
        row = session.get(ClinicSetting, key, with_for_update=True)
        text = json.dumps(value)
        if row is None:
            session.add(ClinicSetting(key=key, value=text, updated_at=utcnow()))
        else:
            row.value, row.updated_at = text, utcnow()
    session.flush()
