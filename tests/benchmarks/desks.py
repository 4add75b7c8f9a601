"""Eight desks at once: concurrent booking through the product against the bare INSERT.

``python -m tests.benchmarks.desks [--database sqlite|postgresql|both] [--desks 8]
[--seconds 60] [--rounds 2]`` builds a demo clinic (200 doctors with weekly hours and a
few weeks of visits) on one SQLite file (WAL) and in a fresh schema of the PostgreSQL
server at ``HMS_TEST_DATABASE_URL``, then runs, back to back and alternating:

* **ours**: N processes ("desks"), each opening the clinic as the application does
  and acting as a receptionist. Before the clock starts, the free times are listed as
  the booking screen lists them (:func:`availability.free_slots_by_department`, every
  department, earliest first) and dealt out to the desks interleaved: desk ``d`` gets
  every N-th time from the ``d``-th on, and every :data:`SHARED_EVERY`-th time goes to
  the next desk too, so the desks mostly book different times but some race for the
  same one. The timed loop only books (:func:`booking.book`, the desk's next time for
  the next patient of its own queue); finding the next free time has its own benchmark
  (``python -m tests.benchmarks --only next-free``).
* **floor**: the same N processes doing only the bare INSERT of an appointment row
  (raw ``sqlite3`` / raw psycopg, one transaction per row, no checks) into times no one
  else takes.

Reported per run: bookings per second (all desks), p50/p95 of one booking's latency,
and every error by kind. Only ``taken`` (:class:`SlotTakenError`: another desk booked
the time meanwhile) is allowed; anything else is a product defect. After each run of
ours the database is checked: no doctor and no patient has overlapping live visits,
and the rows booked are exactly the bookings the desks reported.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, create_engine, make_url, text

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.errors import HmsError, SlotTakenError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.safety import audit_chain
from hms_desktop.services.scheduling import availability, booking
from tests.benchmarks.live_latency import drop_schema, fresh_schema_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TZ = ZoneInfo("Europe/Berlin")
#: The clinic's "now" in every desk (a Monday morning): fixed, so runs compare.
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
#: The one error a desk may see: another desk booked the time first (or the patient
#: already has a visit then: the same clear refusal, named apart).
TAKEN = "taken"
TAKEN_PATIENT = "taken (the patient's own visit)"
ALLOWED = (TAKEN, TAKEN_PATIENT)
#: Floor rows go this far ahead, past every booking the desks can make.
FLOOR_DAYS_AHEAD = 400
FLOOR_SLOTS_A_DAY = 20
#: Every this-many-th free time is given to two desks (a race one of them loses).
SHARED_EVERY = 16
ANALYZED = "appointments, availability, weekly_hours, doctors, patients, departments"


@dataclass(frozen=True)
class ClinicSize:
    doctors: int
    patients: int
    days_back: int


FULL = ClinicSize(doctors=200, patients=20_000, days_back=21)
SMOKE = ClinicSize(doctors=6, patients=300, days_back=3)


@dataclass
class DeskResult:
    """What one desk did in one run."""

    desk: int
    done: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds per successful booking
    ids: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    #: The first traceback of each error kind other than "taken" (for the report).
    tracebacks: dict[str, str] = field(default_factory=dict)
    #: The desk booked or lost every time dealt to it before its time was up.
    used_up: bool = False


@dataclass
class RunResult:
    """All desks of one run (``kind``: ``ours`` or ``floor``)."""

    database: str
    kind: str
    desks: int
    seconds: float
    done: int
    latencies: list[float]
    errors: Counter[str]
    tracebacks: dict[str, str]
    load_before: float
    load_after: float
    ids: list[int] = field(default_factory=list)
    #: How many desks ran out of free times before their time was up.
    used_up: int = 0

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]

    @property
    def defects(self) -> Counter[str]:
        """Every error kind a desk must never see (all but "taken")."""
        return Counter({k: n for k, n in self.errors.items() if k not in ALLOWED})


def classify(err: BaseException) -> str:
    """The kind of an error a desk saw: ``taken`` or a short name of a defect."""
    if isinstance(err, SlotTakenError):
        return TAKEN_PATIENT if "patient already has" in str(err) else TAKEN
    first = (str(err).strip().splitlines() or [""])[0]
    if isinstance(err, HmsError):
        return f"{type(err).__name__}: {first[:100]}"
    orig = getattr(err, "orig", None)
    name = type(orig if orig is not None else err).__name__
    return f"{name}: {first[:100]}"


# --- the clinic ---------------------------------------------------------------------------


def open_desk_clinic(url: str) -> Clinic:
    """The clinic as a desk's process opens it (no migration: the clinic is set up)."""
    return Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(NOW))


