"""Change events: told at commit, with ids; on PostgreSQL heard by every other process."""

from __future__ import annotations

import threading
import time as wall
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import create_engine, event, text, update

from hms_desktop.db.changes import EVERYTHING, ChangeEvent
from hms_desktop.errors import SlotTakenError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import StatsService
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.core import race_worker

ADMIN = Actor(user_id=None, username="admin", role="admin")


class Heard:
    """Collects change events from any thread; waits for one that matches."""

    def __init__(self) -> None:
        self.events: list[tuple[float, ChangeEvent]] = []
        self._cond = threading.Condition()

    def __call__(self, events: list[ChangeEvent]) -> None:
        with self._cond:
            now = wall.time()
            self.events.extend((now, e) for e in events)
            self._cond.notify_all()

    def wait_for(self, match: object, timeout: float = 10.0) -> tuple[float, ChangeEvent]:
        deadline = wall.monotonic() + timeout
        with self._cond:
            while True:
                for heard_at, change in self.events:
                    if match(change):  # type: ignore[operator]
                        return heard_at, change
                left = deadline - wall.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching change event; heard {self.events}")
                self._cond.wait(left)


def test_a_committed_booking_is_announced_with_its_id(clinic: Clinic) -> None:
    world = f.world(clinic)
    heard = Heard()
    clinic.changes.subscribe_events(heard)
    topics: list[str] = []
    clinic.changes.subscribe(topics.append)

    new_id = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at=f.NINE,
    )

    _, change = heard.wait_for(lambda e: e.topic == "appointments", timeout=0)
    assert change.ids is not None and new_id in change.ids
    assert change.origin == clinic.db.changes.origin
    assert "appointments" in topics


def test_a_refused_write_announces_nothing(clinic: Clinic) -> None:
    world = f.world(clinic)
    booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at=f.NINE,
    )
    heard = Heard()
    clinic.changes.subscribe_events(heard)
    with pytest.raises(SlotTakenError):
        booking.book(
            clinic,
            f.RECEPTION,
            patient_id=world.other_patient_id,
            doctor_id=world.doctor_id,
            day=world.day,
            at=f.NINE,
        )
    assert heard.events == []


def test_everything_reaches_topic_listeners_as_every_topic(clinic: Clinic) -> None:
    topics: list[str] = []
    clinic.changes.subscribe(topics.append)
    clinic.changes.publish([ChangeEvent(EVERYTHING)])
    assert {"appointments", "patients", "availability"} <= set(topics)


def test_sqlite_has_no_listener(sqlite_clinic: Clinic) -> None:
    assert sqlite_clinic.start_listening() is False


def test_another_pcs_booking_reaches_this_one_within_a_second(pg_clinic: Clinic) -> None:
    world = f.world(pg_clinic)
    stats = StatsService(pg_clinic)
    stats.dashboard(ADMIN)
    computed = stats.queries
    heard = Heard()
    pg_clinic.changes.subscribe_events(heard)
    assert pg_clinic.start_listening()
    assert pg_clinic.listener is not None and pg_clinic.listener.listening.wait(10)

    new_id = race_worker.book_in_another_process(pg_clinic, world, "10:00")

    heard_at, change = heard.wait_for(
        lambda e: e.topic == "appointments" and e.ids is not None and new_id in e.ids
    )
    assert change.origin != pg_clinic.db.changes.origin
    latency = heard_at - change.at.timestamp()
    assert 0 <= latency < 1.0, f"heard {latency:.3f} s after the other PC's commit"
    stats.dashboard(ADMIN)  # the cache entry was dropped by the event: computed again
    assert stats.queries == computed + 1
    stats.close()


def test_the_listener_reconnects_and_catches_up(pg_clinic: Clinic) -> None:
    world = f.world(pg_clinic)
    heard = Heard()
    pg_clinic.changes.subscribe_events(heard)
    assert pg_clinic.start_listening()
    listener = pg_clinic.listener
    assert listener is not None and listener.listening.wait(10)
    killed_pid = listener.backend_pid

    admin = create_engine(pg_clinic.db.url)
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": killed_pid}).scalar()
    admin.dispose()
    # A change made while the listener is away: not heard as such, but caught up on.
    missed_id = race_worker.book_in_another_process(pg_clinic, world, "10:30")

    heard.wait_for(lambda e: e.topic == EVERYTHING)
    assert listener.reconnects >= 1 and listener.backend_pid != killed_pid
    assert missed_id > 0
    # And it hears what comes next.
    next_id = race_worker.book_in_another_process(pg_clinic, world, "11:00")
    heard.wait_for(lambda e: e.topic == "appointments" and e.ids is not None and next_id in e.ids)


def test_a_change_event_survives_its_payload() -> None:
    stamp = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    payload = '{"k": "patients", "ids": [3, 4], "o": "abc", "at": "2026-12-07T09:30:00+00:00"}'
    assert ChangeEvent.from_payload(payload) == ChangeEvent("patients", (3, 4), "abc", stamp)
    with pytest.raises(ValueError):
        ChangeEvent.from_payload("not json")


def test_an_audited_write_says_each_change_once_without_a_statement_of_its_own(
    pg_clinic: Clinic,
) -> None:
    """The notifications go out with the audit entry (its statement is most often the
    transaction's last): every changed row is said once, and the commit sends nothing
    more. A change made after the entry is still said, at the commit."""
    from psycopg import sql

    from hms_desktop.db.changes import CHANNEL_PREFIX
    from hms_desktop.db.models import Patient
    from hms_desktop.services.safety import audit
    from hms_desktop.services.scheduling import series

    world = f.world(pg_clinic)
    url = pg_clinic.db.engine.url.set(drivername="postgresql").render_as_string(False)
    listening = psycopg.connect(url, autocommit=True)
    schema = listening.execute("SELECT current_schema()").fetchone()[0]
    listening.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL_PREFIX + schema)))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(pg_clinic.db.engine, "before_cursor_execute", seen)
    try:
        dates = series.occurrence_dates(world.day, "weekly", count=1)
        made = series.book_series(pg_clinic, f.RECEPTION, patient_id=world.patient_id,
                                  doctor_id=world.doctor_id, dates=dates, at="09:00")  # fmt: skip
        assert not any(s.startswith("SELECT pg_notify") for s in statements), statements
        # An entry, then a change: the change is said at the commit.
        with pg_clinic.db.write() as session:
            audit.record(session, f.RECEPTION, "patient.note", "patient", world.patient_id)
            session.execute(
                update(Patient).where(Patient.id == world.patient_id).values(address="Elm 1")
            )
    finally:
        event.remove(pg_clinic.db.engine, "before_cursor_execute", seen)
    said: list[ChangeEvent] = []
    deadline = wall.monotonic() + 10
    while wall.monotonic() < deadline and not any(e.topic == "patients" for e in said):
        said += [ChangeEvent.from_payload(n.payload) for n in listening.notifies(timeout=1)]
    listening.close()
    by_topic: dict[str, list[int]] = {}
    for change in said:
        by_topic.setdefault(change.topic, []).extend(change.ids or [])
    assert sorted(by_topic["appointments"]) == sorted(made.booked)
    assert len(by_topic["audit_log"]) == len(set(by_topic["audit_log"])) == 2  # once each
    assert ("patients" in by_topic and "outbox" not in by_topic) or by_topic["outbox"]
