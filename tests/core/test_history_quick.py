"""A patient's history on PostgreSQL's kept connection (``records._history_quickly``): the
same rows, rule and audit entry as the long way, without a session; and the long way
whenever something must be said (refused, disabled account, connection gone)."""

from __future__ import annotations

import time as wall
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text, update

from hms_desktop.db.changes import CHANNEL_PREFIX, ChangeEvent
from hms_desktop.db.models import Patient
from hms_desktop.errors import SignedOutError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import accounts, users
from hms_desktop.services.policy import CareRelationshipRequiredError
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import booking
from tests import factories as f

SECRET = "Sup3r-secret-pw"


@pytest.fixture
def treated(pg_clinic: Clinic, clock: FakeClock) -> Iterator[tuple[f.World, Actor]]:
    """Two completed, treated visits of the world's patient with its first doctor."""
    world = f.world(pg_clinic)
    doctor = f.doctor_actor(world.doctor_id)
    visits = [
        booking.book(
            pg_clinic,
            f.RECEPTION,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            day=world.day,
            at=at,
        )
        for at in ("09:00", "10:30")
    ]
    clock.advance(days=2)
    for n, appt in enumerate(visits):
        booking.complete(pg_clinic, doctor, appt)
        records.record_treatment(pg_clinic, doctor, appt, TreatmentForm(diagnosis=f"d{n} 'x' =1"))
    yield world, doctor


def _no_session(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the history opened a session")

    monkeypatch.setattr(clinic.db, "read", refused)
    monkeypatch.setattr(clinic.db, "write", refused)
    monkeypatch.setattr(clinic.db, "one_statement", refused)


def _long_way_rows(clinic: Clinic, patient_id: int) -> list[Any]:
    with clinic.db.read() as session:
        return [
            records._history_row(r) for r in session.execute(records.history_statement(patient_id))
        ]


def _views(clinic: Clinic, patient_id: int) -> list[audit.AuditRow]:
    return [
        e
        for e in audit.list_entries(clinic, SYSTEM, patient_id=patient_id)
        if e.action == "history.view"
    ]


def test_the_history_is_the_long_ways_rows_and_entry_without_a_session(
    pg_clinic: Clinic, treated: tuple[f.World, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, doctor = treated
    expected = _long_way_rows(pg_clinic, world.patient_id)
    assert len(expected) == 2
    with monkeypatch.context() as patched:
        _no_session(pg_clinic, patched)
        for actor in (SYSTEM, doctor, f.patient_actor(world.patient_id)):
            assert records.patient_history(pg_clinic, actor, world.patient_id) == expected
    views = _views(pg_clinic, world.patient_id)
    assert [(e.actor, e.entity_id) for e in reversed(views)] == [
        ("system", world.patient_id),
        (doctor.username, world.patient_id),
        (f.patient_actor(world.patient_id).username, world.patient_id),
    ]
    assert [e.details for e in reversed(views)] == [
        '{"basis": "system", "rows": 2}',
        '{"basis": "care", "rows": 2}',
        '{"basis": "self", "rows": 2}',
    ]
    assert audit_chain.verify(pg_clinic.db).ok


def test_what_must_be_said_is_said_the_long_way(
    pg_clinic: Clinic, treated: tuple[f.World, Actor]
) -> None:
    world, _doctor = treated
    stranger = f.doctor_actor(world.other_doctor_id)
    with pytest.raises(CareRelationshipRequiredError):
        records.patient_history(pg_clinic, stranger, world.patient_id)
    # An emergency opening: its own entry and the view, together.
    rows = records.patient_history(
        pg_clinic, stranger, world.patient_id, emergency_reason="unconscious at the desk"
    )
    assert len(rows) == 2
    actions = [
        e.action
        for e in audit.list_entries(pg_clinic, SYSTEM, patient_id=world.patient_id)
        if e.actor == stranger.username
    ]
    assert sorted(actions) == ["emergency.access", "history.view"]


def test_a_disabled_accounts_window_is_signed_out_and_sees_nothing(
    pg_clinic: Clinic, treated: tuple[f.World, Actor]
) -> None:
    world, _doctor = treated
    user_id = accounts.create_user(pg_clinic, SYSTEM, "jose", SECRET, "patient")
    with pg_clinic.db.write() as session:
        session.execute(
            update(Patient).where(Patient.id == world.patient_id).values(user_id=user_id)
        )
    me = accounts.login(pg_clinic, "jose", SECRET)
    assert me.patient_id == world.patient_id
    signed_out: list[bool] = []
    window = users.signed_in_clinic(pg_clinic, me, on_signed_out=lambda: signed_out.append(True))
    assert len(records.patient_history(window, me, world.patient_id)) == 2
    users.set_active(pg_clinic, SYSTEM, user_id, False)
    with pytest.raises(SignedOutError):
        records.patient_history(window, me, world.patient_id)
    assert signed_out == [True]
    assert len(_views(pg_clinic, world.patient_id)) == 1


def test_a_history_after_the_server_dropped_the_kept_connection_is_shown(
    pg_clinic: Clinic, treated: tuple[f.World, Actor]
) -> None:
    world, _doctor = treated
    assert len(records.patient_history(pg_clinic, SYSTEM, world.patient_id)) == 2
    with pg_clinic.db.kept_connection() as driver:
        pid = driver.info.backend_pid
    with pg_clinic.db.write() as session:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert len(records.patient_history(pg_clinic, SYSTEM, world.patient_id)) == 2
    assert len(records.patient_history(pg_clinic, SYSTEM, world.patient_id)) == 2
    with pg_clinic.db.kept_connection() as driver:
        assert driver.info.backend_pid != pid and not driver.closed
    assert len(_views(pg_clinic, world.patient_id)) == 3
    assert audit_chain.verify(pg_clinic.db).ok


def test_the_view_is_said_to_the_other_pcs(
    pg_clinic: Clinic, treated: tuple[f.World, Actor]
) -> None:
    world, _doctor = treated
    url = pg_clinic.db.engine.url.set(drivername="postgresql").render_as_string(False)
    listening = psycopg.connect(url, autocommit=True)
    try:
        schema = listening.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        listening.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL_PREFIX + schema)))
        records.patient_history(pg_clinic, SYSTEM, world.patient_id)
        said: list[ChangeEvent] = []
        deadline = wall.monotonic() + 10
        while wall.monotonic() < deadline and not said:
            said += [ChangeEvent.from_payload(n.payload) for n in listening.notifies(timeout=1)]
    finally:
        listening.close()
    (view,) = _views(pg_clinic, world.patient_id)
    assert [(e.topic, e.ids) for e in said] == [("audit_log", (view.id,))]
