"""The quick booking: a plain booking's checks before its transaction, its write in the
fewest statements the database needs.

Eight desks booking at once wait for each other wherever a booking holds what they all
need: SQLite's one write lock from ``BEGIN IMMEDIATE`` to ``COMMIT``; on PostgreSQL the
day's counter row, the audit chain's lock and the commit. A booking made the long way
(:func:`booking._book_once`) reads and checks everything inside its transaction, so
every desk waits for that too. Most bookings are a free time taken for one patient (no
series, no walk-in), and for those :func:`booking.book` does this instead:

1. :meth:`Quick.read` takes what the checks need with no lock and no transaction: the doctor
   and the patient (names, blacklisting, where a confirmation goes), the visit type's
   length, the doctor's hours on the day, and the doctor's ``schedule_version``, which
   the database raises with every change of those hours (migration 0017). On
   PostgreSQL it also takes the new visit's id from its sequence. A signed-in window's
   read finds nothing once its account is disabled (the sessions check that, and this
   connection is not a session's), so the long way signs it out.
2. The booking checks them in Python, with the same rules and messages as the long way
   (``booking._refuse``).
3. :meth:`Quick.write` writes, and its INSERT proves that nothing checked has changed: it
   inserts only ``WHERE`` the doctor's ``schedule_version`` is the one read, neither
   the doctor nor the patient is blacklisted and the visit type still has the length
   used. SQLite: ``BEGIN IMMEDIATE``, that INSERT, the confirmation, the audit entry
   (head, hash, insert), ``COMMIT``: raw driver statements, so the write lock is held
   for what SQLite needs and no more. PostgreSQL: one statement in autocommit (one round
   trip, one transaction, as the bare INSERT): the proof, holding the doctor's row shared
   (READ COMMITTED checks a row it had to wait for against its newest version, so hours
   changed by the transaction it waited for are seen); the visit; its confirmation; the
   day's counter row; the audit entry (``hms_audit_append``, 0017); the change
   notifications. The locks are taken in the long way's order: the doctor's row, the
   day's counter, then the audit chain.

When the INSERT writes nothing (something changed since step 1), :meth:`Quick.write` returns
None and the booking is made the long way, which reads everything again inside its
transaction and says exactly what is wrong. Anything step 2 refuses is refused the long
way too, so every refusal keeps its one source. An overlap is the database's to refuse,
as before (its guards are the same for both ways).
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time as clock
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import FromClause, exc

from hms_desktop.db.changes import CHANNEL_PREFIX, notify_sql
from hms_desktop.db.engine import Database, driver_errors, translate_errors
from hms_desktop.db.kept import KeptConnectionGoneError
from hms_desktop.db.models import Appointment, AuditEntry, OutboxMessage, WeeklyHours
from hms_desktop.services.safety import audit_chain


@dataclass(frozen=True)
class Facts:
    """What :func:`read` found for a booking, read with no lock."""

    doctor_name: str
    doctor_blacklisted: bool
    patient_name: str
    patient_blacklisted: bool
    email: str
    reminders_opt_out: bool
    #: The visit type's length (None: no such type).
    type_minutes: int | None
    schedule_version: int
    #: The day's hours as ``availability.windows_from`` takes them.
    hours: list[tuple[Any, Any, Any, Any]]
    #: PostgreSQL: the new visit's id, taken from the sequence (SQLite: None).
    new_id: int | None


@dataclass(frozen=True)
class Visit:
    """The checked visit :func:`write` inserts."""

    doctor_id: int
    patient_id: int
    day: date
    start: time
    end: time
    visit_type: str
    reason: str
    #: The length the visit type had when read (None: the visit's own length was given).
    type_minutes: int | None
    schedule_version: int


_HOURS = (
    "SELECT start_time, end_time, slot_minutes, 'weekly' AS kind FROM weekly_hours "
    "WHERE doctor_id = {p} AND weekday = {p} UNION ALL SELECT start_time, end_time, "
    "slot_minutes, kind FROM availability WHERE doctor_id = {p} AND day = {p}"
)
_READ = (
    "SELECT d.full_name, d.blacklisted, p.full_name, p.blacklisted, p.email, "  # noqa: S608 - module constants only
    "p.reminders_opt_out, (SELECT minutes FROM visit_types WHERE name = {p}), "
    "d.schedule_version, h.start_time, h.end_time, h.slot_minutes, h.kind{more} "
    "FROM doctors d JOIN patients p ON p.id = {p} LEFT JOIN (" + _HOURS + ") h ON 1 = 1 "
    "WHERE d.id = {p} AND (CAST({p} AS integer) IS NULL OR EXISTS (SELECT 1 FROM users u "
    "WHERE u.id = {p} AND u.is_active))"
)
#: The visit's columns, in the order both INSERTs take them.
_VISIT_COLUMNS = (
    "doctor_id", "patient_id", "day", "start_time", "end_time", "visit_type", "reason",
    "status", "created_at", "updated_at", "overbooked", "overbook_reason",
    "calendar_sequence",
)  # fmt: skip
#: The proof (see the module's text), parameters: doctor, version, patient, "length given",
#: visit type, its length.
_PROOF = (
    "d.id = {p} AND d.schedule_version = {p} AND NOT d.blacklisted AND EXISTS (SELECT 1 FROM "
    "patients p WHERE p.id = {p} AND NOT p.blacklisted) AND ({p} OR (SELECT minutes FROM "
    "visit_types WHERE name = {p}) = {p})"
)
_OUTBOX_COLUMNS = (
    "kind", "appointment_id", "target_day", "patient_id", "doctor_id", "recipient", "subject",
    "body", "status", "attempts", "next_attempt_at", "last_error", "created_at",
)  # fmt: skip
_AUDIT_COLUMNS = audit_chain.CHAIN_COLUMNS

# SQLite (qmark parameters).
_SQLITE_READ = _READ.format(p="?", more="")
_SQLITE_INSERT = (
    f"INSERT INTO appointments ({', '.join(_VISIT_COLUMNS)}) SELECT "  # noqa: S608 - module constants only
    f"{', '.join('?' * len(_VISIT_COLUMNS))} FROM doctors d WHERE {_PROOF.format(p='?')}"
)
_SQLITE_OUTBOX = (
    f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) VALUES "  # noqa: S608 - module constants only
    f"({', '.join('?' * len(_OUTBOX_COLUMNS))})"
)
_SQLITE_HEAD = "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_SQLITE_AUDIT = (
    f"INSERT INTO audit_log ({', '.join(_AUDIT_COLUMNS)}) VALUES "  # noqa: S608 - module constants only
    f"({', '.join('?' * len(_AUDIT_COLUMNS))})"
)

# PostgreSQL (psycopg's %s parameters).
_PG_READ = _READ.format(p="%s", more=", (SELECT nextval(%s))")
_PG_SEQUENCE = "SELECT pg_get_serial_sequence('appointments', 'id')"


#: The whole write in one statement, one transaction (autocommit): the proof holding the
#: doctor's row shared; the visit; its confirmation (when "send" says so); the day's
#: counter row held (a no-op upsert: the long way takes it with the visit's INSERT, before
#: the chain); the audit entry (``hms_audit_append``, migration 0017), which takes the
#: chain's lock after the counter row: ``v.id * k.held`` (held is 1) makes the function
#: wait for ``k``'s row; and the change notifications, sent at the commit. Parameters:
#: the proof's, the id, the visit's columns, the outbox row's, "send", the day, then the
#: prefix and origin for each of the three notifications, then the entry's fields (at,
#: actor's user id, actor, action, entity, patient, details).
_PG_WRITE = (
    f"WITH d AS (SELECT d.id FROM doctors d WHERE {_PROOF.format(p='%s')} FOR SHARE OF d), "  # noqa: S608 - module constants only
    f"v AS (INSERT INTO appointments (id, {', '.join(_VISIT_COLUMNS)}) SELECT "
    f"{', '.join(['%s'] * (len(_VISIT_COLUMNS) + 1))} FROM d RETURNING id), "
    f"m AS (INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) SELECT "
    f"{', '.join(['%s'] * len(_OUTBOX_COLUMNS))} FROM v WHERE %s RETURNING id), "
    "k AS (INSERT INTO appointment_counts AS c (day, status, n) SELECT CAST(%s AS date), "
    "'booked', 0 FROM v ON CONFLICT (day, status) DO UPDATE SET n = c.n RETURNING 1 AS held) "
    "SELECT v.id, m.id, a.new_id, a.new_seq, a.new_prev, a.new_hash, "
    f"{notify_sql('appointments', 'v.id', '%s', '%s')}, {notify_sql('audit_log', 'a.new_id', '%s', '%s')}, "
    f"CASE WHEN m.id IS NULL THEN NULL ELSE {notify_sql('outbox', 'm.id', '%s', '%s')} END "
    "FROM v CROSS JOIN k LEFT JOIN m ON true CROSS JOIN LATERAL hms_audit_append("
    "CAST(%s AS timestamp), CAST(%s AS integer), CAST(%s AS text), CAST(%s AS text), "
    "CAST(%s AS text), v.id * k.held, CAST(%s AS integer), CAST(%s AS text)) a"
)


Binder = Callable[[dict[str, Any]], list[Any]]


def _binder(db: Database, table: FromClause, columns: Sequence[str]) -> Binder:
    """Values for ``columns`` of ``table`` as SQLAlchemy would send them to this database
    (each column type's own conversion: SQLite's text dates and times, UTC stamps)."""
    dialect = db.engine.dialect
    processors: list[Callable[[Any], Any] | None] = []
    for name in columns:
        column = table.c[name]
        processors.append(column.type.dialect_impl(dialect).bind_processor(dialect))
    pairs = list(zip(columns, processors, strict=True))

    def bind(values: dict[str, Any]) -> list[Any]:
        return [
            (process(values[name]) if process is not None else values[name])
            for name, process in pairs
        ]

    return bind


@dataclass(frozen=True)
class _Prepared:
    """One database's conversions, made once."""

    visit: Binder
    outbox: Binder
    audit: Binder
    hours_time: Callable[[Any], Any] | None
    sequence: str | None


