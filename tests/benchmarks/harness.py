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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks.clinic_builder import (
    NOW,
    SIZES,
    SMOKE,
    SMOKE_GROWN,
    Scale,
    build,
    open_clinic_at,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Target:
    """The clinic measured: a SQLite file, or a PostgreSQL URL (a schema of its own)."""

    kind: str  # "sqlite" or "postgresql"
    where: str  # the file's path, or the URL

    @property
    def sqlite(self) -> bool:
        return self.kind == "sqlite"

    def raw(self) -> Any:
        """A raw driver connection for the floor: sqlite3, or psycopg 3 in autocommit."""
        if self.sqlite:
            from hms_desktop.db.engine import SQLITE_CACHE_KIB

            conn = sqlite3.connect(self.where)
            conn.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")  # as the app's connections
            return conn
        import psycopg

        from tests.benchmarks.pg_clinic import libpq

        return psycopg.connect(libpq(self.where), autocommit=True)

    def sql(self, text: str) -> str:
        """``?`` placeholders as the driver takes them."""
        return text if self.sqlite else text.replace("?", "%s")

    def flag(self, condition: str) -> str:
        """A condition as 0/1, to sum."""
        return f"({condition})" if self.sqlite else f"({condition})::int"

    @property
    def driver(self) -> str:
        return "sqlite3" if self.sqlite else "psycopg"


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


def bench_stats(target: Target, scale: Scale) -> list[Result]:
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.records.stats import CHART_DAYS, StatsService, compute_stats

    clinic = open_clinic_at(target.where)
    today = NOW.date()
    first = today - timedelta(days=CHART_DAYS - 1)
    raw = target.raw()
    # The floor: the same figures from the same tables (the kept per-day counts and
    # the last 30 days' appointments) in raw statements, rows left as the driver gives them.
    floor_sql = [
        target.sql(q)
        for q in (
            "SELECT (SELECT count(*) FROM doctors), "
            "(SELECT n FROM table_counts WHERE name = 'patients')",
            "SELECT status, sum(n) FROM appointment_counts GROUP BY status",
            "SELECT day, status, n FROM appointment_counts WHERE day BETWEEN ? AND ?",
            "SELECT dp.name, count(a.id) FROM departments dp JOIN doctors d "
            "ON d.department_id = dp.id JOIN appointments a ON a.doctor_id = d.id "
            "WHERE a.day BETWEEN ? AND ? GROUP BY dp.name ORDER BY count(a.id) DESC, dp.name",
        )
    ]
    days = (first.isoformat(), today.isoformat())

    def floor() -> list[Any]:
        cur = raw.cursor()
        out = []
        for i, q in enumerate(floor_sql):
            cur.execute(q, days if i >= 2 else ())
            out.append(cur.fetchall())
        return out

    full_scan = target.sql(
        "SELECT count(*), "  # noqa: S608
        + ", ".join(
            "sum(" + target.flag(f"status = '{st}'") + ")"
            for st in ("booked", "completed", "cancelled", "no_show")
        )
        + " FROM appointments"
    )
    fresh, floor_t = median_pair(lambda: compute_stats(clinic), floor, scale.runs)
    scan = median_time(lambda: raw.cursor().execute(full_scan).fetchall(), max(1, scale.runs - 2))
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
            floor_t * 1e3,
            "<= 1.5x floor",
            fresh <= 1.5 * floor_t,
            f"floor: the same figures in raw {target.driver} statements (doctors counted, the "
            "kept number of patients and per-day counts summed, the 30 days' department chart)",
        ),
        Result(
            "dashboard totals by counting every appointment (before 0014)",
            scan * 1e3,
            "ms",
            None,
            "for comparison",
            None,
            "one raw count(*) ... GROUP BY-like pass over the whole appointments table: "
            "what the fresh figures cost before the kept counts, growing with the history",
        ),
        Result("dashboard stats, from cache", cached * 1e3, "ms", None, "< 1 ms", cached < 1e-3),
    ]


