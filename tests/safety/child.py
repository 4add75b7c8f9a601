"""A child process for the crash tests: does one kind of write in a loop until killed.

Run as ``python -m tests.safety.child MODE URL``. After each operation has
returned successfully (its transaction committed, its file renamed into place) it
prints one line, flushed, so the parent knows exactly which operations were
reported as done before it sent SIGKILL.

Modes:
    book      book appointments, one slot after another; prints the appointment id
    register  register patients one by one through the services; prints patient ids
    demo      bulk-load demo data again and again (append); prints the patients added
    export    export all appointments to OUTDIR/export-<n>.csv|.xlsx; prints n
    reminders run the reminder job (queue, then send by SMTP to 127.0.0.1:PORT); prints
              "done" when the run returns (the parent watches the SMTP server instead)
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.availability import slot_starts
from tests.factories import set_settings

# tests.conftest's clock start, repeated: importing it would load pytest into every child
# (test_kill checks that the two agree).
CLINIC_TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 6, 15, 9, 0, tzinfo=CLINIC_TZ)

#: The slot length the crash tests use, so one day holds many slots.
SLOT_MINUTES = 5
DAY_WINDOW = ("00:00", "23:55")


def open_child_clinic(url: str) -> Clinic:
    clinic = Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(START))
    clinic_settings.seed(clinic, {"timezone": str(CLINIC_TZ), "slot_minutes": SLOT_MINUTES})
    return clinic


def book_loop(clinic: Clinic, doctor_id: int, patient_id: int, days: list[date]) -> None:
    start, end = (time.fromisoformat(t) for t in DAY_WINDOW)
    for day in days:
        for at in slot_starts(start, end, SLOT_MINUTES):
            # Each visit fills one 5-minute slot exactly, so the next slot is free.
            appt = booking.book(
                clinic, SYSTEM, patient_id=patient_id, doctor_id=doctor_id, day=day, at=at,
                minutes=SLOT_MINUTES,
            )  # fmt: skip
            print(appt, flush=True)


def register_loop(clinic: Clinic) -> None:
    n = 0
    while True:
        n += 1
        form = patients.PatientForm(
            full_name=f"Bulk Patient {n}",
            phone=f"+49 30 {n:07d}",
            email=f"bulk{n}@mail.test",
            address="Street 1\nBerlin",
        )
        print(patients.register_patient(clinic, SYSTEM, form), flush=True)


#: One demo bulk load: small enough to repeat, large enough to be killed in the middle.
DEMO_DOCTORS, DEMO_PATIENTS = 2, 100


def demo_loop(clinic: Clinic) -> None:
    from hms_desktop.services.demo import generator as demo_data

    seed = 0
    while True:
        summary = demo_data.generate(
            clinic, seed=seed, doctors=DEMO_DOCTORS, patients=DEMO_PATIENTS, append=seed > 0
        )
        print(summary.patients, flush=True)
        seed += 1


def export_loop(clinic: Clinic, folder: Path) -> None:
    from hms_desktop.services.files import exports

    n = 0
    while True:
        suffix = "csv" if n % 2 == 0 else "xlsx"
        exports.export_appointments(
            clinic, SYSTEM, booking.AppointmentFilter(), folder / f"export-{n}.{suffix}"
        )
        print(n, flush=True)
        n += 1


def reminder_clinic(url: str, port: int) -> Clinic:
    """The settings the reminder kill test uses, in the child and in the parent alike."""
    clinic = open_child_clinic(url)
    set_settings(
        clinic,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        smtp_from="desk@clinic.test",
        reminder_lead="day_before",
        reminder_time="08:00",
    )
    return clinic


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    clinic = open_child_clinic(url)
    if mode == "book":
        doctor_id, patient_id = int(argv[2]), int(argv[3])
        first = START.date() + timedelta(days=1)
        book_loop(clinic, doctor_id, patient_id, [first + timedelta(days=i) for i in range(6)])
    elif mode == "register":
        register_loop(clinic)
    elif mode == "demo":
        demo_loop(clinic)
    elif mode == "export":
        export_loop(clinic, Path(argv[2]))
    elif mode == "reminders":
        from hms_desktop.jobs.runner import run_job

        result = run_job(reminder_clinic(url, int(argv[2])), "reminders", trigger="manual")
        print("done", result.status, flush=True)
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