def _prepared(db: Database, driver: Any) -> _Prepared:
    found: _Prepared | None = db.prepared.get(__name__)
    if found is not None:
        return found
    dialect = db.engine.dialect
    time_type = WeeklyHours.__table__.c.start_time.type.dialect_impl(dialect)
    sequence = None
    if not db.is_sqlite:
        with driver.cursor() as cur:
            sequence = cur.execute(_PG_SEQUENCE).fetchone()[0]
    found = _Prepared(
        visit=_binder(db, Appointment.__table__, _VISIT_COLUMNS),
        outbox=_binder(db, OutboxMessage.__table__, _OUTBOX_COLUMNS),
        audit=_binder(db, AuditEntry.__table__, _AUDIT_COLUMNS),
        hours_time=time_type.result_processor(dialect, None),
        sequence=sequence,
    )
    db.prepared[__name__] = found
    return found


class Quick:
    """One pooled connection's driver connection, for one booking's :meth:`read` and
    :meth:`write` (one checkout, one liveness check)."""

    def __init__(self, db: Database, driver: Any) -> None:
        self.db = db
        self.driver = driver
        self.prepared = _prepared(db, driver)

    def _said(self) -> contextlib.AbstractContextManager[None]:
        """The driver's errors as SQLAlchemy's (what the callers' checks know)."""
        return driver_errors(self.db.engine.dialect)

    def read(self, doctor_id: int, patient_id: int, visit_type: str, day: date) -> Facts | None:
        """What the booking's checks need, read with no lock (None: no such doctor or
        patient, or the signed-in account was disabled: the long way says which)."""
        try:
            with self._said():
                return self._read(doctor_id, patient_id, visit_type, day)
        except exc.DBAPIError as err:
            if getattr(self.driver, "broken", False) or getattr(self.driver, "closed", False):
                # The kept connection died (a server restart): nothing was written; the
                # long way takes a checked connection from the pool.
                raise KeptConnectionGoneError from err
            raise

    def _read(self, doctor_id: int, patient_id: int, visit_type: str, day: date) -> Facts | None:
        driver, prepared, account = self.driver, self.prepared, self.db.checked_account
        if self.db.is_sqlite:
            params: tuple[Any, ...] = (
                visit_type, patient_id, doctor_id, day.weekday(), doctor_id, day.isoformat(),
                doctor_id, account, account,
            )  # fmt: skip
            timeout = self.db.busy_timeout_s
            rows = _when_free(timeout, lambda: driver.execute(_SQLITE_READ, params).fetchall())
        else:
            params = (
                visit_type, prepared.sequence, patient_id, doctor_id, day.weekday(), doctor_id,
                day, doctor_id, account, account,
            )  # fmt: skip
            rows = driver.execute(_PG_READ, params).fetchall()
        if not rows:
            return None
        first = rows[0]
        convert = prepared.hours_time or _same
        hours = [
            (convert(r[8]), convert(r[9]), r[10], r[11]) if r[11] is not None else (None,) * 4
            for r in rows
        ]
        return Facts(
            doctor_name=first[0],
            doctor_blacklisted=bool(first[1]),
            patient_name=first[2],
            patient_blacklisted=bool(first[3]),
            email=first[4] or "",
            reminders_opt_out=bool(first[5]),
            type_minutes=first[6],
            schedule_version=first[7],
            hours=hours,
            new_id=None if self.db.is_sqlite else int(first[12]),
        )

    def write(
        self,
        visit: Visit,
        new_id: int | None,
        message: dict[str, Any] | None,
        entry: audit_chain.PlainEntry,
    ) -> dict[str, list[int]] | None:
        """Insert ``visit`` (PostgreSQL: as ``new_id``, read with the facts), its
        confirmation ``message`` (an outbox row, or None) and its audit ``entry`` (its
        ``entity_id`` is set here) in one short transaction. Returns what it wrote
        (table -> ids), or None when the proof failed and nothing was written.

        Raises:
            sqlalchemy.exc.IntegrityError: the database refused an overlap.
            DatabaseUnavailableError: locked, unreachable, or rolled back for crossing
                another PC's write (``WritesCrossedError``).
        """
        if self.db.is_sqlite:
            with self._said():
                _when_free(self.db.busy_timeout_s, lambda: self.driver.execute("BEGIN IMMEDIATE"))
                return _write_sqlite(self.driver, self.prepared, visit, message, entry)
        if new_id is None:
            raise ValueError("PostgreSQL's quick write needs the id read with the facts")
        origin = self.db.changes.origin
        with self._said():
            return _write_postgresql(
                self.driver, self.prepared, visit, new_id, message, entry, origin
            )


