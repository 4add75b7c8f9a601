"""Measure the hot paths on a large clinic against the floor of the same work.

``python -m tests.benchmarks`` builds (once, cached in tests/benchmarks/.cache) a
clinic of 200 doctors, 100,000 patients and 1,000,000 appointments over three
years, then measures each hot path as the median of several runs in this process,
next to a floor measured in the same run (raw ``sqlite3``, raw ``csv``, raw
openpyxl, a bare PySide6 window), prints a table of ratios with each target met or
not, and writes it to tests/benchmarks/RESULTS.md. ``--smoke`` runs the same code
on a few thousand rows (the test suite does this, so the code cannot rot).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.benchmarks.clinic_builder import FULL, NOW, SMOKE, Scale, build, open_clinic_at

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Result:
    name: str
    value: float
    unit: str
    floor: float | None = None  # same unit as value
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor  # type: ignore[operator]


def median_time(fn: Callable[[], Any], runs: int, *, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def median_pair(
    ours: Callable[[], Any], floor: Callable[[], Any], runs: int, *, warmup: int = 1
) -> tuple[float, float]:
    """Median wall times of ``ours`` and ``floor``, run alternately so load hits both alike."""
    for _ in range(warmup):
        floor()
        ours()
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for fn, samples in ((floor, b), (ours, a)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- the measurements --------------------------------------------------------------------


def bench_stats(db_path: Path, scale: Scale) -> list[Result]:
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.records.stats import StatsService, compute_stats

    clinic = open_clinic_at(db_path)
    today = NOW.date().isoformat()
    raw = sqlite3.connect(db_path)
    floor_sql = (
        "SELECT (SELECT count(*) FROM doctors), (SELECT count(*) FROM patients), count(*), "
        "sum(day = ?), sum(status = 'booked'), sum(status = 'completed'), "
        "sum(status = 'cancelled'), sum(status = 'no_show'), "
        "sum(day = ? AND status = 'booked'), sum(day = ? AND status = 'completed'), "
        "sum(day = ? AND status = 'cancelled'), sum(day = ? AND status = 'no_show') "
        "FROM appointments"
    )
    fresh, floor = median_pair(
        lambda: compute_stats(clinic),
        lambda: raw.execute(floor_sql, (today,) * 5).fetchall(),
        scale.runs,
    )
    raw.close()
    service = StatsService(clinic)
    service.dashboard(SYSTEM)
    cached = median_time(lambda: service.dashboard(SYSTEM), max(scale.runs, 50))
    assert service.dashboard(SYSTEM).from_cache
    clinic.close()
    return [
        Result(
            "dashboard stats, fresh",
            fresh * 1e3,
            "ms",
            floor * 1e3,
            "<= 1.0x floor",
            fresh <= floor,
            "floor: the counts in one raw sqlite3 statement; ours adds the 30-day and department charts",
        ),
        Result("dashboard stats, from cache", cached * 1e3, "ms", None, "< 1 ms", cached < 1e-3),
    ]


def bench_reports(db_path: Path, scale: Scale) -> list[Result]:
    from hms_desktop.services.records import reports

    clinic = open_clinic_at(db_path)
    month = reports.previous_month(NOW.date())
    first, last = reports.month_bounds(month)
    batch = getattr(reports, "compute_all_stats", None)

    def ours() -> Any:
        with clinic.db.read() as session:
            if batch is not None:
                return batch(session, month)
            from sqlalchemy import select

            from hms_desktop.db.models import Doctor

            return [
                reports.compute_stats(session, d, month) for d in session.scalars(select(Doctor.id))
            ]

    raw = sqlite3.connect(db_path)

    def floor_fn() -> Any:
        # One grouped query for the figures, one for the tables: the least work possible.
        figures = raw.execute(
            "SELECT a.doctor_id, count(*), sum(a.status='completed'), sum(a.status='cancelled'), "
            "sum(a.status='no_show'), count(t.id), count(DISTINCT a.patient_id) "
            "FROM appointments a LEFT JOIN treatments t ON t.appointment_id = a.id "
            "WHERE a.day BETWEEN ? AND ? GROUP BY a.doctor_id",
            (first.isoformat(), last.isoformat()),
        ).fetchall()
        tables = raw.execute(
            "SELECT a.doctor_id, a.id, a.day, a.start_time, p.full_name, a.visit_type, a.status, "
            "t.diagnosis, t.treatment_given, t.prescription "
            "FROM appointments a JOIN patients p ON p.id = a.patient_id "
            "LEFT JOIN treatments t ON t.appointment_id = a.id "
            "WHERE a.day BETWEEN ? AND ? ORDER BY a.doctor_id, a.day, a.start_time, a.id",
            (first.isoformat(), last.isoformat()),
        ).fetchall()
        return figures, tables

    ours_t, floor = median_pair(ours, floor_fn, scale.runs)

    def naive() -> None:
        # One query per doctor and a lazy load per appointment (the guide's way).
        from sqlalchemy import select

        from hms_desktop.db.models import Appointment, Doctor

        with clinic.db.read() as session:
            for doctor in session.scalars(select(Doctor)):
                appts = session.scalars(
                    select(Appointment).where(
                        Appointment.doctor_id == doctor.id,
                        Appointment.day >= first,
                        Appointment.day <= last,
                    )
                ).all()
                for appt in appts:
                    _ = appt.patient.full_name, appt.treatment

    naive_t = median_time(naive, 1, warmup=0)
    raw.close()
    clinic.close()
    return [
        Result(
            f"monthly reports, {scale.doctors} doctors",
            ours_t * 1e3,
            "ms",
            floor * 1e3,
            "<= 1.5x floor",
            ours_t <= 1.5 * floor,
            "floor: one grouped query + one table query in raw sqlite3",
        ),
        Result(
            "monthly reports, naive (per doctor, lazy loads)",
            naive_t * 1e3,
            "ms",
            floor * 1e3,
            "for comparison",
        ),
    ]


def bench_history_and_search(db_path: Path, scale: Scale) -> list[Result]:
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.people import patients
    from hms_desktop.services.records import records

    clinic = open_clinic_at(db_path)
    raw = sqlite3.connect(db_path)
    busiest = [
        r[0]
        for r in raw.execute(
            "SELECT a.patient_id FROM treatments t JOIN appointments a ON a.id = t.appointment_id "
            "GROUP BY a.patient_id ORDER BY count(*) DESC LIMIT 20"
        )
    ]
    names = [r[0] for r in raw.execute("SELECT full_name FROM patients ORDER BY id LIMIT 50")]
    raw.close()
    history = [
        median_time(lambda p=p: records.patient_history(clinic, SYSTEM, p), scale.runs)
        for p in busiest
    ]
    worst_key = 0.0
    rng = random.Random(7)
    for name in rng.sample(names, min(10, len(names))):
        word = name.split()[-1] if rng.random() < 0.5 else name
        for n in range(1, 7):
            prefix = word[:n]
            worst_key = max(
                worst_key,
                median_time(lambda q=prefix: patients.search_patients(clinic, SYSTEM, q), 3),
            )
    clinic.close()
    worst_history = max(history)
    return [
        Result(
            "patient history (busiest 20 patients, worst median)",
            worst_history * 1e3,
            "ms",
            None,
            "< 30 ms",
            worst_history < 0.030,
        ),
        Result(
            "patient search, 1-6 char prefix (worst keystroke)",
            worst_key * 1e3,
            "ms",
            None,
            "< 30 ms",
            worst_key < 0.030,
            f"over {scale.patients:,} patients",
        ),
    ]


def bench_exports(db_path: Path, scale: Scale, workdir: Path) -> list[Result]:
    from sqlalchemy import select

    from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
    from hms_desktop.services.files import exports
    from hms_desktop.services.files.exports import HISTORY_COLUMNS
    from hms_desktop.services.files.table_files import open_table
    from hms_desktop.services.scheduling.booking import VISIT_LABELS

    clinic = open_clinic_at(db_path)
    stmt = (
        select(
            Patient.id,
            Patient.full_name,
            Doctor.full_name,
            Appointment.day,
            Appointment.visit_type,
            Treatment.symptoms,
            Treatment.diagnosis,
            Treatment.treatment_given,
            Treatment.prescription,
            Treatment.notes,
        )
        .select_from(Treatment)
        .join(Appointment, Appointment.id == Treatment.appointment_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .order_by(Treatment.id)
    )
    raw_sql = (
        "SELECT p.id, p.full_name, d.full_name, a.day, a.visit_type, t.symptoms, t.diagnosis, "
        "t.treatment_given, t.prescription, t.notes FROM treatments t "
        "JOIN appointments a ON a.id = t.appointment_id JOIN patients p ON p.id = a.patient_id "
        "JOIN doctors d ON d.id = a.doctor_id ORDER BY t.id LIMIT ?"
    )
    _ = Department

    def ours(fmt: str, rows: int) -> int:
        # The exports' own per-row path: Core streaming (exports.stream), the row
        # reshaped as export_history does, and exports.write_rows with a throttled
        # progress callback and a cancel check per row, as the export dialog runs it.
        target = workdir / f"ours.{fmt}"
        with clinic.db.read() as session, open(target, "wb") as out:
            writer = open_table(fmt, out, HISTORY_COLUMNS, "History")  # type: ignore[arg-type]
            cancelled = False
            with contextlib.closing(exports.stream(session, stmt.limit(rows))) as result:
                exports.write_rows(
                    writer,
                    (
                        (r[0], r[1], r[2], r[3], VISIT_LABELS.get(r[4], r[4]), *r[5:])
                        for r in result
                    ),
                    rows,
                    exports.throttled(lambda done, total: None),
                    lambda: cancelled,
                )
            writer.close()
        return writer.rows

    def floor_csv(rows: int) -> int:
        conn = sqlite3.connect(db_path)
        with open(workdir / "floor.csv", "w", encoding="utf-8-sig", newline="") as out:
            w = csv.writer(out)
            w.writerow([c.header for c in HISTORY_COLUMNS])
            n = 0
            for row in conn.execute(raw_sql, (rows,)):
                w.writerow(row)
                n += 1
        conn.close()
        return n

    def floor_xlsx(rows: int) -> int:
        from openpyxl import Workbook

        conn = sqlite3.connect(db_path)
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("History")
        ws.append([c.header for c in HISTORY_COLUMNS])
        n = 0
        for row in conn.execute(raw_sql, (rows,)):
            ws.append(list(row))
            n += 1
        wb.save(workdir / "floor.xlsx")
        conn.close()
        return n

    runs = max(1, scale.runs - 2)
    csv_rows = ours("csv", scale.csv_rows)
    t_csv = median_time(lambda: ours("csv", scale.csv_rows), runs, warmup=0)
    f_csv = median_time(lambda: floor_csv(scale.csv_rows), runs, warmup=0)
    t_xlsx = median_time(lambda: ours("xlsx", scale.xlsx_rows), runs, warmup=0)
    f_xlsx = median_time(lambda: floor_xlsx(scale.xlsx_rows), runs, warmup=0)
    clinic.close()
    # Speeds as rows per second: the ratio is ours / floor, higher is better.
    csv_speed, csv_floor = csv_rows / t_csv, csv_rows / f_csv
    xlsx_rows = min(scale.xlsx_rows, csv_rows)
    xlsx_speed, xlsx_floor = xlsx_rows / t_xlsx, xlsx_rows / f_xlsx
    return [
        Result(
            f"CSV export, {csv_rows:,} treatment rows",
            csv_speed,
            "rows/s",
            csv_floor,
            ">= 0.6x floor",
            csv_speed >= 0.6 * csv_floor,
            "floor: raw sqlite3 cursor into csv.writer",
        ),
        Result(
            f"Excel export, {xlsx_rows:,} rows",
            xlsx_speed,
            "rows/s",
            xlsx_floor,
            ">= 0.9x floor",
            xlsx_speed >= 0.9 * xlsx_floor,
            "floor: raw openpyxl write-only loop",
        ),
    ]


def probe(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a :mod:`.qt_probe` measurement in a fresh process; its JSON result."""
    return _probe(*args, env=env)


