"""Growth: the same paths on the 1M and the 5M clinic, measured alternately in one run.

``python -m tests.benchmarks.growth --database sqlite|postgresql`` opens both clinics
(built and loaded as ``python -m tests.benchmarks --size 1m/5m`` do) and times each
path on the big and the small clinic in turn (``median_pair``), so a shared machine's
load falls on both alike: two separate runs minutes apart compare two loads, not two
clinics. Day-scoped paths may cost 1.2x at 5M what they cost at 1M; the dashboard's
whole-clinic totals 2x. The table goes into RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks.clinic_builder import FULL, GROWN, NOW, build, open_clinic_at
from tests.benchmarks.harness import (
    RESULTS,
    Target,
    load_average,
    machine,
    median_pair,
    pg_base_url,
    replace_section,
)

RUNS = 7
#: Runs of the paths that take a millisecond or two.
FAST_RUNS = 25


@dataclass
class Growth:
    path: str
    small_ms: float
    big_ms: float
    limit: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.big_ms / self.small_ms

    @property
    def met(self) -> bool:
        return self.ratio <= self.limit


def _worst_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(big, small): the worst case of each clinic (each side's own maximum)."""
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def measure(small: Target, big: Target) -> list[Growth]:
    from sqlalchemy import select

    from hms_desktop.db.models import AppointmentCount, Department, Doctor, Patient
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.people import patients
    from hms_desktop.services.records import records, reports
    from hms_desktop.services.records.stats import compute_stats
    from hms_desktop.services.scheduling import book

    clinics = {"small": open_clinic_at(small.where), "big": open_clinic_at(big.where)}
    s, b = clinics["small"], clinics["big"]
    out: list[Growth] = []

    def pair(
        big_fn: Callable[[], Any], small_fn: Callable[[], Any], runs: int = RUNS
    ) -> tuple[float, float]:
        return median_pair(big_fn, small_fn, runs)

    # Whole clinic: the dashboard's fresh figures (totals from the kept counts).
    big_t, small_t = pair(lambda: compute_stats(b), lambda: compute_stats(s))
    out.append(
        Growth("dashboard stats, fresh (whole-clinic totals)", small_t * 1e3, big_t * 1e3, 2.0)
    )
    # Today's figures alone: the kept counts of one day.
    today = NOW.date()

    def todays(clinic: Any) -> Any:
        with clinic.db.read() as session:
            return session.execute(
                select(AppointmentCount.status, AppointmentCount.n).where(
                    AppointmentCount.day == today
                )
            ).all()

    # A millisecond path: one other process's time slice is a whole run, so more runs.
    big_t, small_t = pair(lambda: todays(b), lambda: todays(s), FAST_RUNS)
    out.append(Growth("today's figures (kept counts of the day)", small_t * 1e3, big_t * 1e3, 1.2))
    # The book's day view (its data: a column per doctor, 50 doctors), over 10 dates.
    with s.db.read() as session:
        fifty = list(session.scalars(select(Doctor.id).order_by(Doctor.id).limit(50)))
        departments = list(session.scalars(select(Department.id).order_by(Department.id)))
    dates = [today + timedelta(days=i) for i in range(-5, 5)]
    pairs = [
        pair(
            lambda d=d: book.day_book(b, SYSTEM, d, doctor_ids=fifty),
            lambda d=d: book.day_book(s, SYSTEM, d, doctor_ids=fifty),
        )
        for d in dates
    ]
    big_t, small_t = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    out.append(
        Growth(
            "book day view data, 50 doctors (median of 10 dates)",
            small_t * 1e3,
            big_t * 1e3,
            1.2,
            "book.day_book, the read behind the view (the painted view: per-size tables)",
        )
    )
    # Next free time: 20 doctors and every department, from now.
    pairs = [
        pair(lambda d=d: book.next_free(b, doctor_id=d), lambda d=d: book.next_free(s, doctor_id=d))
        for d in fifty[:20]
    ] + [
        pair(
            lambda d=d: book.next_free(b, department_id=d),
            lambda d=d: book.next_free(s, department_id=d),
        )
        for d in departments
    ]
    big_t, small_t = _worst_pair(pairs)
    out.append(
        Growth(
            "next free time (worst of 20 doctors, all departments)", small_t * 1e3, big_t * 1e3, 1.2
        )
    )
    # A patient's history: the 20 busiest patients of each clinic, worst median.
    busiest: dict[str, list[int]] = {}
    for key, target in (("small", small), ("big", big)):
        raw = target.raw()
        busiest[key] = [
            r[0]
            for r in raw.cursor()
            .execute(
                "SELECT a.patient_id FROM treatments t JOIN appointments a "
                "ON a.id = t.appointment_id GROUP BY a.patient_id ORDER BY count(*) DESC LIMIT 20"
            )
            .fetchall()
        ]
        raw.close()
    pairs = [
        pair(
            lambda p=p: records.patient_history(b, SYSTEM, p),
            lambda q=q: records.patient_history(s, SYSTEM, q),
        )
        for p, q in zip(busiest["big"], busiest["small"], strict=True)
    ]
    big_t, small_t = _worst_pair(pairs)
    out.append(
        Growth("patient history (busiest 20 patients, worst)", small_t * 1e3, big_t * 1e3, 1.2)
    )
    # Search: the harness's keystrokes (names of the first 50 patients, 1-6 characters).
    with s.db.read() as session:
        names = list(session.scalars(select(Patient.full_name).order_by(Patient.id).limit(50)))
    rng = random.Random(7)
    prefixes: list[str] = []
    for name in rng.sample(names, min(10, len(names))):
        word = name.split()[-1] if rng.random() < 0.5 else name
        prefixes += [word[:n] for n in range(1, 7)]
    by_prefix = {
        p: median_pair(
            lambda p=p: patients.search_patients(b, SYSTEM, p),
            lambda p=p: patients.search_patients(s, SYSTEM, p),
            5,
        )
        for p in prefixes
    }
    big_t, small_t = _worst_pair(list(by_prefix.values()))
    out.append(
        Growth(
            "patient search, worst keystroke (1-6 characters)",
            small_t * 1e3,
            big_t * 1e3,
            1.2,
            "5x the patients (100,000 -> 500,000); each way of the search reads its own index "
            "from the prefix on and stops at the page's end (services/people/patients.search_ways)",
        )
    )
    longer = [v for p, v in by_prefix.items() if len(p) >= 3]
    big_t, small_t = _worst_pair(longer)
    out.append(
        Growth("patient search, worst keystroke of 3-6 characters", small_t * 1e3, big_t * 1e3, 1.2)
    )
    # Monthly reports: last month of each clinic (the same month).
    month = reports.previous_month(today)

    def month_of(clinic: Any) -> Any:
        with clinic.db.read() as session:
            return reports.compute_all_stats(session, month)

    big_t, small_t = pair(lambda: month_of(b), lambda: month_of(s))
    out.append(Growth("monthly reports, 200 doctors", small_t * 1e3, big_t * 1e3, 1.2))
    for clinic in clinics.values():
        clinic.close()
    return out


