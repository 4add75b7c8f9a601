"""The clinic id: one UUID per clinic database, made once, the same on every PC, no setting."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hms_desktop.db.models import AuditEntry, ClinicSetting
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.identity import CLINIC_ID_KEY, clinic_id
from hms_desktop.services.clock import FakeClock
from tests.conftest import _fresh_sqlite, make_clinic

ADMIN = Actor(user_id=1, username="boss", role="admin")


def _made_audited(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "clinic_settings.identity")
            )
            or 0
        )


def test_a_clinic_gets_its_id_on_first_need_and_keeps_it(
    clinic: Clinic, database_url: str, clock: FakeClock
) -> None:
    with clinic.db.read() as session:
        assert session.get(ClinicSetting, CLINIC_ID_KEY) is None  # an existing database
    first = clinic_id(clinic)
    assert first.version == 4
    assert clinic_id(clinic) == first
    other_pc = make_clinic(database_url, clock)
    try:
        assert clinic_id(other_pc) == first
    finally:
        other_pc.close()
    assert _made_audited(clinic) == 1


def test_two_clinic_databases_have_different_ids(
    sqlite_clinic: Clinic, tmp_path: Path, sqlite_template: Path, clock: FakeClock
) -> None:
    (tmp_path / "second").mkdir()
    second = make_clinic(_fresh_sqlite(sqlite_template, tmp_path / "second"), clock)
    try:
        assert clinic_id(second) != clinic_id(sqlite_clinic)
    finally:
        second.close()


def test_pcs_asking_at_the_same_moment_agree_on_one_id(
    clinic: Clinic, database_url: str, clock: FakeClock
) -> None:
    pcs = [make_clinic(database_url, clock) for _ in range(4)]
    start = threading.Barrier(len(pcs))
    found: list[uuid.UUID] = []
    failed: list[BaseException] = []

    def ask(pc: Clinic) -> None:
        try:
            start.wait(timeout=30)
            found.append(clinic_id(pc))
        except BaseException as err:
            failed.append(err)

    threads = [threading.Thread(target=ask, args=(pc,)) for pc in pcs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for pc in pcs:
            pc.close()
    assert failed == []
    assert len(found) == len(pcs) and len(set(found)) == 1
    assert clinic_id(clinic) == found[0]
    assert _made_audited(clinic) == 1


def test_the_clinic_id_is_no_setting_anyone_can_change(clinic: Clinic, clock: FakeClock) -> None:
    made = clinic_id(clinic)
    assert CLINIC_ID_KEY not in [v.key for v in clinic_settings.show(clinic, ADMIN)]
    with pytest.raises(ValidationError, match="no clinic setting"):
        clinic_settings.change(clinic, ADMIN, {CLINIC_ID_KEY: str(uuid.uuid4())})
    # Neither an operator's variable nor a re-seed of the defaults touches it.
    pc = Clinic(db=clinic.db, pc=clinic.pc, clock=clock, environ={"HMS_CLINIC_ID": "x"})
    assert pc.overrides == {}
    clinic_settings.seed(clinic, {"clinic_name": "Praxis Mitte"})
    assert clinic_id(pc) == clinic_id(clinic) == made
