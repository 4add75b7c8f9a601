"""What the booking's transaction costs the database itself: its statements through the raw driver.

``python -m tests.benchmarks.desks_shape [--database sqlite|postgresql|both] [--desks 8]
[--seconds 30]`` builds the eight-desks clinic (:mod:`tests.benchmarks.desks`) and runs,
back to back, the floor (the bare INSERT) and the **shape**: the same N processes sending,
through raw ``sqlite3`` / psycopg, exactly the statements :func:`booking.book` sends for
one booking, in one transaction each, into times no one else takes:

* SQLite: ``BEGIN IMMEDIATE``; one read of doctor, patient, visit length, the audit
  chain's head and the day's hours; the INSERT of the visit; the INSERT of the audit
  entry (its hash computed in Python as :mod:`audit_chain` does); ``COMMIT``.
* PostgreSQL: the read of doctor (``FOR SHARE``), patient and visit length; the day's
  hours; the INSERT of the visit (``RETURNING id``); ``pg_advisory_xact_lock``; the
  chain's head; the INSERT of the audit entry; one ``pg_notify`` statement; ``COMMIT``.

No Python service code, no SQLAlchemy: the shape is the best a booking with these
guarantees could do, so ``shape / floor`` is what the transaction costs and
``ours / shape`` what our code adds. Not a target; it is there to say where the time goes.
``HMS_SHAPE_SKIP=audit`` (``read``, ``notify``, comma-separated) leaves that part out, to
show what each guarantee costs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from tests.benchmarks import desks

_INSERT_VISIT = (
    "INSERT INTO appointments (doctor_id, patient_id, day, start_time, end_time, visit_type, "
    "reason, status, created_at, updated_at, overbooked, overbook_reason, calendar_sequence, "
    "series_id) VALUES ({p}, {p}, {p}, {p}, {p}, 'consultation', '', 'booked', {p}, {p}, "
    "{false}, '', 0, NULL)"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_log (at, actor_user_id, actor, action, entity, entity_id, patient_id, "
    "details, seq, prev_hash, row_hash) VALUES ({p}, NULL, {p}, 'appointment.book', "
    "'appointment', {p}, {p}, {p}, {p}, {p}, {p})"
)
_PARTIES = (
    "SELECT d.full_name, d.blacklisted, p.full_name, p.blacklisted, p.email, "
    "p.reminders_opt_out, (SELECT minutes FROM visit_types WHERE name = 'consultation'){more} "
    "FROM doctors d JOIN patients p ON p.id = {p}{join} WHERE d.id = {p}{lock}"
)
_HOURS = (
    "SELECT start_time, end_time, slot_minutes, 'weekly' AS kind FROM weekly_hours "
    "WHERE doctor_id = {p} AND weekday = {p} UNION ALL SELECT start_time, end_time, "
    "slot_minutes, kind FROM availability WHERE doctor_id = {p} AND day = {p}"
)
_HEAD = "SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_SQLITE_READ = _PARTIES.format(
    p="?",
    more=", (SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1), (SELECT row_hash FROM "
    "audit_log ORDER BY seq DESC LIMIT 1), h.start_time, h.end_time, h.slot_minutes, h.kind",
    join=f" LEFT JOIN ({_HOURS.format(p='?')}) h ON 1 = 1",
    lock="",
)
_NOTIFY = (
    "SELECT pg_notify('hms_changes:' || current_schema(), json_build_object('k', e.v ->> 'k', "
    "'ids', e.v -> 'ids', 'o', 'shape', 'at', clock_timestamp())::text) FROM "
    "json_array_elements(CAST(%s AS json)) WITH ORDINALITY AS e(v, n) ORDER BY e.n"
)


#: Parts left out (``HMS_SHAPE_SKIP=audit,read,notify``): what each guarantee costs.
_SKIP = set(filter(None, os.environ.get("HMS_SHAPE_SKIP", "").split(",")))


def _chain_hash(
    prev: str, seq: int, at: datetime, entity_id: int, patient: int, details: str
) -> str:
    fields = [
        prev, seq, at.isoformat(timespec="microseconds"), None, "shape", "appointment.book",
        "appointment", entity_id, patient, details,
    ]  # fmt: skip
    blob = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _book_sqlite(conn: Any, doctor: int, patient: int, day: Any, start: Any, end: Any) -> None:
    stamp = datetime.now(UTC).replace(tzinfo=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "read" in _SKIP:
            head = conn.execute(_HEAD).fetchone() if "audit" not in _SKIP else None
            seq, prev = (head[0], head[1]) if head else (0, "")
        else:
            params = (patient, doctor, day.weekday(), doctor, day.isoformat(), doctor)
            rows = conn.execute(_SQLITE_READ, params).fetchall()
            seq, prev = (rows[0][7] or 0), (rows[0][8] or "")
        cur = conn.execute(
            _INSERT_VISIT.format(p="?", false="0"),
            (doctor, patient, day.isoformat(), start.isoformat("microseconds"),
             end.isoformat("microseconds"), stamp.isoformat(" "), stamp.isoformat(" ")),
        )  # fmt: skip
        new_id = cur.lastrowid
        details = json.dumps({"day": day.isoformat(), "doctor_id": doctor}, sort_keys=True)
        row_hash = _chain_hash(prev, seq + 1, stamp, new_id, patient, details)
        if "audit" not in _SKIP:
            conn.execute(
                _INSERT_AUDIT.format(p="?"),
                (stamp.isoformat(" "), "shape", new_id, patient, details, seq + 1, prev, row_hash),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _book_postgresql(conn: Any, doctor: int, patient: int, day: Any, start: Any, end: Any) -> None:
    stamp = datetime.now(UTC).replace(tzinfo=None)
    with conn.transaction():
        if "read" not in _SKIP:
            lock = " FOR SHARE OF d"
            conn.execute(
                _PARTIES.format(p="%s", more="", join="", lock=lock), (patient, doctor)
            ).fetchall()
            conn.execute(_HOURS.format(p="%s"), (doctor, day.weekday(), doctor, day)).fetchall()
        new_id = conn.execute(
            _INSERT_VISIT.format(p="%s", false="false") + " RETURNING id",
            (doctor, patient, day, start, end, stamp, stamp),
        ).fetchone()[0]
        events = [{"k": "appointments", "ids": [new_id]}]
        if "audit" not in _SKIP:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x484D534155444954,))
            head = conn.execute(_HEAD).fetchone()
            seq, prev = (head[0], head[1]) if head else (0, "")
            details = json.dumps({"day": day.isoformat(), "doctor_id": doctor}, sort_keys=True)
            row_hash = _chain_hash(prev, seq + 1, stamp, new_id, patient, details)
            audit_id = conn.execute(
                _INSERT_AUDIT.format(p="%s") + " RETURNING id",
                (stamp, "shape", new_id, patient, details, seq + 1, prev, row_hash),
            ).fetchone()[0]
            events.append({"k": "audit_log", "ids": [audit_id]})
        if "notify" not in _SKIP:
            conn.execute(_NOTIFY, (json.dumps(events),)).fetchall()


def desk_shape(
    url: str,
    desk: int,
    n_desks: int,
    plan: desks.Plan,
    seconds: float,
    ready: Barrier,
    out: Queue[Any],
    _mine: list[desks.FreeTime],
) -> None:
    """The booking's statements through the raw driver, one transaction per booking."""
    result = desks.DeskResult(desk)
    conn, _sql, is_sqlite = desks.floor_connect(url)
    book = _book_sqlite if is_sqlite else _book_postgresql
    rows = desks.floor_rows(desk, n_desks, plan)
    try:
        ready.wait(120)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            doctor, patient, day, start, end = next(rows)
            t0 = time.perf_counter()
            try:
                book(conn, doctor, patient, day, start, end)
                result.latencies.append(time.perf_counter() - t0)
                result.done += 1
            except Exception as err:
                kind = desks.classify(err)
                result.errors[kind] += 1
                result.tracebacks.setdefault(kind, traceback.format_exc())
        result.seconds = time.perf_counter() - started
    finally:
        conn.close()
        out.put(result)