def table_text(rows: list[Growth]) -> str:
    lines = [
        "| path | 1M | 5M | 5M / 1M | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for g in rows:
        lines.append(
            f"| {g.path} | {g.small_ms:.1f} ms | {g.big_ms:.1f} ms | {g.ratio:.2f}x | "
            f"<= {g.limit}x | {'yes' if g.met else '**no**'} |"
        )
    notes = [f"- {g.path}: {g.note}" for g in rows if g.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="hms-growth-") as tmp:
        if args.database == "postgresql":
            from tests.benchmarks.pg_clinic import load

            base = pg_base_url()
            small = Target("postgresql", load(FULL, build(FULL), base))
            big = Target("postgresql", load(GROWN, build(GROWN), base))
        else:  # copies: a history view writes its audit entry
            paths = []
            for scale in (FULL, GROWN):
                path = Path(tmp) / f"{scale.name}.sqlite3"
                shutil.copyfile(build(scale), path)
                paths.append(str(path))
            small, big = Target("sqlite", paths[0]), Target("sqlite", paths[1])
        rows = measure(small, big)
    load = f"{before} before, {load_average()} after"
    text = table_text(rows)
    print(text)
    print(f"\nload average (1/5/15 min): {load}")
    if not args.no_write:
        title = "SQLite" if args.database == "sqlite" else "PostgreSQL"
        body = (
            f"## Growth on {title}: 1M against 5M appointments, measured side by side\n\n"
            f"`python -m tests.benchmarks.growth --database {args.database}` on {machine()}; "
            f"load average (1/5/15 min) {load}. Both clinics open in one process; each "
            "path runs on the 5M and the 1M clinic in turn (median of pairs), so the "
            "machine's load falls on both alike. 1M: 3 years, 100,000 patients; 5M: the "
            "same 3 years five times over, 15 years, 500,000 patients (a patient's history "
            "is as long as at 1M). Day-scoped paths: at most 1.2x; whole-clinic totals: "
            f"2x.\n\n{text}\n"
        )
        current = RESULTS.read_text(encoding="utf-8")
        RESULTS.write_text(
            replace_section(current, f"bench:growth-{args.database}", body), encoding="utf-8"
        )
        print(f"written to {RESULTS}")
    return 0 if all(g.met for g in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
