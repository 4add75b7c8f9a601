"""The appointment book's benchmarks: a day of 50 doctors from a date change to painted
(in a fresh Qt process, paging through the horizon: memory must stay flat), and the
next free time across the horizon."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks.clinic_builder import Scale
from tests.benchmarks.harness import Result, probe

#: Doctors side by side in the day view measured.
BOOK_DOCTORS = 50
#: Dates paged through (the horizon).
DAYS = 90


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def book_probe(db: str, days: int) -> dict[str, float]:
    """Run in a child process: page the book of 50 doctors through ``days`` dates."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.ui.booking.book.view import BookView
    from hms_desktop.ui.common.operations import Operations
    from tests.benchmarks.clinic_builder import NOW, open_clinic_at

    app = QApplication([])
    clinic = open_clinic_at(db)
    ops = Operations()
    view = BookView(clinic, SYSTEM, ops)
    from sqlalchemy import select

    from hms_desktop.db.models import Doctor

    with clinic.db.read() as session:
        ids = list(session.scalars(select(Doctor.id).order_by(Doctor.id).limit(BOOK_DOCTORS)))
    # The book reads on a worker thread: a date change is done when ``loaded`` arrives.
    arrived = QEventLoop()
    view.loaded.connect(arrived.quit)
    view.set_doctors(ids)
    arrived.exec()
    view.resize(1600, 900)
    view.show()
    app.processEvents()
    samples: list[float] = []
    rss_after_first: float | None = None
    visits = 0
    for i in range(days):
        day = NOW.date() + timedelta(days=i)
        start = time.perf_counter()
        view.set_date(day)
        arrived.exec()
        view.table.viewport().repaint()  # painted, not only scheduled
        view.table.horizontalHeader().viewport().repaint()
        samples.append((time.perf_counter() - start) * 1e3)
        visits = max(visits, len(view.model.blocks()))
        app.processEvents()
        if i == min(9, days - 1):
            rss_after_first = _rss_mb()
    columns = view.model.columnCount()
    view.close()
    ops.shutdown()
    clinic.close()
    return {
        "median_ms": statistics.median(samples),
        "worst_ms": max(samples),
        "columns": float(columns),
        "max_visits": float(visits),
        "rss_after_10_days_mb": rss_after_first or 0.0,
        "rss_end_mb": _rss_mb(),
    }


def bench_next_free(db_path: Path | str, runs: int) -> dict[str, Any]:
    """Median next free time per doctor and department from now, and the worst case: a
    doctor on leave for all but the last days of the horizon (read on a copy)."""
    from sqlalchemy import select

    from hms_desktop.db.models import Department, Doctor
    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.scheduling import book, hours
    from hms_desktop.services.scheduling.availability import last_bookable_day
    from tests.benchmarks.clinic_builder import open_clinic_at

    clinic = open_clinic_at(db_path)
    with clinic.db.read() as session:
        doctors = list(session.scalars(select(Doctor.id).order_by(Doctor.id).limit(20)))
        departments = list(session.scalars(select(Department.id).order_by(Department.id)))

    def timed(**kw: Any) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            book.next_free(clinic, **kw)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1e3

    per_doctor = max(timed(doctor_id=d) for d in doctors)
    per_department = max(timed(department_id=d) for d in departments)
    # The worst case: nothing free until the horizon's last week.
    far = doctors[-1]
    last = last_bookable_day(clinic) - timedelta(days=7)
    # After the booked week the demo leaves open; leave from then on.
    start = clinic.today() + timedelta(days=8)
    hours.take_leave(clinic, SYSTEM, far, start, last, "benchmark")
    found = book.next_free(clinic, doctor_id=far, after=start)
    worst = timed(doctor_id=far, after=start)
    clinic.close()
    return {
        "doctor_ms": per_doctor,
        "department_ms": per_department,
        "worst_ms": worst,
        "worst_found": str(found.date if found else None),
        "departments": len(departments),
    }


def bench_book(db_path: Path | str, scale: Scale) -> list[Result]:
    days = 7 if scale.name.startswith("smoke") else DAYS
    r = probe("book", str(db_path), str(days))
    growth = r["rss_end_mb"] - r["rss_after_10_days_mb"]
    return [
        Result(
            f"book day view, {int(r['columns'])} doctors: date change to painted",
            r["median_ms"],
            "ms",
            None,
            "< 100 ms",
            r["median_ms"] < 100,
            f"median over {days} dates (worst {r['worst_ms']:.0f} ms, up to "
            f"{int(r['max_visits'])} visits a day); model, spans and paint",
        ),
        Result(
            f"book: memory growth paging {days} dates",
            max(growth, 0.001),
            "MB",
            None,
            "< 20 MB",
            growth < 20,
            f"RSS after 10 dates {r['rss_after_10_days_mb']:.0f} MB, at the end "
            f"{r['rss_end_mb']:.0f} MB",
        ),
    ]


def bench_free(db_path: Path | str, scale: Scale) -> list[Result]:
    r = bench_next_free(db_path, scale.runs)
    worst = max(r["doctor_ms"], r["department_ms"], r["worst_ms"])
    return [
        Result(
            "next free time across the horizon (worst case)",
            worst,
            "ms",
            None,
            "< 50 ms",
            worst < 50,
            f"20 doctors and {r['departments']} departments from now: worst median "
            f"{max(r['doctor_ms'], r['department_ms']):.1f} ms; a doctor on leave until the "
            f"horizon's last week: {r['worst_ms']:.1f} ms (found {r['worst_found']})",
        ),
    ]
