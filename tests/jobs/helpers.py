"""Builders for job tests: appointments on chosen days, made through the real services."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import booking
from tests import factories
from tests.conftest import CLINIC_TZ


def at(day: date, hhmm: str = "00:00") -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=CLINIC_TZ)


def book_on(
    clinic: Clinic,
    clock: FakeClock,
    doctor_id: int,
    patient_ids: list[int],
    day: date,
    *,
    start: str = "09:00",
) -> list[int]:
    """Book one slot per patient on ``day`` (the clock is moved to the day before and back)."""
    keep = clock.now()
    clock.set(at(day - timedelta(days=1), "08:00"))
    factories.open_day(clinic, doctor_id, day, start, "17:00" if start < "16:00" else "23:59")
    ids = []
    hour, minute = (int(p) for p in start.split(":"))
    for i, patient_id in enumerate(patient_ids):
        slot = minute + 30 * i
        ids.append(
            booking.book(
                clinic,
                SYSTEM,
                patient_id=patient_id,
                doctor_id=doctor_id,
                day=day,
                at=time(hour + slot // 60, slot % 60),
            )
        )
    clock.set(keep)
    return ids


def close_visit(clinic: Clinic, appointment_id: int, status: str, *, treat: str = "") -> None:
    booking.set_status(clinic, SYSTEM, appointment_id, status)
    if treat:
        records.record_treatment(
            clinic,
            SYSTEM,
            appointment_id,
            records.TreatmentForm(diagnosis=treat, treatment_given="rest"),
        )


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll ``predicate`` (the scheduler works on its own thread) until true or time out."""
    deadline = _time.monotonic() + timeout
    while _time.monotonic() < deadline:
        if predicate():
            return
        _time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def scheduler_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name == "APScheduler" or t.name.startswith("ThreadPoolExecutor")
    ]
