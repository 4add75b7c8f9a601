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
from tests.core.race_worker import Outcome, book_slots, book_times

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
    assert all("already has a visit" in msg or "was just taken" in msg for _, msg in losers), losers
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


HOURS = [f"{h:02d}" for h in range(8, 18)]


def _race_overlaps(
    clinic: Clinic, runs: list[tuple[str, int, int, list[str]]], day: str
) -> dict[str, list[Outcome]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(runs))
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=book_times,
            args=(
                clinic.db.url,
                clinic.now().isoformat(),
                label,
                patient,
                doctor,
                day,
                times,
                30,
                start,
                results,
            ),
        )
        for label, patient, doctor, times in runs
    ]
    for proc in procs:
        proc.start()
    by_label: dict[str, list[Outcome]] = {}
    try:
        for _ in procs:
            label, outcomes = results.get(timeout=120)
            by_label[label] = outcomes
    finally:
        for proc in procs:
            proc.join(timeout=30)
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    return by_label


def _one_winner_per_hour(by_label: dict[str, list[Outcome]], name: str) -> None:
    errors = [o for outcomes in by_label.values() for o in outcomes if o[0] == "error"]
    assert errors == []
    for hour in HOURS:
        results = [o for outcomes in by_label.values() for o in outcomes if o[1][:2] == hour]
        assert sorted(r for r, _, _ in results) == ["taken", "won"], (hour, results)
        lost = next(m for r, _, m in results if r == "taken")
        assert (
            f"{name} already has a visit at {hour}:" in lost  # the doctor's visit
            or f"overlaps {name} at {hour}:" in lost  # the patient's own
        ), lost


@pytest.mark.slow
def test_two_processes_racing_for_overlapping_times_of_one_doctor(clinic: Clinic) -> None:
    """09:00-09:30 against 09:15-09:45 with one doctor: one wins, one hears who."""
    dept = f.department(clinic)
    doctor = f.doctor(clinic, dept, "Dr. Grace Hopper")
    first, second = f.patient(clinic), f.patient(clinic)
    day = clinic.today() + timedelta(days=1)
    f.set_settings(clinic, slot_minutes=15)
    f.open_day(clinic, doctor, day, "08:00", "18:00")
    by_label = _race_overlaps(
        clinic,
        [
            ("a", first, doctor, [f"{h}:00" for h in HOURS]),
            ("b", second, doctor, [f"{h}:15" for h in HOURS]),
        ],
        day.isoformat(),
    )
    _one_winner_per_hour(by_label, "Dr. Grace Hopper")
    with clinic.db.read() as session:
        rows = session.execute(select(Appointment.start_time, Appointment.end_time)).all()
    assert len(rows) == len(HOURS)
    assert all((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) == 30 for s, e in rows)


@pytest.mark.slow
def test_two_processes_racing_for_overlapping_times_of_one_patient(clinic: Clinic) -> None:
    """One patient booked with two doctors at 09:00 and 09:15: one booking wins."""
    dept = f.department(clinic)
    doctor_a, doctor_b = f.doctor(clinic, dept), f.doctor(clinic, dept)
    patient = f.patient(clinic, "Ada Byron")
    day = clinic.today() + timedelta(days=1)
    f.set_settings(clinic, slot_minutes=15)
    f.open_day(clinic, doctor_a, day, "08:00", "18:00")
    f.open_day(clinic, doctor_b, day, "08:00", "18:00")
    by_label = _race_overlaps(
        clinic,
        [
            ("a", patient, doctor_a, [f"{h}:00" for h in HOURS]),
            ("b", patient, doctor_b, [f"{h}:15" for h in HOURS]),
        ],
        day.isoformat(),
    )
    _one_winner_per_hour(by_label, "Ada Byron")
