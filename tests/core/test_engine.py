"""Engine set-up: SQLite pragmas on every connection, lock and connection errors people can read."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import IntegrityError

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import current_revision
from hms_desktop.db.models import Department, Doctor
from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.people import departments
from hms_desktop.services.scheduling import booking
from tests import factories as f


def test_every_sqlite_connection_has_foreign_keys_and_wal(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        # Several connections at once, so the pool has to open new ones.
        conns = [db.engine.connect() for _ in range(3)]
        try:
            for conn in conns:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        finally:
            for conn in conns:
                conn.close()
        # And the database acts on it: an appointment of a doctor who does not exist.
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), db.write() as session:
            session.execute(
                text(
                    "INSERT INTO doctors (full_name, department_id, created_at) "
                    "VALUES ('Dr. Nobody', 999, '2026-01-01 00:00:00')"
                )
            )
    finally:
        db.dispose()


def test_a_write_blocked_longer_than_the_busy_timeout_is_a_readable_error(
    sqlite_url: str,
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    db = Database(sqlite_url, busy_timeout_s=0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        holder.execute("INSERT INTO departments (name, description) VALUES ('Held', '')")
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailableError) as err, db.write() as session:
            session.add(Department(name="Blocked", description=""))
        waited = time.monotonic() - began
        assert "busy" in str(err.value)
        assert "Nothing was saved; try again" in str(err.value)
        assert path in str(err.value)
        assert 0.25 <= waited < 5
        # Readers are not blocked by a writer (WAL).
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM departments")).scalar() == 0
        holder.execute("COMMIT")
        with db.write() as session:
            session.add(Department(name="Later", description=""))
        with db.read() as session:
            names = session.execute(text("SELECT name FROM departments ORDER BY name")).scalars()
            assert list(names) == ["Held", "Later"]
    finally:
        holder.close()
        db.dispose()


def test_a_deadlock_between_two_pcs_on_postgresql_is_a_readable_error(
    pg_schema_url: str,
) -> None:
    """PostgreSQL rolls back one of two transactions that wait for each other; that one
    was a traceback ("deadlock detected"). It says busy, try again, and saved nothing."""
    db = Database(pg_schema_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE crossed (id integer PRIMARY KEY, v integer)")
        conn.exec_driver_sql("INSERT INTO crossed VALUES (1, 0), (2, 0)")
    failures: list[BaseException] = []

    def other_pc() -> None:
        try:
            with db.engine.connect() as conn:
                # This side waits long before looking for a deadlock: ours is rolled back.
                conn.exec_driver_sql("SET LOCAL deadlock_timeout = '20s'")
                conn.exec_driver_sql("UPDATE crossed SET v = 1 WHERE id = 1")
                conn.exec_driver_sql("UPDATE crossed SET v = 1 WHERE id = 2")  # waits
                conn.commit()
        except Exception as err:
            failures.append(err)

    def other_pc_waits() -> bool:
        with db.engine.connect() as conn:
            return bool(
                conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar()
            )

    thread = threading.Thread(target=other_pc)
    try:
        with pytest.raises(DatabaseUnavailableError) as err, db.write() as session:
            session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
            session.execute(text("UPDATE crossed SET v = 2 WHERE id = 2"))
            thread.start()
            deadline = time.monotonic() + 20
            while not other_pc_waits() and time.monotonic() < deadline:
                threading.Event().wait(0.02)  # the other PC holds row 1 and waits for row 2
            session.execute(text("UPDATE crossed SET v = 2 WHERE id = 1"))
        thread.join(30)
        assert "busy" in str(err.value) and "Nothing was saved; try again." in str(err.value)
        assert failures == []
        with db.read() as session:
            assert session.execute(text("SELECT id, v FROM crossed ORDER BY id")).all() == [
                (1, 1),
                (2, 1),
            ]  # the other PC's change, none of ours
    finally:
        if thread.ident is not None:
            thread.join(30)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE crossed")
        db.dispose()


def test_a_service_call_on_a_locked_database_raises_the_same_clear_error(sqlite_url: str) -> None:
    from hms_desktop.services.clock import FakeClock
    from tests.conftest import START

    clinic = Clinic(
        db=Database(sqlite_url, busy_timeout_s=0.2),
        pc=Settings(database_url=sqlite_url),
        clock=FakeClock(START),
    )
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseUnavailableError, match="is busy"):
            departments.save_department(clinic, f.RECEPTION, "Cardiology")
        holder.execute("ROLLBACK")
        assert departments.save_department(clinic, f.RECEPTION, "Cardiology") == 1
    finally:
        holder.close()
        clinic.close()


def test_a_missing_file_with_must_exist_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "clinic.sqlite3"
    with pytest.raises(DatabaseUnavailableError) as err:
        Database(f"sqlite:///{missing}", must_exist=True)
    assert str(missing) in str(err.value)
    assert "does not exist" in str(err.value)
    assert "hms init" in str(err.value)
    with pytest.raises(DatabaseUnavailableError, match="does not exist"):
        open_clinic(Settings(database_url=f"sqlite:///{missing}"), must_exist=True)
    assert not missing.exists()
    assert not missing.parent.exists()  # nothing was created on the way


def test_an_unreachable_postgresql_server_is_a_clear_error() -> None:
    url = "postgresql://clinic:s3cret-pw@127.0.0.1:1/clinic"  # nothing listens on port 1
    db = Database(url)
    try:
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailableError) as err:
            current_revision(db)
        assert time.monotonic() - began < 10
        message = str(err.value)
        assert "cannot be reached" in message
        assert "127.0.0.1" in message
        assert "s3cret-pw" not in message  # the password never reaches a dialog or log
        with pytest.raises(DatabaseUnavailableError, match="cannot be reached"), db.read() as s:
            s.execute(text("SELECT 1"))
        with pytest.raises(DatabaseUnavailableError, match="cannot be reached"):
            open_clinic(Settings(database_url=url))
    finally:
        db.dispose()


def test_postgresql_urls_are_served_by_psycopg_3() -> None:
    db = Database("postgresql://postgres@127.0.0.1:5432/test")
    try:
        assert db.engine.dialect.driver == "psycopg"
        assert not db.is_sqlite
    finally:
        db.dispose()


def test_a_booking_blocked_by_a_stuck_pc_ends_in_a_readable_error(
    clinic: Clinic, world: f.World
) -> None:
    """Another PC holds the doctor's row (SQLite: the write lock) and does not let go."""
    impatient = Clinic(
        db=Database(clinic.pc.database_url, busy_timeout_s=0.3),
        pc=clinic.pc,
        clock=clinic.clock,
    )
    try:
        outcome: list[BaseException] = []

        def book() -> None:
            try:
                booking.book(
                    impatient,
                    f.RECEPTION,
                    patient_id=world.patient_id,
                    doctor_id=world.doctor_id,
                    day=world.day,
                    at="09:00",
                )
            except BaseException as err:  # checked below
                outcome.append(err)

        with clinic.db.write() as stuck_pc:
            stuck_pc.execute(
                select(Doctor.id).where(Doctor.id == world.doctor_id).with_for_update()
            )
            began = time.monotonic()
            thread = threading.Thread(target=book, daemon=True)
            thread.start()
            thread.join(15)
            waited = time.monotonic() - began
            assert not thread.is_alive(), "the booking waits for ever"
        assert 0.25 <= waited < 15
        assert len(outcome) == 1 and isinstance(outcome[0], DatabaseUnavailableError), outcome
        assert "is busy" in str(outcome[0])
        assert "Nothing was saved; try again" in str(outcome[0])
        # Once the other PC lets go, the same call works.
        assert booking.book(
            impatient,
            f.RECEPTION,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            day=world.day,
            at="09:00",
        )
    finally:
        impatient.close()


