"""Booking: book, reschedule, cancel; the rules, the database constraints, the status machine."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hms_desktop.db.models import Appointment, AuditEntry
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    SlotTakenError,
    ValidationError,
    WritesCrossedError,
)
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import doctors, patients
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from tests import factories as f


def _book(
    w: f.World,
    at: str = "09:00",
    *,
    patient: int | None = None,
    doctor: int | None = None,
    day: object = None,
    **kw: object,
) -> int:
    return booking.book(
        w.clinic,
        f.RECEPTION,
        patient_id=patient or w.patient_id,
        doctor_id=doctor or w.doctor_id,
        day=day or w.day,  # type: ignore[arg-type]
        at=at,
        **kw,  # type: ignore[arg-type]
    )


def _live_count(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.status != "cancelled")
            )
            or 0
        )


def test_book_reschedule_cancel(clinic: Clinic, world: f.World) -> None:
    appt = _book(world, "09:30", visit_type="follow_up", reason=" knee \x07pain ")
    row = booking.get_appointment(clinic, f.RECEPTION, appt)
    assert (row.date, row.time, row.doctor_id, row.patient_id, row.status) == (
        world.day,
        time(9, 30),
        world.doctor_id,
        world.patient_id,
        "booked",
    )
    assert (row.visit_type, row.reason, row.doctor, row.patient) == (
        "follow_up",
        "knee pain",
        "Dr. Ada Lovelace",
        "José Núñez",
    )
    booking.reschedule(
        clinic, f.RECEPTION, appt, day=world.day, at="11:00", doctor_id=world.other_doctor_id
    )
    row = booking.get_appointment(clinic, f.RECEPTION, appt)
    assert (row.time, row.doctor_id) == (time(11, 0), world.other_doctor_id)
    # The old slot is free again, the new one is not.
    assert time(9, 30) in {
        s.time for s in availability.free_slots(clinic, world.doctor_id, world.day)
    }
    assert time(11, 0) not in {
        s.time for s in availability.free_slots(clinic, world.other_doctor_id, world.day)
    }
    booking.cancel(clinic, f.RECEPTION, appt)
    assert booking.get_appointment(clinic, f.RECEPTION, appt).status == "cancelled"
    # A cancelled appointment frees the slot for anyone.
    again = _book(world, "11:00", doctor=world.other_doctor_id, patient=world.other_patient_id)
    assert again != appt
    assert booking.count_appointments(clinic, f.RECEPTION) == 2
    assert [
        r.id
        for r in booking.list_appointments(
            clinic, f.RECEPTION, AppointmentFilter(statuses=("booked",))
        )
    ] == [again]


def test_no_booking_in_the_past(clinic: Clinic, world: f.World, clock: FakeClock) -> None:
    today = clinic.today()  # 09:00 on the fake clock
    f.open_day(clinic, world.doctor_id, today, "08:00", "12:00")
    for at in ("08:30", "09:00"):
        with pytest.raises(ValidationError, match="in the past") as err:
            _book(world, at, day=today)
        assert err.value.field == "date"
    assert booking.get_appointment(clinic, f.RECEPTION, _book(world, "09:30", day=today))
    with pytest.raises(ValidationError, match="in the past"):
        _book(world, "10:00", day=today - timedelta(days=1))
    # Rescheduling into the past is refused as well.
    appt = _book(world, "10:00", day=world.day)
    clock.advance(hours=2)  # 11:00 today
    with pytest.raises(ValidationError, match="in the past"):
        booking.reschedule(clinic, f.RECEPTION, appt, day=today, at="10:30")
    assert _live_count(clinic) == 2


@pytest.mark.parametrize(
    ("at", "day_offset", "message"),
    [
        ("13:00", 1, "does not see patients"),  # after the window
        ("12:00", 1, "does not see patients"),  # the window's end is not a slot start
        ("09:15", 1, "does not see patients"),  # not on the slot grid
        ("09:00", 2, "does not see patients"),  # no window that day
        ("9.00", 1, "HH:MM"),
    ],
)
def test_no_booking_outside_availability(
    clinic: Clinic, world: f.World, at: str, day_offset: int, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _book(world, at, day=clinic.today() + timedelta(days=day_offset))
    assert _live_count(clinic) == 0


def test_no_booking_with_a_blacklisted_doctor_or_patient(clinic: Clinic, world: f.World) -> None:
    appt = _book(world, "09:00")
    doctors.set_blacklisted(clinic, SYSTEM, world.doctor_id, True)
    with pytest.raises(ValidationError, match="not taking bookings") as err:
        _book(world, "10:00")
    assert err.value.field == "doctor_id"
    # Nor may an existing booking be moved to a blacklisted doctor.
    other = _book(world, "10:00", doctor=world.other_doctor_id)
    with pytest.raises(ValidationError, match="not taking bookings"):
        booking.reschedule(
            clinic, f.RECEPTION, other, day=world.day, at="11:00", doctor_id=world.doctor_id
        )
    doctors.set_blacklisted(clinic, SYSTEM, world.doctor_id, False)
    patients.set_blacklisted(clinic, SYSTEM, world.patient_id, True)
    with pytest.raises(ValidationError, match="blacklisted") as err:
        _book(world, "11:00")
    assert err.value.field == "patient_id"
    assert _live_count(clinic) == 2
    assert booking.get_appointment(clinic, f.RECEPTION, appt).status == "booked"


def test_unknown_doctor_patient_or_visit_type(clinic: Clinic, world: f.World) -> None:
    with pytest.raises(NotFoundError):
        _book(world, doctor=9999)
    with pytest.raises(NotFoundError):
        _book(world, patient=9999)
    with pytest.raises(ValidationError, match="Visit type"):
        _book(world, visit_type="spa_day")
    with pytest.raises(NotFoundError):
        booking.cancel(clinic, f.RECEPTION, 9999)


def test_a_taken_slot_and_a_double_booked_patient_give_slot_taken(
    clinic: Clinic, world: f.World
) -> None:
    first = _book(world, "09:00")
    with pytest.raises(SlotTakenError, match="already has a visit"):
        _book(world, "09:00", patient=world.other_patient_id)
    with pytest.raises(SlotTakenError, match="patient already has an appointment"):
        _book(world, "09:00", doctor=world.other_doctor_id)
    # Rescheduling into a taken slot is refused the same way.
    second = _book(world, "10:00", patient=world.other_patient_id)
    with pytest.raises(SlotTakenError):
        booking.reschedule(clinic, f.RECEPTION, second, day=world.day, at="09:00")
    third = _book(world, "11:00", doctor=world.other_doctor_id)
    with pytest.raises(SlotTakenError, match="patient already"):
        booking.reschedule(clinic, f.RECEPTION, third, day=world.day, at="09:00")
    # Moving to the very same slot is not a clash with itself.
    booking.reschedule(clinic, f.RECEPTION, first, day=world.day, at="09:00")
    assert _live_count(clinic) == 3


def _raw_appointment(
    w: f.World, *, patient: int, doctor: int, status: str = "booked"
) -> Appointment:
    return Appointment(
        doctor_id=doctor,
        patient_id=patient,
        day=w.day,
        start_time=time(9, 0),
        end_time=time(9, 30),
        visit_type="consultation",
        status=status,
    )


def test_the_database_itself_refuses_a_second_live_appointment(
    clinic: Clinic, world: f.World
) -> None:
    with clinic.db.write() as session:
        session.add(_raw_appointment(world, patient=world.patient_id, doctor=world.doctor_id))
    # Same doctor and slot, bypassing the service: the partial unique index refuses it.
    with pytest.raises(IntegrityError), clinic.db.write() as session:
        session.add(_raw_appointment(world, patient=world.other_patient_id, doctor=world.doctor_id))
    # Same patient and time with another doctor: refused too.
    with pytest.raises(IntegrityError), clinic.db.write() as session:
        session.add(_raw_appointment(world, patient=world.patient_id, doctor=world.other_doctor_id))
    # Cancelled appointments do not occupy the slot, however many there are.
    with clinic.db.write() as session:
        session.add(
            _raw_appointment(
                world, patient=world.other_patient_id, doctor=world.doctor_id, status="cancelled"
            )
        )
        session.add(
            _raw_appointment(
                world, patient=world.other_patient_id, doctor=world.doctor_id, status="cancelled"
            )
        )
    with clinic.db.write() as session:
        session.execute(
            update(Appointment).where(Appointment.status == "booked").values(status="cancelled")
        )
    with clinic.db.write() as session:
        session.add(_raw_appointment(world, patient=world.other_patient_id, doctor=world.doctor_id))
    assert _live_count(clinic) == 1
    # An unknown status is refused by the database as well.
    with pytest.raises(IntegrityError), clinic.db.write() as session:
        session.add(
            _raw_appointment(
                world, patient=world.patient_id, doctor=world.doctor_id, status="maybe"
            )
        )


def test_status_moves_only_from_booked(clinic: Clinic, world: f.World, clock: FakeClock) -> None:
    done, gone, missed, cancelled = (
        _book(world, at) for at in ("09:00", "09:30", "10:00", "10:30")
    )
    with pytest.raises(ValidationError, match="from that day on"):
        booking.complete(clinic, f.RECEPTION, done)  # the visit is tomorrow
    booking.cancel(clinic, f.RECEPTION, cancelled)
    clock.advance(days=1, hours=2)
    booking.complete(clinic, f.RECEPTION, done)
    booking.set_status(clinic, f.RECEPTION, missed, "no_show")
    booking.set_status(clinic, f.RECEPTION, gone, "cancelled")
    statuses = {r.id: r.status for r in booking.list_appointments(clinic, f.RECEPTION)}
    assert statuses == {
        done: "completed",
        gone: "cancelled",
        missed: "no_show",
        cancelled: "cancelled",
    }
    for appt in (done, gone, missed):
        for status in ("completed", "cancelled", "no_show"):
            with pytest.raises(ConflictError, match="only a booked"):
                booking.set_status(clinic, f.RECEPTION, appt, status)
        with pytest.raises(ConflictError, match="Only a booked appointment can be moved"):
            booking.reschedule(clinic, f.RECEPTION, appt, day=world.day, at="11:30")
    for bad in ("booked", "done", ""):
        with pytest.raises(ValidationError, match="completed, cancelled or no-show"):
            booking.set_status(clinic, f.RECEPTION, done, bad)
    assert {r.id: r.status for r in booking.list_appointments(clinic, f.RECEPTION)} == statuses


def test_list_filters(clinic: Clinic, world: f.World) -> None:
    a = _book(world, "09:00")
    b = _book(world, "09:30", doctor=world.other_doctor_id, patient=world.other_patient_id)
    c = _book(world, "10:00", patient=world.other_patient_id)
    booking.cancel(clinic, f.RECEPTION, c)

    def ids(**kw: object) -> list[int]:
        return [
            r.id for r in booking.list_appointments(clinic, f.RECEPTION, AppointmentFilter(**kw))
        ]  # type: ignore[arg-type]

    assert ids() == [a, b, c]
    assert ids(doctor_id=world.doctor_id) == [a, c]
    assert ids(patient_id=world.other_patient_id) == [b, c]
    assert ids(statuses=("cancelled",)) == [c]
    assert ids(text="jose") == [a]  # accent-folded patient name
    assert ids(text="turing") == [b]
    assert ids(date_from=world.day + timedelta(days=1)) == []
    assert ids(newest_first=True) == [c, b, a]


def test_closing_a_visit_waits_for_another_pc_closing_it(clinic: Clinic, world: f.World) -> None:
    """The doctor completes while the desk cancels: one wins, the other hears it changed."""
    appt = _book(world, "09:00")
    clinic.clock.advance(days=1)  # type: ignore[attr-defined]
    result: list[object] = []

    def desk_cancels() -> None:
        try:
            booking.cancel(clinic, f.RECEPTION, appt)
            result.append("cancelled")
        except Exception as err:
            result.append(err)

    with clinic.db.write() as doctors_pc:  # completing, not yet committed
        doctors_pc.execute(
            update(Appointment).where(Appointment.id == appt).values(status="completed")
        )
        thread = threading.Thread(target=desk_cancels, daemon=True)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # the cancel waits for the other transaction
    thread.join(20)
    assert len(result) == 1 and isinstance(result[0], ConflictError), result
    assert "completed already" in str(result[0])
    assert booking.get_appointment(clinic, f.RECEPTION, appt).status == "completed"


def test_a_patient_cannot_move_a_visit_that_has_started(clinic, clock) -> None:
    # Cancelling it was refused already; moving it would have erased a no-show.
    w = f.world(clinic)
    me = f.patient_actor(w.patient_id)
    appt = booking.book(
        clinic, me, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    f.open_day(clinic, w.doctor_id, w.day + timedelta(days=1))
    clock.set(datetime.combine(w.day, time(11, 0), tzinfo=clock.tz))
    with pytest.raises(ValidationError, match="can no longer be moved online"):
        booking.reschedule(clinic, me, appt, day=w.day + timedelta(days=1), at="09:00")
    with pytest.raises(ValidationError, match="can no longer be cancelled online"):
        booking.cancel(clinic, me, appt)
    booking.reschedule(clinic, f.RECEPTION, appt, day=w.day + timedelta(days=1), at="09:00")


def _raw(w: f.World, patient: int, doctor: int, start: time, end: time) -> Appointment:
    return Appointment(
        doctor_id=doctor, patient_id=patient, day=w.day, start_time=start, end_time=end,
        visit_type="consultation", status="booked",
    )  # fmt: skip


def test_the_database_itself_refuses_overlapping_visits(clinic: Clinic, world: f.World) -> None:
    """PostgreSQL's exclusion constraints and SQLite's triggers: [09:00, 09:30) vs 09:15."""
    with clinic.db.write() as session:
        session.add(_raw(world, world.patient_id, world.doctor_id, time(9, 0), time(9, 30)))
    for patient, doctor in (
        (world.other_patient_id, world.doctor_id),  # the doctor is busy
        (world.patient_id, world.other_doctor_id),  # the patient is busy
    ):
        with pytest.raises(IntegrityError), clinic.db.write() as session:
            session.add(_raw(world, patient, doctor, time(9, 15), time(9, 45)))
    # Touching is not overlapping; a visit must end after it starts.
    with clinic.db.write() as session:
        session.add(_raw(world, world.other_patient_id, world.doctor_id, time(9, 30), time(10, 0)))
    with pytest.raises(IntegrityError), clinic.db.write() as session:
        session.add(_raw(world, world.other_patient_id, world.doctor_id, time(11, 0), time(11, 0)))
    # Moving a visit onto another by an UPDATE is refused as well.
    with pytest.raises(IntegrityError), clinic.db.write() as session:
        session.execute(
            update(Appointment)
            .where(Appointment.start_time == time(9, 30))
            .values(start_time=time(9, 20), end_time=time(9, 50))
        )
    assert _live_count(clinic) == 2


def test_overlaps_are_refused_for_the_doctor_and_for_the_patient(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, slot_minutes=15)
    f.open_day(clinic, world.doctor_id, world.day, "09:00", "12:00")
    f.open_day(clinic, world.other_doctor_id, world.day, "09:00", "12:00")
    first = booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=world.day, at="09:00", minutes=30,
    )  # fmt: skip
    with pytest.raises(SlotTakenError, match=r"Dr\. Ada Lovelace already has a visit at 09:00"):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
            day=world.day, at="09:15",
        )  # fmt: skip
    with pytest.raises(SlotTakenError, match=r"overlaps José Núñez at 09:00 with Dr\. Ada"):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.other_doctor_id,
            day=world.day, at="09:15",
        )  # fmt: skip
    # A visit longer than the grid blocks the slots it covers, and ends inside the hours.
    booking.book(
        clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
        day=world.day, at="10:00", visit_type="consultation", minutes=45,
    )  # fmt: skip
    offered = [
        f"{s.time:%H:%M}" for s in availability.free_slots(clinic, world.doctor_id, world.day)
    ]
    assert offered[:3] == ["09:30", "09:45", "10:45"]
    with pytest.raises(ValidationError, match="does not see patients"):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=world.day, at="11:45", minutes=30,
        )  # fmt: skip
    # Moving the first visit onto the second is refused; moving it clear is fine.
    with pytest.raises(SlotTakenError, match="at 10:00"):
        booking.reschedule(clinic, f.RECEPTION, first, day=world.day, at="10:30")
    booking.reschedule(clinic, f.RECEPTION, first, day=world.day, at="11:00")
    moved = booking.get_appointment(clinic, SYSTEM, first)
    assert (f"{moved.time:%H:%M}", f"{moved.end_time:%H:%M}") == ("11:00", "11:30")


@pytest.fixture
def crossing(pg_clinic: Clinic):
    """PostgreSQL rolls back the first ``n`` appointment inserts as a deadlock would
    (SQLSTATE 40P01). The count is a sequence: it is not rolled back with them."""

    def cross(n: int) -> None:
        with pg_clinic.db.write_engine.begin() as conn:
            conn.exec_driver_sql("CREATE SEQUENCE hms_test_crossed")
            conn.exec_driver_sql(
                "CREATE FUNCTION hms_test_crossed() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF nextval('hms_test_crossed') <= {n} THEN RAISE EXCEPTION "
                "'deadlock detected' USING ERRCODE = '40P01'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER hms_test_crossed BEFORE INSERT ON appointments "
                "FOR EACH ROW EXECUTE FUNCTION hms_test_crossed()"
            )

    yield cross
    with pg_clinic.db.write_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS hms_test_crossed ON appointments")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS hms_test_crossed()")
        conn.exec_driver_sql("DROP SEQUENCE IF EXISTS hms_test_crossed")


def test_a_booking_rolled_back_for_crossing_another_is_made_again(
    pg_clinic: Clinic, crossing
) -> None:
    """Two desks booking one patient at once on PostgreSQL: the server may roll one back
    as a deadlock. That desk's booking is made again (every check anew), not "busy"."""
    w = f.world(pg_clinic)
    crossing(booking.CROSSED_TRIES - 1)
    new_id = booking.book(
        pg_clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id,
        day=w.day, at=f.NINE,
    )  # fmt: skip
    [row] = booking.list_appointments(pg_clinic, SYSTEM)
    assert row.id == new_id and row.patient_id == w.patient_id
    with pg_clinic.db.read() as session:  # one audit entry: the rolled-back tries left none
        made = select(func.count()).where(AuditEntry.action == "appointment.book")
        assert session.scalar(made) == 1


def test_a_booking_crossed_every_time_says_busy_and_saves_nothing(
    pg_clinic: Clinic, crossing
) -> None:
    w = f.world(pg_clinic)
    crossing(booking.CROSSED_TRIES)
    with pytest.raises(WritesCrossedError, match="another PC changed the same records"):
        booking.book(
            pg_clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id,
            day=w.day, at=f.NINE,
        )  # fmt: skip
    assert booking.list_appointments(pg_clinic, SYSTEM) == []