def build_clinic(url: str, size: ClinicSize) -> None:
    """Migrate ``url`` and fill it with the demo clinic (weekly hours, past and coming visits)."""
    db = Database(url)
    upgrade(db)
    db.dispose()
    clinic = open_desk_clinic(url)
    try:
        clinic_settings.seed(clinic, {"timezone": TZ.key})
        demo_data.generate(
            clinic, seed=19, doctors=size.doctors, patients=size.patients,
            days_back=size.days_back,
        )  # fmt: skip
        # This clinic's tables only: a bare ANALYZE on the server would wait on every
        # other schema of the database (other benchmarks loading theirs).
        with clinic.db.engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {'' if clinic.db.is_sqlite else ANALYZED}")
    finally:
        clinic.close()


@dataclass(frozen=True)
class Plan:
    """What the desks work with: who books, and whom they look for."""

    doctor_ids: list[int]
    department_ids: list[int]
    patient_ids: list[int]


def plan_of(url: str) -> Plan:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            doctors = list(conn.scalars(text("SELECT id FROM doctors WHERE NOT blacklisted")))
            departments = list(
                conn.scalars(text("SELECT DISTINCT department_id FROM doctors ORDER BY 1"))
            )
            patients = list(conn.scalars(text("SELECT id FROM patients ORDER BY id")))
    finally:
        engine.dispose()
    return Plan(sorted(doctors), [d for d in departments if d is not None], patients)


#: A free time as the desks carry it: (doctor id, date, start).
FreeTime = tuple[int, date, dtime]


def free_times(clinic: Clinic, plan: Plan) -> list[FreeTime]:
    """Every free time of the clinic as the booking screen lists them, earliest first."""
    found = [
        (slot.doctor_id, slot.date, slot.time)
        for department_id in plan.department_ids
        for slot in availability.free_slots_by_department(clinic, department_id)
    ]
    return sorted(found, key=lambda s: (s[1], s[2], s[0]))


def desk_lists(times: list[FreeTime], desks: int) -> list[list[FreeTime]]:
    """Deal ``times`` out to ``desks``: desk d gets every desks-th time from the d-th; every
    :data:`SHARED_EVERY`-th time also goes to the next desk, so some races happen."""
    lists: list[list[FreeTime]] = [[] for _ in range(desks)]
    for i, slot in enumerate(times):
        lists[i % desks].append(slot)
        if desks > 1 and i % SHARED_EVERY == 0:
            lists[(i + 1) % desks].append(slot)
    return lists


def book_slot(clinic: Clinic, actor: Actor, slot: FreeTime, patient_id: int) -> int:
    """Book ``slot`` for ``patient_id`` as the desk's screen does (a consultation)."""
    doctor_id, day, at = slot
    return booking.book(clinic, actor, patient_id=patient_id, doctor_id=doctor_id, day=day, at=at)


# --- one desk -----------------------------------------------------------------------------


def _desk_ours(
    url: str,
    desk: int,
    desks: int,
    plan: Plan,
    seconds: float,
    ready: Barrier,
    out: Queue[Any],
    mine: list[FreeTime],
) -> None:
    """A receptionist's process: book the next time of its list, again until time is up."""
    result = DeskResult(desk)
    clinic = open_desk_clinic(url)
    actor = Actor(user_id=None, username=f"desk{desk + 1}", role="receptionist")
    # Each desk serves its own queue of patients (a patient stands at one desk).
    patients = plan.patient_ids[desk::desks]
    try:
        clinic.settings  # noqa: B018 - read once before the clock starts, as an open window has
        ready.wait(120)
        started = time.perf_counter()
        turn = 0
        while time.perf_counter() - started < seconds:
            if turn >= len(mine):
                # Every time dealt to this desk is booked or taken: its run ends here (a
                # small clinic on a fast machine); throughput counts its own seconds.
                result.used_up = True
                break
            slot, patient_id = mine[turn], patients[turn % len(patients)]
            turn += 1
            t0 = time.perf_counter()
            try:
                new_id = book_slot(clinic, actor, slot, patient_id)
                result.latencies.append(time.perf_counter() - t0)
                result.ids.append(new_id)
                result.done += 1
            except Exception as err:
                kind = classify(err)
                result.errors[kind] += 1
                if kind not in ALLOWED and kind not in result.tracebacks:
                    result.tracebacks[kind] = traceback.format_exc()
        result.seconds = time.perf_counter() - started
    finally:
        clinic.close()
        out.put(result)