#: The quick way's own wait for SQLite (its connection's busy timeout is 0 meanwhile).
#: SQLite's busy handler sleeps 1, 2, 5, 10... up to 100 ms between tries, long after a
#: quick write's lock (under a millisecond) is free: eight desks spent most of their
#: time asleep while the database stood idle. These pauses start at 50 us and stay under
#: a millisecond, with jitter, until the database's busy timeout has passed.
_FIRST_PAUSE_S = 0.00005
_LONGEST_PAUSE_S = 0.001


def _when_free(timeout_s: float, attempt: Callable[[], Any]) -> Any:
    """``attempt()``, tried again while SQLite answers "locked" or "busy", until
    ``timeout_s`` has passed (then its error goes on: "busy" to the person)."""
    deadline = clock.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as err:
            words = str(err)
            if ("locked" not in words and "busy" not in words) or clock.monotonic() >= deadline:
                raise
        clock.sleep(pause * (0.5 + random.random()))  # jitter: desks do not wake together
        pause = min(pause * 2, _LONGEST_PAUSE_S)


def _same(value: Any) -> Any:
    return value


@contextlib.contextmanager
def connection(db: Database) -> Iterator[Quick]:
    """A :class:`Quick` on a kept connection (:meth:`Database.kept_connection`;
    PostgreSQL: in autocommit), its driver's errors said as the long way says them
    (locked, unreachable, crossed).

    Raises:
        DatabaseUnavailableError: the database cannot be reached or is locked.
    """
    with translate_errors(db), db.kept_connection() as driver:
        if not db.is_sqlite:  # in autocommit already: each statement commits itself
            yield Quick(db, driver)
            return
        driver.execute("PRAGMA busy_timeout = 0")  # waits are _when_free's
        try:
            yield Quick(db, driver)
        finally:
            driver.execute(f"PRAGMA busy_timeout = {int(db.busy_timeout_s * 1000)}")


