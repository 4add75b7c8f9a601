"""The eight-desks benchmark at a small size: three desks for a few seconds, on each database.

No timing is asserted; the invariants are. Desks racing for the same free times must
see nothing but "taken", no doctor or patient may end up with overlapping visits, and
the rows booked must be exactly the bookings the desks reported.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, select, text

from hms_desktop.db.models import Appointment
from hms_desktop.errors import DatabaseUnavailableError, SlotTakenError, ValidationError
from tests.benchmarks import desks

pytestmark = pytest.mark.slow


def test_three_desks_book_at_once_and_see_only_taken(database_url: str) -> None:
    desks.build_clinic(database_url, desks.SMOKE)
    results = desks.measure(database_url, desks=3, seconds=2.0, rounds=1, log=False)
    (ours, verdict), (floor, _) = results
    assert ours.kind == "ours" and floor.kind == "floor"
    assert ours.done > 0, ours.errors
    assert not ours.defects, desks.describe(ours, verdict)
    assert verdict is not None
    assert verdict.doctor_overlaps == 0 and verdict.patient_overlaps == 0
    assert verdict.booked_rows == ours.done == len(ours.ids)
    assert verdict.missing_ids == 0
    # One audit entry per booking, and the chain the desks appended to at once holds.
    assert verdict.audit_entries == ours.done
    assert verdict.audit_chain.startswith("ok"), verdict.audit_chain
    assert len(ours.latencies) == ours.done
    assert floor.done > 0 and not floor.errors, desks.describe(floor, None)
    # The floor's rows were removed again: only the desks' bookings are left after the run.
    assert desks.max_appointment_id(database_url) == max(ours.ids)


def test_the_check_notices_a_reported_booking_that_is_not_there(database_url: str) -> None:
    desks.build_clinic(database_url, desks.SMOKE)
    before = desks.max_appointment_id(database_url)
    claimed = desks.RunResult(
        database="", kind="ours", desks=1, seconds=1.0, done=1, latencies=[0.01],
        errors=Counter(), tracebacks={}, load_before=0.0, load_after=0.0, ids=[before + 1],
    )  # fmt: skip
    verdict = desks.check(database_url, before, claimed)
    assert not verdict.ok
    assert verdict.booked_rows == 0 and verdict.missing_ids == 1


def test_the_check_counts_overlapping_live_visits(database_url: str) -> None:
    """Were the database's overlap guard gone, the check would still see the overlap.

    The guard is dropped inside a transaction that is rolled back (DDL is transactional
    on both databases), so the schema is left as it was.
    """
    desks.build_clinic(database_url, desks.SMOKE)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin() as tx:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER tr_appointments_overlap_insert")
            else:
                conn.exec_driver_sql(
                    "ALTER TABLE appointments DROP CONSTRAINT ex_appointments_doctor_overlap"
                )
            before = int(conn.scalar(text("SELECT max(id) FROM appointments")) or 0)
            row = conn.execute(
                select(Appointment.__table__)
                .where(Appointment.status == "booked", ~Appointment.overbooked)
                .order_by(Appointment.id.desc())
                .limit(1)
            ).one()
            other_patient = conn.scalar(
                text("SELECT max(id) FROM patients WHERE id != :p"), {"p": row.patient_id}
            )
            assert desks.overlaps(conn, before - 1) == (0, 0)
            # The same doctor, another patient, five minutes into the live visit.
            later = (datetime.combine(row.day, row.start_time) + timedelta(minutes=5)).time()
            copy = {
                k: v for k, v in row._mapping.items() if k not in ("id", "start_time", "patient_id")
            }
            conn.execute(
                insert(Appointment).values(**copy, start_time=later, patient_id=other_patient)
            )
            assert desks.overlaps(conn, before) == (1, 0)
            tx.rollback()
    finally:
        engine.dispose()


def test_only_taken_is_an_allowed_error() -> None:
    assert desks.classify(SlotTakenError("That time was just taken: ...")) == desks.TAKEN
    assert desks.classify(SlotTakenError("The patient already has an appointment then")) == (
        desks.TAKEN_PATIENT
    )
    locked = desks.classify(DatabaseUnavailableError("The clinic database is busy"))
    bad_time = desks.classify(ValidationError("09:00 is in the past."))
    run = desks.RunResult(
        database="", kind="ours", desks=1, seconds=1.0, done=0, latencies=[],
        errors=Counter({desks.TAKEN: 3, locked: 1, bad_time: 1}), tracebacks={},
        load_before=0.0, load_after=0.0,
    )  # fmt: skip
    assert set(run.defects) == {locked, bad_time}