def floor_rows(desk: int, desks: int, plan: Plan) -> Any:
    """Desk ``desk``'s rows: times nobody else takes (desks interleave over every slot)."""
    base = NOW.date() + timedelta(days=FLOOR_DAYS_AHEAD)
    doctors, patients = plan.doctor_ids, plan.patient_ids
    n = desk
    while True:
        doctor = doctors[n % len(doctors)]
        slot = (n // len(doctors)) % FLOOR_SLOTS_A_DAY
        day = base + timedelta(days=n // (len(doctors) * FLOOR_SLOTS_A_DAY))
        start = dtime(8 + slot // 2, 30 * (slot % 2))
        end = dtime(8 + slot // 2, 30 * (slot % 2) + 29)
        # Within one (day, slot) the doctors differ, and so do the patients.
        yield doctor, patients[n % len(patients)], day, start, end
        n += desks


_FLOOR_SQL = (
    "INSERT INTO appointments (doctor_id, patient_id, day, start_time, end_time, visit_type, "
    "reason, status, created_at, updated_at, overbooked, overbook_reason, calendar_sequence) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, 'consultation', '', 'booked', {p}, {p}, {false}, '', 0)"
)


def floor_connect(url: str) -> tuple[Any, str, bool]:
    """A raw DB-API connection in autocommit (one transaction per statement)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn, _FLOOR_SQL.format(p="?", false="0"), True
    import psycopg

    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return (
        psycopg.connect(conninfo, autocommit=True),
        _FLOOR_SQL.format(p="%s", false="false"),
        False,
    )


def _desk_floor(
    url: str,
    desk: int,
    desks: int,
    plan: Plan,
    seconds: float,
    ready: Barrier,
    out: Queue[Any],
    _mine: list[FreeTime],
) -> None:
    """The floor: the bare INSERT of an appointment row, one transaction each."""
    result = DeskResult(desk)
    conn, sql, is_sqlite = floor_connect(url)
    rows = floor_rows(desk, desks, plan)
    try:
        ready.wait(120)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            doctor, patient, day, start, end = next(rows)
            stamp = datetime.now(UTC).replace(tzinfo=None)
            values: tuple[Any, ...] = (doctor, patient, day, start, end, stamp, stamp)
            if is_sqlite:
                values = (
                    doctor, patient, day.isoformat(), start.isoformat("microseconds"),
                    end.isoformat("microseconds"), stamp.isoformat(" "), stamp.isoformat(" "),
                )  # fmt: skip
            t0 = time.perf_counter()
            try:
                conn.execute(sql, values)
                result.latencies.append(time.perf_counter() - t0)
                result.done += 1
            except Exception as err:
                kind = classify(err)
                result.errors[kind] += 1
                result.tracebacks.setdefault(kind, traceback.format_exc())
        result.seconds = time.perf_counter() - started
    finally:
        conn.close()
        out.put(result)


# --- a run --------------------------------------------------------------------------------


def _load() -> float:
    return os.getloadavg()[0]


def run(
    url: str, kind: str, *, desks: int, seconds: float, plan: Plan, target: Any = None
) -> RunResult:
    """``desks`` processes doing ``kind`` (``ours`` or ``floor``; another kind names its
    ``target``, a desk function) for ``seconds``, together.

    For ours, the free times are listed (untimed) and dealt out first.
    """
    target = target or {"ours": _desk_ours, "floor": _desk_floor}[kind]
    lists: list[list[FreeTime]] = [[] for _ in range(desks)]
    if kind == "ours":
        clinic = open_desk_clinic(url)
        try:
            lists = desk_lists(free_times(clinic, plan), desks)
        finally:
            clinic.close()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(desks)
    out: Queue[DeskResult] = ctx.Queue()
    load_before = _load()
    procs = [
        ctx.Process(
            target=target, args=(url, i, desks, plan, seconds, ready, out, lists[i]), daemon=True
        )
        for i in range(desks)
    ]
    for proc in procs:
        proc.start()
    results: list[DeskResult] = []
    try:
        for _ in procs:
            results.append(out.get(timeout=seconds + 300))
    finally:
        for proc in procs:
            proc.join(30)
    errors: Counter[str] = Counter()
    tracebacks: dict[str, str] = {}
    latencies: list[float] = []
    ids: list[int] = []
    for r in results:
        errors.update(r.errors)
        latencies += r.latencies
        ids += r.ids
        for k, tb in r.tracebacks.items():
            tracebacks.setdefault(k, tb)
    return RunResult(
        database="sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql",
        kind=kind,
        desks=desks,
        seconds=max(r.seconds for r in results),
        done=sum(r.done for r in results),
        latencies=latencies,
        errors=errors,
        tracebacks=tracebacks,
        load_before=load_before,
        load_after=_load(),
        ids=ids,
        used_up=sum(r.used_up for r in results),
    )


# --- what the database holds afterwards ---------------------------------------------------

_OVERLAPS = """
SELECT count(*) FROM appointments a JOIN appointments b
  ON a.{who} = b.{who} AND a.day = b.day AND a.id < b.id
 AND a.start_time < b.end_time AND b.start_time < a.end_time
WHERE b.id > :after AND a.status != 'cancelled' AND b.status != 'cancelled' {extra}
"""


@dataclass(frozen=True)
class Check:
    """What the database says after a run of ours."""

    doctor_overlaps: int
    patient_overlaps: int
    booked_rows: int
    reported: int
    missing_ids: int
    #: ``appointment.book`` audit entries of the new visits (one per booking).
    audit_entries: int = 0
    #: What ``hms audit verify`` says of the whole chain after the run.
    audit_chain: str = "ok"

    @property
    def ok(self) -> bool:
        return (
            self.doctor_overlaps == 0
            and self.patient_overlaps == 0
            and self.booked_rows == self.reported
            and self.missing_ids == 0
            and self.audit_entries == self.reported
            and self.audit_chain.startswith("ok")
        )


def max_appointment_id(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT coalesce(max(id), 0) FROM appointments")) or 0)
    finally:
        engine.dispose()


def overlaps(conn: Connection, after_id: int) -> tuple[int, int]:
    """(doctor, patient) pairs of overlapping live visits, one of them newer than ``after_id``."""
    doctor = conn.scalar(
        text(_OVERLAPS.format(who="doctor_id", extra="AND NOT a.overbooked AND NOT b.overbooked")),
        {"after": after_id},
    )
    patient = conn.scalar(text(_OVERLAPS.format(who="patient_id", extra="")), {"after": after_id})
    return int(doctor or 0), int(patient or 0)


def check(url: str, after_id: int, result: RunResult) -> Check:
    """Overlaps among live visits booked after ``after_id``, the rows and their audit entries
    against the report, and the audit chain (desks appending at once must not fork it)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            doctor, patient = overlaps(conn, after_id)
            rows = set(
                conn.scalars(
                    text("SELECT id FROM appointments WHERE id > :after AND status = 'booked'"),
                    {"after": after_id},
                )
            )
            entries = conn.scalar(
                text(
                    "SELECT count(*) FROM audit_log WHERE action = 'appointment.book' "
                    "AND entity_id > :after"
                ),
                {"after": after_id},
            )
    finally:
        engine.dispose()
    db = Database(url)
    try:
        chain = audit_chain.verify(db).message
    finally:
        db.dispose()
    return Check(
        doctor_overlaps=doctor,
        patient_overlaps=patient,
        booked_rows=len(rows),
        reported=result.done,
        missing_ids=len(set(result.ids) - rows),
        audit_entries=int(entries or 0),
        audit_chain=chain,
    )


def remove_floor_rows(url: str, after_id: int) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM appointments WHERE id > :after"), {"after": after_id})
    finally:
        engine.dispose()


# --- the command --------------------------------------------------------------------------


def pg_schema(base: str) -> tuple[str, str]:
    """A fresh schema of the server for one run: (its URL, its name)."""
    return fresh_schema_url(base, "desks")


def drop_pg_schema(base: str, schema: str) -> None:
    drop_schema(base, schema)


def measure(
    url: str, *, desks: int, seconds: float, rounds: int, log: bool = True
) -> list[tuple[RunResult, Check | None]]:
    """Alternate ours and the floor ``rounds`` times on a built clinic at ``url``."""
    plan = plan_of(url)
    out: list[tuple[RunResult, Check | None]] = []
    for _ in range(rounds):
        before = max_appointment_id(url)
        ours = run(url, "ours", desks=desks, seconds=seconds, plan=plan)
        verdict = check(url, before, ours)
        out.append((ours, verdict))
        if log:
            print(describe(ours, verdict), flush=True)
        before = max_appointment_id(url)
        floor = run(url, "floor", desks=desks, seconds=seconds, plan=plan)
        remove_floor_rows(url, before)
        out.append((floor, None))
        if log:
            print(describe(floor, None), flush=True)
    return out


def describe(r: RunResult, verdict: Check | None) -> str:
    errors = ", ".join(f"{k}: {n}" for k, n in sorted(r.errors.items())) or "none"
    line = (
        f"{r.database:10} {r.kind:5} {r.desks} desks {r.seconds:5.1f} s: {r.done:6} rows, "
        f"{r.per_second:7.1f}/s, p50 {r.percentile(0.5) * 1e3:6.1f} ms, "
        f"p95 {r.percentile(0.95) * 1e3:6.1f} ms; errors: {errors}; "
        f"load {r.load_before:.1f}->{r.load_after:.1f}"
    )
    if r.used_up:
        line += f"; {r.used_up} desk(s) ran out of free times and stopped early"
    if verdict is not None:
        line += (
            f"\n           check: doctor overlaps {verdict.doctor_overlaps}, patient overlaps "
            f"{verdict.patient_overlaps}, booked rows {verdict.booked_rows} vs reported "
            f"{verdict.reported}, missing ids {verdict.missing_ids}, audit entries "
            f"{verdict.audit_entries}, audit chain {verdict.audit_chain}"
        )
    for kind, tb in r.tracebacks.items():
        line += f"\n--- first {kind!r}:\n{tb}"
    return line


def summary_table(results: list[tuple[RunResult, Check | None]]) -> str:
    rows = [
        "| database | round | ours bookings/s | floor rows/s | ratio | ours p50 | ours p95 "
        "| floor p95 | errors (ours) | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    pairs = [(results[i], results[i + 1]) for i in range(0, len(results), 2)]
    rounds: Counter[str] = Counter()
    for (ours, verdict), (floor, _) in pairs:
        rounds[ours.database] += 1
        n = rounds[ours.database]
        ratio = ours.per_second / floor.per_second if floor.per_second else float("nan")
        errors = ", ".join(f"{k} {v}" for k, v in sorted(ours.errors.items())) or "none"
        met = ratio >= 0.5 and not ours.defects and verdict is not None and verdict.ok
        rows.append(
            f"| {ours.database} | {n} | {ours.per_second:,.1f} | {floor.per_second:,.1f} "
            f"| {ratio:.2f}x | {ours.percentile(0.5) * 1e3:.1f} ms "
            f"| {ours.percentile(0.95) * 1e3:.1f} ms | {floor.percentile(0.95) * 1e3:.1f} ms "
            f"| {errors} | >= 0.5x floor, only taken | {'yes' if met else 'no'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--desks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="a small clinic (6 doctors)")
    args = parser.parse_args(argv)
    size = SMOKE if args.smoke else FULL
    results: list[tuple[RunResult, Check | None]] = []
    kw = {"desks": args.desks, "seconds": args.seconds, "rounds": args.rounds}
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="hms-desks-") as folder:
            url = f"sqlite:///{Path(folder) / 'clinic.sqlite3'}"
            t0 = time.perf_counter()
            build_clinic(url, size)
            print(f"sqlite clinic built in {time.perf_counter() - t0:.0f} s", flush=True)
            results += measure(url, **kw)
    if args.database in ("postgresql", "both"):
        base = os.environ.get("HMS_TEST_DATABASE_URL", DEFAULT_PG_URL)
        url, schema = pg_schema(base)
        try:
            t0 = time.perf_counter()
            build_clinic(url, size)
            print(f"postgresql clinic built in {time.perf_counter() - t0:.0f} s", flush=True)
            results += measure(url, **kw)
        finally:
            drop_pg_schema(base, schema)
    print(summary_table(results))
    bad = [r for r, v in results if r.kind == "ours" and (r.defects or (v and not v.ok))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