def _visit_values(visit: Visit, now: Any) -> dict[str, Any]:
    return {
        "doctor_id": visit.doctor_id,
        "patient_id": visit.patient_id,
        "day": visit.day,
        "start_time": visit.start,
        "end_time": visit.end,
        "visit_type": visit.visit_type,
        "reason": visit.reason,
        "status": "booked",
        "created_at": now,
        "updated_at": now,
        "overbooked": False,
        "overbook_reason": "",
        "calendar_sequence": 0,
    }


def _proof(visit: Visit) -> list[Any]:
    given = visit.type_minutes is None
    return [
        visit.doctor_id, visit.schedule_version, visit.patient_id, given, visit.visit_type,
        visit.type_minutes,
    ]  # fmt: skip


def _audit_values(entry: audit_chain.PlainEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _AUDIT_COLUMNS}


def _write_sqlite(
    driver: Any,
    prepared: _Prepared,
    visit: Visit,
    message: dict[str, Any] | None,
    entry: audit_chain.PlainEntry,
) -> dict[str, list[int]] | None:
    """The write, in the transaction the caller began (``BEGIN IMMEDIATE``)."""
    try:
        values = prepared.visit(_visit_values(visit, entry.at)) + _proof(visit)
        cur = driver.execute(_SQLITE_INSERT, values)
        if cur.rowcount != 1:
            driver.execute("ROLLBACK")
            return None
        new_id = int(cur.lastrowid)
        written = {Appointment.__tablename__: [new_id]}
        if message is not None:
            row = prepared.outbox(message | {"appointment_id": new_id})
            written[OutboxMessage.__tablename__] = [
                int(driver.execute(_SQLITE_OUTBOX, row).lastrowid)
            ]
        entry.entity_id = new_id
        audit_chain.seal(entry, driver.execute(_SQLITE_HEAD).fetchone() or (0, ""))
        cur = driver.execute(_SQLITE_AUDIT, prepared.audit(_audit_values(entry)))
        entry.id = int(cur.lastrowid)
        written[AuditEntry.__tablename__] = [entry.id]
        driver.execute("COMMIT")
    except BaseException:
        if driver.in_transaction:
            driver.execute("ROLLBACK")
        raise
    return written