def _probe(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    import json

    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.qt_probe", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench_table(db_path: Path, scale: Scale) -> list[Result]:
    runs = [_probe("table", str(db_path)) for _ in range(max(1, scale.runs - 2))]
    first = statistics.median(r["first_rows_ms"] for r in runs)
    memory = max(r["rss_mb"] for r in runs)
    return [
        Result(
            f"appointments table, {scale.appointments:,} rows: first rows",
            first,
            "ms",
            None,
            "< 300 ms",
            first < 300,
            "worst of oldest-first and newest-first, model + view shown",
        ),
        Result(
            "appointments table: process memory",
            memory,
            "MB",
            None,
            "< 300 MB",
            memory < 300,
            "RSS of the whole process with Qt loaded",
        ),
    ]


def bench_ui_gap(db_path: Path, scale: Scale) -> list[Result]:
    r = _probe("export-gap", str(db_path), str(scale.ui_rows))
    return [
        Result(
            f"UI timer's largest gap during a {int(r['rows']):,}-row Excel export",
            r["max_gap_ms"],
            "ms",
            None,
            "< 50 ms",
            r["max_gap_ms"] < 50,
            f"5 ms timer, export took {r['seconds']:.1f} s",
        ),
    ]


def bench_cold_start(scale: Scale) -> list[Result]:
    from hms_desktop.ui.shell.startup import SHOWN_MESSAGE, WINDOW_MESSAGE  # Qt only for this step

    root = Path(__file__).resolve().parents[2]
    # An installed application starts from bytecode (pip compiles it; the PyInstaller build
    # ships it), while a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile every
    # module on every start. Compile first (the bare window's probe too) so both sides are
    # measured as installed: compileall writes .pyc even with that variable set, and
    # Python still reads them.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "hms_desktop",
            "tests/__init__.py",
            "tests/benchmarks",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="offscreen",
            HMS_QUIT_AFTER_SHOW="1",
            HMS_DATA_DIR=f"{tmp}/data",
            HMS_CONFIG_DIR=f"{tmp}/config",
        )
        app_cmd = [sys.executable, "-m", "hms_desktop.app", "--demo", "--quit-after-show"]
        bare_cmd = [sys.executable, "-m", "tests.benchmarks.qt_probe", "bare"]

        def run(cmd: list[str], markers: tuple[str, ...]) -> list[float]:
            """Seconds until each marker is printed, then until the exit."""
            with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
                started = time.perf_counter()
                seen: dict[str, float] = {}
                with subprocess.Popen(
                    cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=err, text=True
                ) as proc:
                    assert proc.stdout is not None
                    for line in proc.stdout:
                        seen.setdefault(line.strip(), time.perf_counter() - started)
                    code = proc.wait(timeout=300)
                total = time.perf_counter() - started
                if code != 0 or any(m not in seen for m in markers):
                    err.seek(0)
                    raise RuntimeError(f"{cmd} exited {code} (seen: {seen}): {err.read()}")
            return [seen[m] for m in markers] + [total]

        def medians(cmd: list[str], markers: tuple[str, ...]) -> list[float]:
            run(cmd, markers)  # warm-up (for the app: creates the demo clinic)
            samples = [run(cmd, markers) for _ in range(max(5, scale.runs))]
            return [statistics.median(column) for column in zip(*samples, strict=True)]

        # The bare probe prints its JSON once its window was shown and the loop ran once;
        # the start check prints WINDOW_MESSAGE at the same point, then SHOWN_MESSAGE once
        # the demo administrator is signed in and the workspace is shown.
        app_window, app_signed_in, app_total = medians(app_cmd, (WINDOW_MESSAGE, SHOWN_MESSAGE))
        bare_shown, bare_total = medians(bare_cmd, ("{}",))
    return [
        Result(
            "cold start to the main window (sign-in page)",
            app_window * 1e3,
            "ms",
            bare_shown * 1e3,
            "<= 1.5x floor",
            app_window <= 1.5 * bare_shown,
            "launch to the application's window shown and taking keys (the sign-in page; "
            "the clinic opens behind it); floor: a bare PySide6 window in a separate "
            "process; both from compiled bytecode (hms_desktop is compiled first, as an "
            "installed app is)",
        ),
        Result(
            "cold start to signed in (--demo, auto log-in, tabs shown)",
            app_signed_in * 1e3,
            "ms",
            bare_shown * 1e3,
            "",
            None,
            "for reference: the same run until the demo administrator is signed in (argon2, "
            "deliberately slow) and the Admin tab is shown; no scheduled jobs run",
        ),
        Result(
            "cold start, whole process (launch to exit)",
            app_total * 1e3,
            "ms",
            bare_total * 1e3,
            "",
            None,
            "for reference: includes closing the clinic and the interpreter's exit",
        ),
    ]


