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


def _key(scale: Scale) -> str:
    # The schema is not part of the key: a cached clinic is upgraded in place (below).
    data = asdict(scale) | {"now": NOW.isoformat(), "generator": 1}
    for k in ("runs", "csv_rows", "xlsx_rows", "ui_rows"):
        data.pop(k)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def open_clinic_at(path: Path) -> Clinic:
    url = f"sqlite:///{path}"
    clinic = Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(NOW))
    clinic_settings.seed(clinic, {"timezone": TZ.key})
    return clinic


def build(scale: Scale, cache_dir: Path = CACHE_DIR, *, log: bool = True) -> Path:
    """The clinic file for ``scale``: from the cache, or generated (once) with bulk inserts."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"clinic-{scale.name}-{_key(scale)}.sqlite3"
    if path.exists():
        db = Database(f"sqlite:///{path}")
        upgrade(db)  # new indexes reach the cached clinic too
        db.dispose()
        return path
    partial = path.with_suffix(".building")
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
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