def _write_postgresql(
    driver: Any,
    prepared: _Prepared,
    visit: Visit,
    new_id: int,
    message: dict[str, Any] | None,
    entry: audit_chain.PlainEntry,
    origin: str,
) -> dict[str, list[int]] | None:
    entry.entity_id = new_id
    outbox = (
        prepared.outbox(message | {"appointment_id": new_id})
        if message is not None
        else [None] * len(_OUTBOX_COLUMNS)
    )
    arguments = audit_chain.append_arguments(entry)
    params = [
        *_proof(visit), new_id, *prepared.visit(_visit_values(visit, entry.at)), *outbox,
        message is not None, visit.day, *(CHANNEL_PREFIX, origin) * 3, arguments["at"],
        arguments["actor_user_id"], arguments["actor"], arguments["action"], arguments["entity"],
        arguments["patient_id"], arguments["details"],
    ]  # fmt: skip
    row = driver.execute(_PG_WRITE, params).fetchone()
    if row is None:  # the proof failed: nothing was written
        return None
    entry.id, entry.seq, entry.prev_hash, entry.row_hash = row[2:6]
    written = {Appointment.__tablename__: [new_id], AuditEntry.__tablename__: [entry.id]}
    if row[1] is not None:
        written[OutboxMessage.__tablename__] = [int(row[1])]
    return written