def measure(url: str, *, n_desks: int, seconds: float) -> list[desks.RunResult]:
    plan = desks.plan_of(url)
    out = []
    for kind, target in (("floor", None), ("shape", desk_shape)):
        before = desks.max_appointment_id(url)
        result = desks.run(url, kind, desks=n_desks, seconds=seconds, plan=plan, target=target)
        desks.remove_floor_rows(url, before)
        print(desks.describe(result, None), flush=True)
        out.append(result)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--desks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    results: list[desks.RunResult] = []
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="hms-shape-") as folder:
            url = f"sqlite:///{Path(folder) / 'clinic.sqlite3'}"
            desks.build_clinic(url, desks.FULL)
            results += measure(url, n_desks=args.desks, seconds=args.seconds)
    if args.database in ("postgresql", "both"):
        base = os.environ.get("HMS_TEST_DATABASE_URL", desks.DEFAULT_PG_URL)
        url, schema = desks.pg_schema(base)
        try:
            desks.build_clinic(url, desks.FULL)
            results += measure(url, n_desks=args.desks, seconds=args.seconds)
        finally:
            desks.drop_pg_schema(base, schema)
    for floor, shape in zip(results[::2], results[1::2], strict=True):
        ratio = shape.per_second / floor.per_second if floor.per_second else float("nan")
        print(
            f"{floor.database}: shape {shape.per_second:,.1f}/s vs floor "
            f"{floor.per_second:,.1f}/s = {ratio:.2f}x (p95 shape "
            f"{shape.percentile(0.95) * 1e3:.1f} ms, floor {floor.percentile(0.95) * 1e3:.1f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