def bench_reports(target: Target, scale: Scale) -> list[Result]:
    from hms_desktop.services.records import reports

    clinic = open_clinic_at(target.where)
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

    raw = target.raw()
    figures_sql = target.sql(
        "SELECT a.doctor_id, count(*), "
        + ", ".join(
            "sum(" + target.flag(f"a.status = '{st}'") + ")"
            for st in ("completed", "cancelled", "no_show")
        )
        + ", count(t.id), count(DISTINCT a.patient_id) "
        "FROM appointments a LEFT JOIN treatments t ON t.appointment_id = a.id "
        "WHERE a.day BETWEEN ? AND ? GROUP BY a.doctor_id"
    )
    tables_sql = target.sql(
        "SELECT a.doctor_id, a.id, a.day, a.start_time, p.full_name, a.visit_type, a.status, "
        "t.diagnosis, t.treatment_given, t.prescription "
        "FROM appointments a JOIN patients p ON p.id = a.patient_id "
        "LEFT JOIN treatments t ON t.appointment_id = a.id "
        "WHERE a.day BETWEEN ? AND ? ORDER BY a.doctor_id, a.day, a.start_time, a.id"
    )
    bounds = (first.isoformat(), last.isoformat())

    def floor_fn() -> Any:
        # One grouped query for the figures, one for the tables: the least work possible.
        cur = raw.cursor()
        figures = cur.execute(figures_sql, bounds).fetchall()
        tables = cur.execute(tables_sql, bounds).fetchall()
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
            "<= 1.3x floor (1.5x with margin)",
            ours_t <= 1.3 * floor,
            f"floor: one grouped query + one table query in raw {target.driver}",
        ),
        Result(
            "monthly reports, naive (per doctor, lazy loads)",
            naive_t * 1e3,
            "ms",
            floor * 1e3,
            "for comparison",
        ),
    ]


