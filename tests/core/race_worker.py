"""The child side of the multi-process tests (imported by 'spawn'ed processes)."""

from __future__ import annotations

from datetime import date, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from zoneinfo import ZoneInfo

from sqlalchemy import text

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.errors import SlotTakenError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.scheduling import booking

Outcome = tuple[str, str, str]  # (result, HH:MM, message)


def book_slots(
    url: str,
    clock_start: str,
    timezone: str,
    patient_id: int,
    doctor_id: int,
    day: str,
    times: list[str],
    start: Barrier,
    results: Queue[tuple[int, list[Outcome]]],
) -> None:
    """Open the clinic, wait for the other process, then book every slot as fast as possible."""
    tz = ZoneInfo(timezone)
    # The clinic's zone and grid are in the database the parent set up.
    clinic = Clinic(
        db=Database(url),
        pc=Settings(database_url=url),
        clock=FakeClock(datetime.fromisoformat(clock_start), tz),
    )
    desk = Actor(user_id=None, username=f"desk-{patient_id}", role="receptionist")
    outcomes: list[Outcome] = []
    try:
        with clinic.db.read() as session:  # connect before the start line, not after it
            session.execute(text("SELECT 1"))
        start.wait(timeout=60)
        for at in times:
            try:
                booking.book(
                    clinic,
                    desk,
                    patient_id=patient_id,
                    doctor_id=doctor_id,
                    day=date.fromisoformat(day),
                    at=at,
                )
                outcomes.append(("won", at, ""))
            except SlotTakenError as err:
                outcomes.append(("taken", at, str(err)))
            except Exception as err:  # reported to the parent, which fails the test
                outcomes.append(("error", at, f"{type(err).__name__}: {err}"))
    finally:
        results.put((patient_id, outcomes))
        clinic.close()


def book_times(
    url: str,
    clock_start: str,
    label: str,
    patient_id: int,
    doctor_id: int,
    day: str,
    times: list[str],
    minutes: int,
    start: Barrier,
    results: Queue[tuple[str, list[Outcome]]],
) -> None:
    """Like :func:`book_slots` for visits of ``minutes`` that may overlap another's."""
    clinic = Clinic(
        db=Database(url),
        pc=Settings(database_url=url),
        clock=FakeClock(datetime.fromisoformat(clock_start)),
    )
    desk = Actor(user_id=None, username=f"desk-{label}", role="receptionist")
    outcomes: list[Outcome] = []
    try:
        with clinic.db.read() as session:
            session.execute(text("SELECT 1"))
        start.wait(timeout=60)
        for at in times:
            try:
                booking.book(
                    clinic, desk, patient_id=patient_id, doctor_id=doctor_id,
                    day=date.fromisoformat(day), at=at, minutes=minutes,
                )  # fmt: skip
                outcomes.append(("won", at, ""))
            except SlotTakenError as err:
                outcomes.append(("taken", at, str(err)))
            except Exception as err:  # reported to the parent, which fails the test
                outcomes.append(("error", at, f"{type(err).__name__}: {err}"))
    finally:
        results.put((label, outcomes))
        clinic.close()


def migrate(url: str, start: Barrier, results: Queue[tuple[str, str]]) -> None:
    """Wait for the other process, then run the schema upgrade on the same new database."""
    db = Database(url)
    try:
        start.wait(timeout=60)
        try:
            state = upgrade(db)
            results.put(("ok", state.current or ""))
        except Exception as err:
            results.put(("error", f"{type(err).__name__}: {err}"))
    finally:
        db.dispose()
