"""Qt measurements, each in a fresh process so memory and start-up are its own.

``python -m tests.benchmarks.qt_probe table DB`` opens the all-appointments table
model and prints JSON with the time to the first rows and the process's memory.
``python -m tests.benchmarks.qt_probe export-gap DB ROWS`` exports ROWS appointments
through the operation helper while a 5 ms timer runs on the UI thread, and prints
the largest gap between its ticks.
``python -m tests.benchmarks.qt_probe bare`` shows a bare PySide6 window and quits.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def table(db: str) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication, QTableView

    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.scheduling import booking
    from hms_desktop.services.scheduling.booking import AppointmentFilter
    from hms_desktop.ui.admin.appointments_view import APPOINTMENT_COLUMNS
    from hms_desktop.ui.common.table_models import PagedTableModel
    from tests.benchmarks.clinic_builder import open_clinic_at

    app = QApplication([])
    clinic = open_clinic_at(db)
    rss_before = _rss_mb()
    results = {}
    for label, flt in (
        ("all, oldest first", AppointmentFilter()),
        ("all, newest first", AppointmentFilter(newest_first=True)),
    ):
        start = time.perf_counter()
        model = PagedTableModel(
            APPOINTMENT_COLUMNS,
            lambda offset, limit, f=flt: booking.list_appointments(
                clinic, SYSTEM, f, offset=offset, limit=limit
            ),
            page_size=200,
        )
        view = QTableView()
        view.resize(1200, 700)
        view.setModel(model)
        if model.rowCount() == 0 and model.canFetchMore():
            model.fetchMore()
        view.show()
        app.processEvents()
        results[label] = (time.perf_counter() - start) * 1e3
        assert model.rowCount() > 0
        view.close()
        view.deleteLater()
    app.processEvents()
    clinic.close()
    return {
        "first_rows_ms": max(results.values()),
        "oldest_first_ms": results["all, oldest first"],
        "newest_first_ms": results["all, newest first"],
        "rss_mb": _rss_mb(),
        "rss_before_mb": rss_before,
    }


def export_gap(db: str, rows: int) -> dict[str, float]:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.files import exports
    from hms_desktop.services.scheduling.booking import AppointmentFilter
    from hms_desktop.ui.common.operations import OpContext, Operations
    from tests.benchmarks.clinic_builder import open_clinic_at

    app = QApplication([])
    clinic = open_clinic_at(db)
    ops = Operations()
    target = Path(tempfile.mkdtemp()) / "appointments.xlsx"
    clock = QElapsedTimer()
    clock.start()
    gaps: list[int] = []
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    done: dict[str, object] = {}
    # A date range that holds about ``rows`` appointments, ending with the newest.
    raw = sqlite3.connect(db)
    found = raw.execute(
        "SELECT day FROM appointments ORDER BY day DESC LIMIT 1 OFFSET ?", (rows,)
    ).fetchone()
    raw.close()
    flt = AppointmentFilter(date_from=date.fromisoformat(found[0]) if found else None)

    def work(ctx: OpContext) -> object:
        return exports.export_appointments(
            clinic,
            SYSTEM,
            flt,
            target,
            "xlsx",
            progress=ctx.report,
            should_cancel=lambda: ctx.cancelled,
        )

    started = time.perf_counter()
    op = ops.run(
        work,
        on_success=lambda r: done.setdefault("ok", r),
        on_failure=lambda e: done.setdefault("err", e),
        on_cancelled=lambda: done.setdefault("cancelled", True),
    )
    op.finished.connect(app.quit)
    timer.start()
    app.exec()
    timer.stop()
    seconds = time.perf_counter() - started
    ops.shutdown()
    clinic.close()
    if "err" in done:
        raise RuntimeError(f"export failed: {done['err']!r}")
    result = done.get("ok")
    return {
        "max_gap_ms": float(max(gaps[1:] or [0])),
        "ticks": float(len(gaps)),
        "seconds": seconds,
        "rows": float(getattr(result, "rows", 0)),
    }


def bare() -> dict[str, float]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication([])
    window = QMainWindow()
    window.resize(1280, 800)
    window.show()
    QTimer.singleShot(0, app.quit)
    app.exec()
    return {}


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "table":
        out = table(sys.argv[2])
    elif kind == "export-gap":
        out = export_gap(sys.argv[2], int(sys.argv[3]))
    elif kind == "book":
        from tests.benchmarks.book_bench import book_probe

        out = book_probe(sys.argv[2], int(sys.argv[3]))
    else:
        out = bare()
    print(json.dumps(out))
