"""Availability: up to the horizon only, no overlaps, booked time kept, free slots."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import time, timedelta

import pytest
from sqlalchemy import delete, select

from hms_desktop.db.models import Appointment, Availability, Doctor
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import doctors
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f


def _times(slots: list[availability.Slot]) -> list[str]:
    return [f"{s.time:%H:%M}" for s in slots]


def test_hours_for_a_date_only_from_today_up_to_the_horizon(clinic: Clinic, world: f.World) -> None:
    today = clinic.today()
    for offset in (*range(7), 60, 90):
        availability.set_day(
            clinic, SYSTEM, world.doctor_id, today + timedelta(days=offset), [("14:00", "15:00")]
        )
    for offset in (-1, 91, 200):
        with pytest.raises(ValidationError, match="from today up to 90 days ahead") as err:
            availability.set_day(
                clinic,
                SYSTEM,
                world.doctor_id,
                today + timedelta(days=offset),
                [("14:00", "15:00")],
            )
        assert err.value.field == "date"
    windows = availability.get_windows(clinic, world.doctor_id)
    assert sorted({w.date for w in windows}) == [today + timedelta(days=i) for i in range(7)]
    far = availability.get_windows(clinic, world.doctor_id, [today + timedelta(days=60)])
    assert [(w.start_time, w.end_time) for w in far] == [(time(14, 0), time(15, 0))]
    with pytest.raises(NotFoundError):
        availability.set_day(clinic, SYSTEM, 9999, today, [("14:00", "15:00")])


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([("09:00", "11:00"), ("10:30", "12:00")], "must not overlap"),
        ([("09:00", "12:00"), ("10:00", "10:30")], "must not overlap"),
        ([("12:00", "09:00")], "must end after it starts"),
        ([("09:00", "09:00")], "must end after it starts"),
        ([("09:00", "09:20")], "shorter than one 30-minute slot"),
        ([("9h", "10:00")], "HH:MM"),
    ],
)
def test_bad_windows_are_refused_and_change_nothing(
    clinic: Clinic, world: f.World, windows: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, windows)
    assert _times(availability.free_slots(clinic, world.doctor_id, world.day)) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_windows_replace_the_day_and_may_touch(clinic: Clinic, world: f.World) -> None:
    availability.set_day(
        clinic, SYSTEM, world.doctor_id, world.day, [("14:00", "15:00"), ("13:00", "14:00")]
    )
    assert _times(availability.free_slots(clinic, world.doctor_id, world.day)) == [
        "13:00",
        "13:30",
        "14:00",
        "14:30",
    ]
    availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [])
    assert availability.free_slots(clinic, world.doctor_id, world.day) == []


def test_removing_time_with_live_bookings_is_refused(clinic: Clinic, world: f.World) -> None:
    appt = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:30",
    )
    with pytest.raises(ValidationError, match="Patients are booked at 09:30"):
        availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [("10:00", "12:00")])
    with pytest.raises(ValidationError, match="09:30"):
        availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [])
    # Misaligned slots would strand it too: 09:15, 09:45, ... do not include 09:30.
    with pytest.raises(ValidationError, match="09:30"):
        availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [("09:15", "12:00")])
    availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [("09:30", "10:00")])
    assert availability.free_slots(clinic, world.doctor_id, world.day) == []
    booking.cancel(clinic, f.RECEPTION, appt)
    availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [])
    assert availability.get_windows(clinic, world.doctor_id, [world.day]) == []


def test_free_slots_per_doctor_and_per_department(clinic: Clinic, world: f.World) -> None:
    other_dept = f.department(clinic, "Dermatology")
    derm = f.doctor(clinic, other_dept)
    f.open_day(clinic, derm, world.day, "10:00", "11:00")
    booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )
    mine = availability.free_slots(clinic, world.doctor_id, world.day)
    assert _times(mine) == ["09:30", "10:00", "10:30", "11:00", "11:30"]
    assert {s.doctor_id for s in mine} == {world.doctor_id}
    assert (mine[0].date, mine[0].end_time) == (world.day, time(10, 0))
    # Without a day: the whole horizon (only tomorrow has windows here).
    assert availability.free_slots(clinic, world.doctor_id) == mine
    by_dept = availability.free_slots_by_department(clinic, world.department_id)
    assert len(by_dept) == 11
    assert [(f"{s.time:%H:%M}", s.doctor_id) for s in by_dept[:3]] == [
        ("09:00", world.other_doctor_id),
        ("09:30", world.doctor_id),
        ("09:30", world.other_doctor_id),
    ]
    assert [s.doctor_id for s in availability.free_slots_by_department(clinic, other_dept)] == [
        derm,
        derm,
    ]
    with pytest.raises(NotFoundError):
        availability.free_slots(clinic, 9999)


def test_past_slots_are_not_offered(clinic: Clinic, world: f.World, clock: FakeClock) -> None:
    today = clinic.today()  # the fake clock says 09:00
    f.open_day(clinic, world.doctor_id, today, "08:00", "11:00")
    assert _times(availability.free_slots(clinic, world.doctor_id, today)) == [
        "09:30",
        "10:00",
        "10:30",
    ]
    clock.advance(minutes=45)
    assert _times(availability.free_slots(clinic, world.doctor_id, today)) == ["10:00", "10:30"]
    clock.advance(days=1)  # tomorrow 09:45: today's slots are gone from the horizon too
    assert availability.free_slots(clinic, world.doctor_id, today) == []
    assert _times(availability.free_slots(clinic, world.doctor_id)) == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_a_blacklisted_doctor_offers_no_slots(clinic: Clinic, world: f.World) -> None:
    doctors.set_blacklisted(clinic, SYSTEM, world.doctor_id, True)
    assert availability.free_slots(clinic, world.doctor_id, world.day) == []
    assert availability.free_slots(clinic, world.doctor_id) == []
    by_dept = availability.free_slots_by_department(clinic, world.department_id)
    assert {s.doctor_id for s in by_dept} == {world.other_doctor_id}
    doctors.set_blacklisted(clinic, SYSTEM, world.doctor_id, False)
    assert len(availability.free_slots(clinic, world.doctor_id, world.day)) == 6


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as err:
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_booking_waits_for_an_availability_change_in_progress(
    clinic: Clinic, world: f.World
) -> None:
    """Another PC removes the morning; a booking made meanwhile must not land in it."""
    with clinic.db.write() as other_pc:
        # What set_day does, paused before its commit.
        other_pc.execute(select(Doctor.id).where(Doctor.id == world.doctor_id).with_for_update())
        other_pc.execute(
            delete(Availability).where(
                Availability.doctor_id == world.doctor_id, Availability.day == world.day
            )
        )
        thread, outcome = _in_thread(
            lambda: booking.book(
                clinic,
                f.RECEPTION,
                patient_id=world.patient_id,
                doctor_id=world.doctor_id,
                day=world.day,
                at="09:00",
            )
        )
        thread.join(0.5)
        assert thread.is_alive()  # the booking waits for the other transaction
    thread.join(20)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationError), outcome
    assert "does not see patients" in str(outcome[0])


def test_an_availability_change_waits_for_a_booking_in_progress(
    clinic: Clinic, world: f.World
) -> None:
    """A booking is being saved on another PC; removing its time must wait, then refuse."""
    with clinic.db.write() as other_pc:
        # What book does, paused before its commit.
        other_pc.execute(
            select(Doctor.id).where(Doctor.id == world.doctor_id).with_for_update(read=True)
        )
        other_pc.add(
            Appointment(
                doctor_id=world.doctor_id,
                patient_id=world.patient_id,
                day=world.day,
                start_time=time(9, 0),
                end_time=time(9, 30),
                visit_type="consultation",
                status="booked",
            )
        )
        other_pc.flush()
        thread, outcome = _in_thread(
            lambda: availability.set_day(
                clinic, SYSTEM, world.doctor_id, world.day, [("10:00", "12:00")]
            )
        )
        thread.join(0.5)
        assert thread.is_alive()  # the change waits for the booking's transaction
    thread.join(20)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationError), outcome
    assert "Patients are booked at 09:00" in str(outcome[0])
    assert [w.start_time for w in availability.get_windows(clinic, world.doctor_id)] == [time(9, 0)]


def test_a_window_keeps_its_slot_grid_on_every_pc(clinic, clock) -> None:
    # PC A publishes with 30-minute slots; PC B is set to 15 minutes. B must offer and
    # book only A's grid in that window, or two patients land in 09:00-09:30.
    from tests.conftest import make_clinic

    w = f.world(clinic)  # windows published with the test clinic's 30-minute slots
    pc_b = make_clinic(clinic.pc.database_url, clock, slot_minutes=15)
    try:
        offered = [
            s.time.strftime("%H:%M") for s in availability.free_slots(pc_b, w.doctor_id, w.day)
        ]
        assert offered[:3] == ["09:00", "09:30", "10:00"]
        assert all(
            s.end_time.minute in (0, 30) for s in availability.free_slots(pc_b, w.doctor_id, w.day)
        )
        booking.book(
            pc_b, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
        )
        with pytest.raises(ValidationError, match="does not see patients"):
            booking.book(
                pc_b,
                f.RECEPTION,
                patient_id=w.other_patient_id,
                doctor_id=w.doctor_id,
                day=w.day,
                at="09:15",
            )
        # A window B publishes uses B's grid, for everyone.
        f.open_day(pc_b, w.other_doctor_id, w.day, "14:00", "15:00")
        later = [
            s.time.strftime("%H:%M")
            for s in availability.free_slots(clinic, w.other_doctor_id, w.day)
        ]
        assert later[-4:] == ["14:00", "14:15", "14:30", "14:45"]
    finally:
        pc_b.close()


def test_republishing_on_another_grid_that_would_overlap_visits_is_refused(
    clinic: Clinic, world: f.World
) -> None:
    """A day published with 30-minute slots has a visit at 09:30; a 20-minute grid would
    offer 09:20 and 09:40 inside it. Refused, naming the visit; the old grid stays."""
    booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=world.day, at="09:30",
    )  # fmt: skip
    f.set_settings(clinic, slot_minutes=20)
    with pytest.raises(ValidationError, match=r"09:30 \(José Núñez until 10:00\)"):
        availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [("09:00", "12:00")])
    offered = [
        f"{s.time:%H:%M}" for s in availability.free_slots(clinic, world.doctor_id, world.day)
    ]
    assert offered[:2] == ["09:00", "10:00"]
    # A grid the visit still sits on is fine (10 minutes: 09:30 is a slot start).
    f.set_settings(clinic, slot_minutes=10)
    availability.set_day(clinic, SYSTEM, world.doctor_id, world.day, [("09:00", "12:00")])
    offered = [
        f"{s.time:%H:%M}" for s in availability.free_slots(clinic, world.doctor_id, world.day)
    ]
    assert offered[:4] == ["09:00", "09:10", "09:20", "10:00"]
