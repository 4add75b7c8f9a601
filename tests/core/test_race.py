"""Two OS processes race for the same 20 slots: exactly one wins each, the other hears "taken"."""

from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hms_desktop.db.models import Appointment
from hms_desktop.services.clinic import Clinic
from tests import factories as f
from tests.core.race_worker import Outcome, book_slots

SLOTS = [f"{8 + i // 2:02d}:{30 * (i % 2):02d}" for i in range(20)]  # 08:00 ... 17:30


@pytest.mark.slow
def test_two_processes_racing_for_20_slots(clinic: Clinic) -> None:
    dept = f.department(clinic)
    doctor = f.doctor(clinic, dept)
    patients = [f.patient(clinic), f.patient(clinic)]
    day = clinic.today() + timedelta(days=1)
    f.open_day(clinic, doctor, day, "08:00", "18:00")

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=book_slots,
            args=(
                clinic.db.url,
                clinic.now().isoformat(),
                clinic.settings.timezone,
                pid,
                doctor,
                day.isoformat(),
                SLOTS,
                start,
                results,
            ),
        )
        for pid in patients
    ]
    began = time.monotonic()
    for proc in procs:
        proc.start()
    by_patient: dict[int, list[Outcome]] = {}
    try:
        for _ in procs:
            pid, outcomes = results.get(timeout=120)
            by_patient[pid] = outcomes
    finally:
        for proc in procs:
            proc.join(timeout=30)
    elapsed = time.monotonic() - began
    assert [proc.exitcode for proc in procs] == [0, 0]

    errors = [o for outcomes in by_patient.values() for o in outcomes if o[0] == "error"]
    assert errors == []  # no "database is locked", no IntegrityError leaking through
    winners = {
        at: pid for pid, outcomes in by_patient.items() for r, at, _ in outcomes if r == "won"
    }
    losers = [
        (at, msg) for outcomes in by_patient.values() for r, at, msg in outcomes if r == "taken"
    ]
    assert sorted(winners) == sorted(SLOTS)  # every slot was won...
    assert len(losers) == 20  # ...exactly once: the other process lost each one
    assert all("was just taken" in msg for _, msg in losers), losers
    with clinic.db.read() as session:
        rows = session.execute(
            select(Appointment.start_time, Appointment.patient_id, Appointment.status)
        ).all()
        assert session.scalar(select(func.count()).select_from(Appointment)) == 20
    assert {(f"{t:%H:%M}", pid, status) for t, pid, status in rows} == {
        (at, pid, "booked") for at, pid in winners.items()
    }
    print(
        f"race: {len(winners)} slots; wins per process "
        f"{sorted(sum(1 for r, *_ in o if r == 'won') for o in by_patient.values())}; "
        f"{elapsed:.1f}s"
    )