# --- report ------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "rows/s":
        return f"{value:,.0f} {unit}"
    if value < 1:
        return f"{value:.3f} {unit}"
    if value < 100:
        return f"{value:.1f} {unit}"
    return f"{value:,.0f} {unit}"


def table_text(results: list[Result]) -> str:
    lines = [
        "| measurement | ours | floor | ratio | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in results:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.name} | {_fmt(r.value, r.unit)} | {_fmt(r.floor, r.unit)} | {ratio} | {r.target} | {met} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            mem = f", {int(next(ln for ln in info if ln.startswith('MemTotal')).split()[1]) / 1024**2:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}){mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
    )


def _book_bench() -> Any:
    from tests.benchmarks import book_bench  # imports this module

    return book_bench


def run_all(scale: Scale, *, only: set[str] | None = None) -> list[Result]:
    db_cached = build(scale)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="hms-bench-") as tmp:
        work = Path(tmp)
        # Measure a copy: some measured paths write (history views are audited).
        db_path = work / "clinic.sqlite3"
        shutil.copyfile(db_cached, db_path)
        steps: list[tuple[str, Callable[[], list[Result]]]] = [
            ("stats", lambda: bench_stats(db_path, scale)),
            ("reports", lambda: bench_reports(db_path, scale)),
            ("history", lambda: bench_history_and_search(db_path, scale)),
            ("exports", lambda: bench_exports(db_path, scale, work)),
            ("table", lambda: bench_table(db_path, scale)),
            ("ui-gap", lambda: bench_ui_gap(db_path, scale)),
            ("cold-start", lambda: bench_cold_start(scale)),
            ("book", lambda: _book_bench().bench_book(db_path, scale)),
            ("next-free", lambda: _book_bench().bench_free(db_path, scale)),
        ]
        for name, step in steps:
            if only and name not in only:
                continue
            started = time.perf_counter()
            got = step()
            results += got
            print(f"  {name}: done in {time.perf_counter() - started:.1f} s", flush=True)
            for r in got:
                print(
                    f"    {r.name}: {_fmt(r.value, r.unit)}"
                    + (
                        f" (floor {_fmt(r.floor, r.unit)}, {r.ratio:.2f}x)"
                        if r.ratio is not None
                        else ""
                    )
                    + ("" if r.met is None else (" target met" if r.met else " TARGET MISSED")),
                    flush=True,
                )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="a few thousand rows instead of a million"
    )
    parser.add_argument("--only", action="append", help="run only this step (repeatable)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    scale = SMOKE if args.smoke else FULL
    print(
        f"HMS Desktop benchmarks, {scale.name} scale: {scale.doctors} doctors, {scale.patients:,} patients, "
        f"{scale.appointments:,} appointments",
        flush=True,
    )
    results = run_all(scale, only=set(args.only) if args.only else None)
    text = table_text(results)
    print()
    print(text)
    if not args.no_write and not args.smoke:
        RESULTS.write_text(
            f"# Benchmark results\n\nMeasured {date.today():%Y-%m-%d} with `python -m tests.benchmarks` on "
            f"{machine()}.\n\nClinic: {scale.doctors} doctors in 12 departments, {scale.patients:,} patients, "
            f"{scale.appointments:,} appointments over {scale.days_back // 365} years. Each figure is the "
            f"median of {scale.runs} runs in one process unless noted.\n\n{text}\n",
            encoding="utf-8",
        )
        print(f"\nwritten to {RESULTS}")
    missed = [r.name for r in results if r.met is False]
    return 1 if missed and not args.smoke else 0