def test_opening_a_new_database_another_program_holds_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    # Two PCs (or `hms init` and the window) opening one new file at the same moment:
    # SQLite refuses the switch to WAL at once, without its busy handler, while the
    # other holds the file. The connection must wait for it, as a writer would.
    path = tmp_path / "new.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")  # a RESERVED lock: SQLite does not wait for it
    released = threading.Timer(0.5, other.execute, args=("COMMIT",))
    released.start()
    db = Database(f"sqlite:///{path}", busy_timeout_s=10)
    try:
        started = time.monotonic()
        with db.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        waited = time.monotonic() - started
    finally:
        released.join()
        other.close()
        db.dispose()
    assert mode == "wal"
    assert waited >= 0.4


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")) or 0)


def test_a_pooled_connection_the_server_ended_is_replaced_without_an_error(
    pg_schema_url: str,
) -> None:
    """PostgreSQL restarted or an administrator ended the session: the next read gets a
    new connection, with no ping sent before every checkout."""
    db = Database(pg_schema_url)
    try:
        pid = _backend_pid(db)
        assert _backend_pid(db) == pid  # the pool hands the same connection back
        # From outside the pool (another program, an administrator).
        admin = psycopg.connect(
            make_url(pg_schema_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False),
            autocommit=True,
        )
        with admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # Wait for the server to be done with it (pg_terminate_backend only signals).
            gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
            deadline = time.monotonic() + 20
            while admin.execute(gone, (pid,)).fetchone() != (0,) and time.monotonic() < deadline:
                pass
        new_pid = _backend_pid(db)
        assert new_pid not in (0, pid)
        with db.write() as session:  # and writes go on as well
            session.execute(text("CREATE TABLE after_restart (id integer)"))
    finally:
        db.dispose()


def test_each_statement_of_a_read_on_postgresql_is_its_own_transaction(
    pg_schema_url: str,
) -> None:
    """No BEGIN and no COMMIT around a read (two round trips of three for one query): at
    READ COMMITTED each statement read its own snapshot inside a transaction too."""
    db = Database(pg_schema_url)
    try:
        with db.read() as session:
            first = session.scalar(text("SELECT pg_current_xact_id()"))
            second = session.scalar(text("SELECT pg_current_xact_id()"))
        assert first != second  # within one transaction both would be the same
        with db.write() as session:  # writes are still one transaction
            first = session.scalar(text("SELECT pg_current_xact_id()"))
            second = session.scalar(text("SELECT pg_current_xact_id()"))
        assert first == second
    finally:
        db.dispose()


def test_read_sessions_keep_their_statements_prepared_on_postgresql(pg_schema_url: str) -> None:
    """psycopg prepares a statement run five times on a connection, and forgets them all
    at a ROLLBACK: read sessions ended so, and PostgreSQL planned every query again."""
    db = Database(pg_schema_url)
    try:
        query = text("SELECT count(*) FROM doctors WHERE id > :x")
        for _ in range(8):
            with db.read() as session:
                session.execute(query, {"x": 0}).scalar()
        with db.read() as session:
            prepared = session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
        assert any("FROM doctors WHERE id > $1" in s for s in prepared), prepared
    finally:
        db.dispose()