def bench_history_and_search(target: Target, scale: Scale) -> list[Result]:
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.people import patients
    from hms_desktop.services.records import records

    clinic = open_clinic_at(target.where)
    raw = target.raw()
    cur = raw.cursor()
    busiest = [
        r[0]
        for r in cur.execute(
            "SELECT a.patient_id FROM treatments t JOIN appointments a ON a.id = t.appointment_id "
            "GROUP BY a.patient_id ORDER BY count(*) DESC LIMIT 20"
        )
    ]
    names = [r[0] for r in cur.execute("SELECT full_name FROM patients ORDER BY id LIMIT 50")]
    history_sql = target.sql(
        "SELECT p.id, p.full_name, a.id, d.full_name, dp.name, a.day, a.start_time, "
        "a.visit_type, t.symptoms, t.diagnosis, t.treatment_given, t.prescription, t.notes, "
        "(SELECT count(v.id) FROM treatment_versions v WHERE v.treatment_id = t.id) "
        "FROM treatments t JOIN appointments a ON a.id = t.appointment_id "
        "JOIN patients p ON p.id = a.patient_id JOIN doctors d ON d.id = a.doctor_id "
        "JOIN departments dp ON dp.id = d.department_id WHERE a.patient_id = ? "
        "ORDER BY a.day, a.start_time, a.id"
    )
    # Reading a history is audited: ours commits one audit entry. The floor does the
    # same amount of writing: the rows, then one row inserted into a table of its own
    # and committed (the app's SQLite settings: WAL, synchronous NORMAL).
    if target.sqlite:
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_write (id INTEGER PRIMARY KEY, patient INT)"
        )
    else:
        raw.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_write (id bigserial PRIMARY KEY, patient int)"
        )
    raw.commit()
    write_sql = target.sql("INSERT INTO bench_floor_write (patient) VALUES (?)")

    def floor_history(p: int) -> list[Any]:
        cur = raw.cursor()
        rows = cur.execute(history_sql, (p,)).fetchall()
        cur.execute(write_sql, (p,))
        raw.commit()
        return rows  # type: ignore[no-any-return]

    # Measured as a running application has them: psycopg prepares a statement once a
    # connection has run it five times (its prepare_threshold), ours and the floor's
    # alike, and one warm-up call per patient (below) would leave the first patients'
    # medians planned afresh on the server each time.
    for _ in range(6):
        records.patient_history(clinic, SYSTEM, busiest[0])
        floor_history(busiest[0])
    pairs = [
        median_pair(
            lambda p=p: records.patient_history(clinic, SYSTEM, p),
            lambda p=p: floor_history(p),
            scale.runs,
        )
        for p in busiest
    ]
    worst_at = max(range(len(pairs)), key=lambda i: pairs[i][0])
    raw.close()
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
    worst_history, worst_floor = pairs[worst_at]
    floor_note = (
        f"floor: the same rows in one raw {target.driver} query, then one row inserted and "
        "committed (ours writes the audit entry of the view)"
    )
    if target.sqlite:  # #19 names no ratio here: the screen's 30 ms stands
        history = Result(
            "patient history (busiest 20 patients, worst median)",
            worst_history * 1e3,
            "ms",
            worst_floor * 1e3,
            "< 30 ms",
            worst_history < 0.030,
            f"{floor_note}; target as before, the ratio for information",
        )
    else:
        # #19: history within 1.5x of the psycopg floor. The ratio is taken over all 20
        # patients (the means of their medians): the pair whose ours was the worst of 20
        # is, on a loaded machine, also the one a scheduling stall hit, and its ratio says
        # more about the stall than about either side.
        ours_mean = statistics.fmean(a for a, _ in pairs)
        floor_mean = statistics.fmean(b for _, b in pairs)
        history = Result(
            "patient history (busiest 20 patients, mean of their medians)",
            ours_mean * 1e3,
            "ms",
            floor_mean * 1e3,
            "<= 1.5x floor",
            ours_mean <= 1.5 * floor_mean,
            f"{floor_note}; the worst median: {worst_history * 1e3:.1f} ms (floor "
            f"{worst_floor * 1e3:.1f} ms), under 30 ms: {'yes' if worst_history < 0.030 else 'no'}",
        )
    return [
        history,
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


def bench_exports(target: Target, scale: Scale, workdir: Path) -> list[Result]:
    from sqlalchemy import select

    from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
    from hms_desktop.services.files import exports
    from hms_desktop.services.files.exports import HISTORY_COLUMNS
    from hms_desktop.services.files.table_files import open_table
    from hms_desktop.services.scheduling.booking import VISIT_LABELS

    clinic = open_clinic_at(target.where)
    stmt = (
        select(
            Patient.id,
            Patient.full_name,
            Doctor.full_name,
            Appointment.day,
            Appointment.start_time,
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
    raw_sql = target.sql(
        "SELECT p.id, p.full_name, d.full_name, a.day, a.start_time, a.visit_type, t.symptoms, "
        "t.diagnosis, t.treatment_given, t.prescription, t.notes FROM treatments t "
        "JOIN appointments a ON a.id = t.appointment_id JOIN patients p ON p.id = a.patient_id "
        "JOIN doctors d ON d.id = a.doctor_id ORDER BY t.id LIMIT ?"
    )
    _ = Department

    def ours(fmt: str, rows: int) -> int:
        # The exports' own per-row path: Core streaming (exports.stream), the row
        # reshaped as export_history does, and exports.write_rows with a throttled
        # progress callback and a cancel check per row, as the export dialog runs it.
        target = workdir / f"ours.{fmt}"
        with clinic.db.read(streaming=True) as session, open(target, "wb") as out:
            writer = open_table(fmt, out, HISTORY_COLUMNS, "History")  # type: ignore[arg-type]
            cancelled = False
            with contextlib.closing(exports.stream(session, stmt.limit(rows))) as result:
                exports.write_rows(
                    writer,
                    (
                        (r[0], r[1], r[2], r[3], r[4], VISIT_LABELS.get(r[5], r[5]), *r[6:])
                        for r in result
                    ),
                    rows,
                    exports.throttled(lambda done, total: None),
                    lambda: cancelled,
                )
            writer.close()
        return writer.rows

    def floor_rows(conn: Any, rows: int) -> Any:
        if target.sqlite:
            return conn.execute(raw_sql, (rows,))
        # A server-side cursor fetched in the exports' batch size, as ours streams.
        cur = conn.cursor(name="floor_export")
        cur.itersize = exports.FETCH_BATCH
        cur.execute(raw_sql, (rows,))
        return cur

    def floor_csv(rows: int) -> int:
        conn = target.raw()
        if not target.sqlite:
            conn.autocommit = False
        with open(workdir / "floor.csv", "w", encoding="utf-8-sig", newline="") as out:
            w = csv.writer(out)
            w.writerow([c.header for c in HISTORY_COLUMNS])
            n = 0
            with contextlib.closing(floor_rows(conn, rows)) as cur:
                for row in cur:
                    w.writerow(row)
                    n += 1
        conn.close()
        return n

    def floor_xlsx(rows: int) -> int:
        from openpyxl import Workbook

        conn = target.raw()
        if not target.sqlite:
            conn.autocommit = False
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("History")
        ws.append([c.header for c in HISTORY_COLUMNS])
        n = 0
        with contextlib.closing(floor_rows(conn, rows)) as cur:
            for row in cur:
                ws.append(list(row))
                n += 1
        wb.save(workdir / "floor.xlsx")
        conn.close()
        return n

    runs = max(1, scale.runs - 2)
    csv_rows = ours("csv", scale.csv_rows)
    t_csv, f_csv = median_pair(
        lambda: ours("csv", scale.csv_rows), lambda: floor_csv(scale.csv_rows), runs, warmup=0
    )
    t_xlsx, f_xlsx = median_pair(
        lambda: ours("xlsx", scale.xlsx_rows), lambda: floor_xlsx(scale.xlsx_rows), runs, warmup=0
    )
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
            f"floor: raw {target.driver} cursor into csv.writer",
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


def bench_table(target: Target, scale: Scale) -> list[Result]:
    runs = [_probe("table", target.where) for _ in range(max(1, scale.runs - 2))]
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


def bench_ui_gap(target: Target, scale: Scale) -> list[Result]:
    r = _probe("export-gap", target.where, str(scale.ui_rows))
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


#: The steps measured on each database (the cold start and the UI gap are the desktop's).
STEPS = (
    "stats",
    "reports",
    "history",
    "exports",
    "table",
    "ui-gap",
    "cold-start",
    "book",
    "next-free",
)
PG_STEPS = ("stats", "reports", "history", "exports", "table", "book", "next-free")


def pg_base_url() -> str:
    return os.environ.get("HMS_TEST_DATABASE_URL") or DEFAULT_PG_URL


def run_all(
    scale: Scale,
    *,
    only: set[str] | None = None,
    database: str = "sqlite",
    base_url: str | None = None,
) -> list[Result]:
    db_cached = build(scale)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="hms-bench-") as tmp:
        work = Path(tmp)
        if database == "postgresql":
            from tests.benchmarks.pg_clinic import load

            target = Target("postgresql", load(scale, db_cached, base_url or pg_base_url()))
            names: tuple[str, ...] = PG_STEPS
        else:
            # Measure a copy: some measured paths write (history views are audited).
            db_path = work / "clinic.sqlite3"
            shutil.copyfile(db_cached, db_path)
            target = Target("sqlite", str(db_path))
            names = STEPS
        steps: dict[str, Callable[[], list[Result]]] = {
            "stats": lambda: bench_stats(target, scale),
            "reports": lambda: bench_reports(target, scale),
            "history": lambda: bench_history_and_search(target, scale),
            "exports": lambda: bench_exports(target, scale, work),
            "table": lambda: bench_table(target, scale),
            "ui-gap": lambda: bench_ui_gap(target, scale),
            "cold-start": lambda: bench_cold_start(scale),
            "book": lambda: _book_bench().bench_book(target.where, scale),
            "next-free": lambda: _book_bench().bench_free(target.where, scale),
        }
        for name in names:
            if only and name not in only:
                continue
            started = time.perf_counter()
            got = steps[name]()
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


# --- growth and RESULTS.md ------------------------------------------------------------


def replace_section(text: str, key: str, body: str) -> str:
    """``text`` with the block between ``<!-- key -->`` and ``<!-- /key -->`` replaced
    (appended when missing), so each run rewrites only its own section."""
    start, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        return text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    return text.rstrip() + "\n\n" + block + "\n"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="a few thousand rows instead of a million"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the clinic in a SQLite file, or on the PostgreSQL server at HMS_TEST_DATABASE_URL "
        "(loaded once with COPY into a schema of its own, hms_bench_<size>)",
    )
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="1m",
        help="1m: 3 years of 200 doctors; 5m: 15 years (the same clinic, five times as long)",
    )
    parser.add_argument("--only", action="append", help="run only this step (repeatable)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    scale = (SMOKE_GROWN if args.size == "5m" else SMOKE) if args.smoke else SIZES[args.size]
    print(
        f"HMS Desktop benchmarks on {args.database}, {scale.name} scale: {scale.doctors} doctors, "
        f"{scale.patients:,} patients, {scale.appointments:,} appointments",
        flush=True,
    )
    from tests.benchmarks.pg_clinic import schema_for

    load_before = load_average()
    results = run_all(scale, only=set(args.only) if args.only else None, database=args.database)
    load = f"{load_before} before, {load_average()} after"
    text = table_text(results)
    print()
    print(text)
    print(f"\nload average (1/5/15 min): {load}")
    if not args.no_write and not args.smoke and not args.only:
        title = "SQLite" if args.database == "sqlite" else "PostgreSQL"
        where = (
            "one SQLite file (a copy of the cached clinic)"
            if args.database == "sqlite"
            else "PostgreSQL 15 on this machine (same VM, over TCP to 127.0.0.1), schema "
            f"`{schema_for(scale)}` loaded with COPY; floors through raw psycopg 3"
        )
        body = (
            f"## {title}, {args.size.upper()} appointments\n\n"
            f"Measured {date.today():%Y-%m-%d} with `python -m tests.benchmarks --database "
            f"{args.database} --size {args.size}` on {machine()}; {where}. Load average "
            f"(1/5/15 min) {load}: the machine is shared by other engineers' test runs, so "
            f"ours and each floor run alternately (median of pairs). Clinic: {scale.doctors} "
            f"doctors, {scale.patients:,} patients, {scale.appointments:,} appointments over "
            f"{scale.days_back // 365} years.\n\n{text}\n"
        )
        current = (
            RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        )
        current = replace_section(current, f"bench:{args.database}-{args.size}", body)
        RESULTS.write_text(current, encoding="utf-8")
        print(f"\nwritten to {RESULTS}")
    missed = [r.name for r in results if r.met is False]
    return 1 if missed and not args.smoke else 0
