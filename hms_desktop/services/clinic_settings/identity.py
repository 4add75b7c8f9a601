"""The clinic's own identity: a UUID made once per clinic database and never changed.

Exported records name what they hold by the clinic's ids (patient 95, appointment
1203); another system that imports records of two clinics tells them apart only by
who issued them. The clinic id says that. It is kept as a row of the
``clinic_settings`` table, but it is no setting: it is not in
:data:`~hms_desktop.services.clinic_settings.values.KEYS`, so ``hms clinic show``,
the settings dialog, :func:`service.change` and ``HMS_<KEY>`` variables neither show
nor change it. A backup restored keeps it (it is the same clinic).

A database made before this existed gets its id the first time one is needed. Two
PCs asking at the same moment both insert-if-absent and then read: the first insert
wins and both see its value.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hms_desktop.db.models import ClinicSetting, utcnow
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety import audit

#: The row of ``clinic_settings`` that holds the clinic id (not one of the settings' KEYS).
CLINIC_ID_KEY = "clinic_id"


def _stored(session: Session) -> uuid.UUID | None:
    text = session.scalar(select(ClinicSetting.value).where(ClinicSetting.key == CLINIC_ID_KEY))
    return None if text is None else uuid.UUID(json.loads(text))


def clinic_id(clinic: Clinic) -> uuid.UUID:
    """This clinic's UUID: the same on every PC of the clinic and for the database's life.

    Made (and audited as ``clinic_settings.identity``) the first time it is asked for.

    Raises:
        DatabaseUnavailableError: the database cannot be read, or the id is still to be
            made and the database cannot be written (read-only).
    """
    with clinic.db.read() as session:
        found = _stored(session)
    if found is not None:
        return found
    new = uuid.uuid4()
    row = {"key": CLINIC_ID_KEY, "value": json.dumps(str(new)), "updated_at": utcnow()}
    with clinic.db.write() as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        # Insert-if-absent: another PC may make one at the same moment; its row wins if
        # it commits first (PostgreSQL waits for it), and this reads that row.
        session.execute(dialect.insert(ClinicSetting).values(**row).on_conflict_do_nothing())
        stored = _stored(session)
        if stored == new:  # this PC's insert won
            audit.record(
                session, SYSTEM, "clinic_settings.identity", "clinic_settings", None,
                key=CLINIC_ID_KEY, new=str(new),
            )  # fmt: skip
    assert stored is not None  # inserted here or by whoever won
    return stored
