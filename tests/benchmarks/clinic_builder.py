"""Build (once) and cache on disk the deterministic clinic the benchmarks measure."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data

TZ = ZoneInfo("Europe/Berlin")
#: The benchmark clinic's "now": fixed, so the cached file stays valid and runs compare.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
CACHE_DIR = Path(__file__).with_name(".cache")


@dataclass(frozen=True)
class Scale:
    name: str
    doctors: int
    patients: int
    appointments: int
    days_back: int
    csv_rows: int  # treatment rows in the CSV export benchmark
    xlsx_rows: int
    ui_rows: int  # rows exported while the UI timer is watched
    runs: int  # repetitions per measurement (the median is reported)


FULL = Scale("full", 200, 100_000, 1_000_000, 3 * 365, 600_000, 100_000, 100_000, 5)
SMOKE = Scale("smoke", 12, 400, 3_000, 60, 1_500, 1_000, 2_000, 2)
#: Fifteen years of the same clinic: FULL's three years five times over (see :func:`grow`),
#: with five times the patients, so a patient's history is as long as at FULL.
GROWN = Scale("5m", 200, 500_000, 5_000_000, 15 * 365, 600_000, 100_000, 100_000, 5)
#: The smoke scale grown the same way (the test suite runs it).
SMOKE_GROWN = Scale("smoke-5x", 12, 2_000, 15_000, 5 * 60, 1_500, 1_000, 2_000, 2)
SIZES = {"1m": FULL, "5m": GROWN}
#: How many times a grown scale repeats its base (FULL or SMOKE), each copy further back.
GROWTH = 5


def cache_key(scale: Scale) -> str:
    # The schema is not part of the key: a cached clinic is upgraded in place (below).
    # "generator": raised when the demo generator writes other rows (2: patients' surname
    # keys as the patients service writes them).
    data = asdict(scale) | {"now": NOW.isoformat(), "generator": 2}
    for k in ("runs", "csv_rows", "xlsx_rows", "ui_rows"):
        data.pop(k)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def base_of(scale: Scale) -> Scale | None:
    """The scale a grown one repeats (None for a generated one)."""
    return {GROWN.name: FULL, SMOKE_GROWN.name: SMOKE}.get(scale.name)


def open_clinic_at(where: Path | str) -> Clinic:
    """The benchmark clinic in a SQLite file (a path) or on a server (a database URL)."""
    url = where if isinstance(where, str) and "://" in where else f"sqlite:///{where}"
    clinic = Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(NOW))
    clinic_settings.seed(clinic, {"timezone": TZ.key})
    return clinic


def build(scale: Scale, cache_dir: Path = CACHE_DIR, *, log: bool = True) -> Path:
    """The clinic file for ``scale``: from the cache, or generated (once) with bulk inserts."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"clinic-{scale.name}-{cache_key(scale)}.sqlite3"
    if path.exists():
        db = Database(f"sqlite:///{path}")
        upgrade(db)  # new indexes reach the cached clinic too
        db.dispose()
        return path
    partial = path.with_suffix(".building")
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    base = base_of(scale)
    if base is not None:
        shutil.copyfile(build(base, cache_dir, log=log), partial)
        grow(partial, GROWTH, base.days_back)
        shutil.move(partial, path)
        if log:
            print(
                f"  built {scale.name} clinic in {time.perf_counter() - started:.0f} s", flush=True
            )
        return path
    db = Database(f"sqlite:///{partial}")
    upgrade(db)
    db.dispose()
    clinic = open_clinic_at(partial)

    def progress(stage: str, done: int, total: int) -> None:
        if log and total and (done == total or done % max(1, total // 10) == 0):
            print(f"  building {scale.name} clinic: {stage} {done:,}/{total:,}", flush=True)

    summary = demo_data.generate(
        clinic,
        seed=2026,
        doctors=scale.doctors,
        patients=scale.patients,
        appointments=scale.appointments,
        days_back=scale.days_back,
        progress=progress,
    )
    clinic.close()
    with sqlite3.connect(partial) as conn:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.move(partial, path)
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    if log:
        print(
            f"  built {scale.name} clinic in {time.perf_counter() - started:.0f} s: "
            f"{summary.doctors} doctors, {summary.patients:,} patients, "
            f"{summary.appointments:,} appointments, {summary.treatments:,} treatments",
            flush=True,
        )
    return path


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def grow(path: Path, times: int, days_back: int) -> None:
    """Make the clinic in ``path`` ``times`` as long: its past copied ``times - 1`` times,
    each copy whole weeks further back (weekdays and the doctors' hours hold), with its
    own patients (new ids, the same people's details), so the history grows in years
    and in patients while each day and each patient look as before.

    Plain SQL in one transaction, with the secondary indexes and the triggers dropped
    while copying and rebuilt after (then the kept counts are counted once).
    """
    shift = -(-(days_back + 1) // 7) * 7  # days, whole weeks, past the base's first day
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        today = NOW.date().isoformat()
        tables = ("patients", "appointments", "treatments", "appointment_counts")
        saved = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "  # noqa: S608
            f"AND sql IS NOT NULL AND tbl_name IN {tables!r}"
        ).fetchall()
        conn.execute("BEGIN")
        for kind, name, _sql in saved:
            conn.execute(f'DROP {kind.upper()} "{name}"')
        (patients,) = conn.execute("SELECT max(id) FROM patients").fetchone()
        (appts,) = conn.execute("SELECT max(id) FROM appointments").fetchone()
        (treats,) = conn.execute("SELECT max(id) FROM treatments").fetchone()
        p_cols = _columns(conn, "patients")
        a_cols = _columns(conn, "appointments")
        t_cols = _columns(conn, "treatments")
        for k in range(1, times):
            days = f"'-{k * shift} days'"
            p_vals = {
                "id": f"id + {k * patients}",
                "user_id": "NULL",
                "date_of_birth": f"date(date_of_birth, {days})",
                "created_at": f"datetime(created_at, {days})",
            }
            conn.execute(
                f"INSERT INTO patients ({', '.join(p_cols)}) SELECT "  # noqa: S608
                + ", ".join(p_vals.get(c, c) for c in p_cols)
                + " FROM patients WHERE id <= ?",
                (patients,),
            )
            # The copies' name words, so the search's word way finds them as it finds
            # the originals ("hughes" a copied "Oliver Fitzgerald-Hughes").
            conn.execute(
                "INSERT INTO patient_name_words (word_key, name_key, patient_id) "  # noqa: S608
                f"SELECT word_key, name_key, patient_id + {k * patients} "
                "FROM patient_name_words WHERE patient_id <= ?",
                (patients,),
            )
            a_vals = {
                "id": f"id + {k * appts}",
                "patient_id": f"patient_id + {k * patients}",
                "day": f"date(day, {days})",
                "series_id": "NULL",
                **{c: f"datetime({c}, {days})" for c in a_cols if c.endswith("_at")},
            }
            conn.execute(
                f"INSERT INTO appointments ({', '.join(a_cols)}) SELECT "  # noqa: S608
                + ", ".join(a_vals.get(c, c) for c in a_cols)
                + " FROM appointments WHERE id <= ? AND day < ?",
                (appts, today),
            )
            t_vals = {
                "id": f"t.id + {k * treats}",
                "appointment_id": f"t.appointment_id + {k * appts}",
                **{c: f"datetime(t.{c}, {days})" for c in t_cols if c.endswith("_at")},
            }
            conn.execute(
                f"INSERT INTO treatments ({', '.join(t_cols)}) SELECT "  # noqa: S608
                + ", ".join(t_vals.get(c, "t." + c) for c in t_cols)
                + " FROM treatments t JOIN appointments a ON a.id = t.appointment_id "
                "WHERE t.id <= ? AND a.day < ?",
                (treats, today),
            )
        conn.execute(
            "UPDATE table_counts SET n = (SELECT count(*) FROM patients) WHERE name = 'patients'"
        )
        conn.execute("DELETE FROM appointment_counts")
        conn.execute(
            "INSERT INTO appointment_counts (day, status, n) "
            "SELECT day, status, count(*) FROM appointments GROUP BY day, status"
        )
        for _kind, _name, sql in saved:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
