"""The quick booking (:mod:`hms_desktop.services.scheduling.quick_book`): checked before its
transaction, written in statements that prove nothing checked has changed since.

Each race below is real: between the quick read and the quick write, another writer
commits a change through the services, on the same database. The booking must then be
made the long way, and refused exactly as the long way refuses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update

from hms_desktop.db import engine
from hms_desktop.db.models import Appointment, AuditEntry, Availability, Doctor, OutboxMessage
from hms_desktop.errors import SlotTakenError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import doctors, patients
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import availability, booking, hours, quick_book
from tests import factories as f

SYSTEM_DESK = f.RECEPTION


def _long_way_counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often a booking took the long way (its in-transaction checks)."""
    calls: list[int] = []
    real = booking._check_new

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(booking, "_check_new", counted)
    return calls


def _after_quick_read(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` (another writer's committed change) right after the quick read."""
    real = quick_book.Quick.read

    def read_then_change(self: quick_book.Quick, *args: Any) -> Any:
        facts = real(self, *args)
        action()
        return facts

    monkeypatch.setattr(quick_book.Quick, "read", read_then_change)


def _book(clinic: Clinic, w: f.World, at: str = "09:00", **kw: Any) -> int:
    return booking.book(
        clinic, SYSTEM_DESK, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at=at, **kw
    )


def test_a_plain_booking_takes_the_quick_way_and_writes_what_the_long_way_writes(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    long_way = _long_way_counter(monkeypatch)
    heard: list[Any] = []
    clinic.changes.subscribe(heard.append)
    new_id = _book(clinic, world, "09:30", reason="knee")
    assert long_way == []
    with clinic.db.read() as session:
        appt = session.get_one(Appointment, new_id)
        assert (appt.day, appt.start_time, appt.end_time) == (world.day, time(9, 30), time(10, 0))
        assert (appt.status, appt.reason, appt.doctor_id) == ("booked", "knee", world.doctor_id)
        assert appt.created_at.tzinfo is not None and appt.overbooked is False
        assert appt.calendar_sequence == 0 and appt.series_id is None
        assert appt.visit_type == "consultation" and appt.arrived_at is None
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.appointment_id == new_id)
        ).one()
        assert message.kind == "booking_confirmation" and message.status == "pending"
        assert message.recipient.endswith("@mail.test") and "09:30" in message.subject
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "appointment.book", AuditEntry.entity_id == new_id
            )
        ).one()
        assert entry.patient_id == world.patient_id and '"time": "09:30"' in entry.details
    assert audit_chain.verify(clinic.db).ok
    # This process heard of the visit, its message and its entry (as after a session's commit).
    assert {"appointments", "outbox", "audit_log"} <= set(heard)
    # The long way's own booking of the same time is refused by the database's guard.
    with pytest.raises(SlotTakenError, match="already has a visit at 09:30-10:00"):
        _book(clinic, world, "09:30")


def test_hours_removed_between_the_read_and_the_write_are_seen(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clinic.db.read() as session:
        version = session.get_one(Doctor, world.doctor_id).schedule_version
    long_way = _long_way_counter(monkeypatch)
    _after_quick_read(
        monkeypatch, lambda: f.open_day(clinic, world.doctor_id, world.day, "11:00", "12:00")
    )
    with pytest.raises(ValidationError, match="does not see patients"):
        _book(clinic, world, "09:00")
    assert long_way == [1]
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
        assert session.get_one(Doctor, world.doctor_id).schedule_version > version


def test_a_doctor_blacklisted_between_the_read_and_the_write_is_refused(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _after_quick_read(
        monkeypatch,
        lambda: doctors.set_blacklisted(clinic, f.SYSTEM, world.doctor_id, True),
    )
    with pytest.raises(ValidationError, match="not taking bookings"):
        _book(clinic, world)


def test_a_patient_blacklisted_between_the_read_and_the_write_is_refused(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _after_quick_read(
        monkeypatch,
        lambda: patients.set_blacklisted(clinic, SYSTEM_DESK, world.patient_id, True),
    )
    with pytest.raises(ValidationError, match="is blacklisted"):
        _book(clinic, world)


def test_a_time_taken_between_the_read_and_the_write_names_the_winner(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_desk() -> None:
        with monkeypatch.context() as inner:
            inner.setattr(quick_book.Quick, "read", real_read)
            booking.book(
                clinic, SYSTEM_DESK, patient_id=world.other_patient_id,
                doctor_id=world.doctor_id, day=world.day, at="09:00",
            )  # fmt: skip

    f.set_settings(clinic, send_booking_confirmation=True)
    real_read = quick_book.Quick.read
    _after_quick_read(monkeypatch, other_desk)
    with pytest.raises(SlotTakenError, match="already has a visit at 09:00-09:30"):
        _book(clinic, world)
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert audit_chain.verify(clinic.db).ok


def test_a_refused_check_is_said_by_the_long_way(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_way = _long_way_counter(monkeypatch)
    with pytest.raises(ValidationError, match="does not see patients"):
        _book(clinic, world, "13:00")
    assert long_way == [1]


def test_every_change_of_a_doctors_hours_raises_the_schedule_version(
    clinic: Clinic, world: f.World
) -> None:
    def version() -> int:
        with clinic.db.read() as session:
            return session.get_one(Doctor, world.doctor_id).schedule_version

    with clinic.db.read() as session:
        other = session.get_one(Doctor, world.other_doctor_id).schedule_version
    seen = [version()]
    f.open_day(clinic, world.doctor_id, world.day, "08:00", "10:00")  # delete + insert
    seen.append(version())
    with clinic.db.write() as session:
        session.execute(
            update(Availability)
            .where(Availability.doctor_id == world.doctor_id)
            .values(end_time=time(11, 0))
        )
    seen.append(version())
    with clinic.db.write() as session:
        session.execute(delete(Availability).where(Availability.doctor_id == world.doctor_id))
    seen.append(version())
    assert seen == sorted(set(seen)), seen  # raised by every change
    # The other doctor's hours were not touched, nor was their version.
    with clinic.db.read() as session:
        assert session.get_one(Doctor, world.other_doctor_id).schedule_version == other


def test_the_quick_read_finds_the_hours_the_long_way_finds(clinic: Clinic, world: f.World) -> None:
    """The quick read's hours are its own SQL (one statement with the doctor and the
    patient); they must be :func:`availability.day_windows`' on every kind of day, or the
    two ways would refuse differently."""
    doctor, day = world.other_doctor_id, world.day
    days = [day + timedelta(days=n) for n in range(14)]
    weekday = day.strftime("%a").lower()
    hours.set_weekly(clinic, SYSTEM, doctor, weekday, [("08:00", "10:00"), ("14:00", "16:30")])
    hours.add_weekly(clinic, SYSTEM, doctor, (day + timedelta(days=1)).weekday(), "09:00", "12:00")
    availability.set_day(clinic, SYSTEM, doctor, days[7], [("07:00", "08:00")])  # instead
    availability.set_day(clinic, SYSTEM, doctor, days[8], [])  # off that date
    hours.take_leave(clinic, SYSTEM, doctor, days[2], days[3], "course")
    seen = set()
    for on in days:
        with quick_book.connection(clinic.db) as quick:
            facts = quick.read(doctor, world.patient_id, "consultation", on)
        assert facts is not None
        with clinic.db.read() as session:
            expected = availability.day_windows(session, doctor, on)
        assert availability.windows_from(facts.hours) == expected, on
        seen.add(tuple(expected))
    assert len(seen) >= 4  # weekly, the other weekday, a date of its own, none


AWKWARD = [
    'quote " and backslash \\ and slash /',
    "lines\nand\ttabs\rand\bback\fspace",
    "controls \x01\x1f\x7f and U+2028 \u2028",
    "Łukasz Yılmaz, Крюгер, 山田, emoji 🩺",
    "",
]


def test_the_servers_audit_hash_is_the_one_python_computes(clinic: Clinic) -> None:
    """PostgreSQL appends through migration 0017's function; ``hms audit verify`` (Python)
    must accept every entry it makes. SQLite appends in Python: the same check holds."""
    with clinic.db.write() as session:
        for n, words in enumerate(AWKWARD):
            entry = audit.entry(SYSTEM_DESK, "test.awkward", "patient", n, patient_id=None)
            entry.actor = words or "desk"
            entry.details = words
            audit_chain.append(session, entry)
            expected = audit_chain.entry_hash(
                entry.prev_hash, entry.seq, entry.at, entry.actor_user_id, entry.actor,
                entry.action, entry.entity, entry.entity_id, entry.patient_id, entry.details,
            )  # fmt: skip
            assert entry.row_hash == expected, words
    report = audit_chain.verify(clinic.db)
    assert report.ok, report.message


def test_the_chain_lock_key_is_the_migrations() -> None:
    from importlib import import_module

    migration = import_module(
        "hms_desktop.db.migrations.versions.0017_schedule_version_and_audit_append"
    )
    assert migration._CHAIN_LOCK_KEY == audit_chain._CHAIN_LOCK_KEY


def test_a_series_and_a_walk_in_take_the_long_way(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_way = _long_way_counter(monkeypatch)
    _book(clinic, world, "09:00", series_id=-1)
    assert long_way == [1]


def test_a_quick_booking_waits_for_a_write_lock_held_a_moment(
    clinic: Clinic, world: f.World
) -> None:
    """Another PC writes for 0.3 s: the booking waits for it (the quick way's own short
    pauses on SQLite, the doctor's row on PostgreSQL) and is then made."""
    outcome: list[object] = []

    def book() -> None:
        try:
            outcome.append(_book(clinic, world, "10:00"))
        except BaseException as err:  # checked below
            outcome.append(err)

    with clinic.db.write() as other_pc:
        other_pc.execute(select(Doctor.id).where(Doctor.id == world.doctor_id).with_for_update())
        thread = threading.Thread(target=book, daemon=True)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive()  # waiting for the other PC's write
    thread.join(15)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], int), outcome


def test_a_booking_after_the_server_dropped_the_kept_connection_is_made(
    pg_clinic: Clinic,
) -> None:
    """PostgreSQL restarted (here: the kept connection's backend ended): the quick read
    finds it dead, the booking is made the long way, the next takes a new connection."""
    clinic, world = pg_clinic, f.world(pg_clinic)
    first = _book(clinic, world, "09:00")
    with clinic.db.kept_connection() as driver:
        pid = driver.info.backend_pid
    with clinic.db.write() as session:
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    second = _book(clinic, world, "09:30")
    third = _book(clinic, world, "10:00")
    assert first < second < third
    with clinic.db.kept_connection() as driver:
        assert driver.info.backend_pid != pid and not driver.closed


def test_after_a_restore_bookings_go_to_the_restored_clinic(
    clinic: Clinic, world: f.World, tmp_path: Path
) -> None:
    """The quick way keeps a connection per thread; closing the clinic's connections (as a
    restore does) must not leave it writing through the old one."""
    first = _book(clinic, world, "09:00")
    with clinic.db.kept_connection() as before:
        pass
    clinic.db.dispose()  # what restore_clinic does before replacing the database
    second = _book(clinic, world, "09:30")
    with clinic.db.kept_connection() as after:
        assert after is not before
    with clinic.db.read() as session:
        ids = set(session.scalars(select(Appointment.id)))
    assert {first, second} <= ids


def test_bookings_from_short_lived_threads_do_not_keep_the_pools_connections(
    clinic: Clinic, world: f.World
) -> None:
    """The window books on a new worker thread each time. A connection kept per thread
    stayed out of the pool after its thread ended: after 15 bookings the pool was empty
    and the 16th waited 30 s for a connection. Kept connections are shared instead, and
    only a few wait between calls."""
    patients_ = [f.patient(clinic, f"Thread Patient {i}") for i in range(8)]
    starts = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "09:00", "09:30"]
    booked: list[int | BaseException] = []

    def book(i: int) -> None:
        doctor = world.doctor_id if i < 6 else world.other_doctor_id
        try:
            booked.append(booking.book(clinic, SYSTEM_DESK, patient_id=patients_[i],
                                       doctor_id=doctor, day=world.day, at=starts[i]))  # fmt: skip
        except BaseException as err:
            booked.append(err)

    for i in range(8):
        thread = threading.Thread(target=book, args=(i,))
        thread.start()
        thread.join(60)
    assert all(isinstance(b, int) for b in booked) and len(booked) == 8, booked
    # Out of the pool now: only the idle kept connections (engine.KEPT_IDLE, 4).
    assert clinic.db.engine.pool.checkedout() <= 4  # type: ignore[attr-defined]
    kept = clinic.db._kept
    assert len(kept.all) == len(kept.idle) == clinic.db.engine.pool.checkedout()  # type: ignore[attr-defined]
    assert engine.KEPT_IDLE == 4
    # Several at once on one thread (a hot path inside another): each its own.
    with clinic.db.kept_connection() as outer, clinic.db.kept_connection() as inner:
        assert outer is not inner
