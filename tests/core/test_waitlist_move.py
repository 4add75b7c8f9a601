"""Taking an earlier time from the waitlist moves the patient's later visit, not a second one."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from hms_desktop.db.models import Appointment, AuditEntry, WaitlistEntry
from hms_desktop.errors import SlotTakenError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import availability, booking, waitlist
from hms_desktop.services.views import Slot, WaitlistRow
from tests import factories as f
from tests import faults


def _live(clinic: Clinic, patient_id: int) -> list[tuple[int, int, time]]:
    """The patient's live visits as (id, doctor, start)."""
    rows = booking.list_appointments(
        clinic, f.RECEPTION, booking.AppointmentFilter(patient_id=patient_id, statuses=("booked",))
    )
    return [(r.id, r.doctor_id, r.time) for r in rows]


def _audit(clinic: Clinic, entity: str, entity_id: int) -> list[tuple[str, dict[str, object]]]:
    with clinic.db.read() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.seq)
        ).all()
    return [(action, json.loads(details) if details else {}) for action, details in rows]


def _sophie_waiting(clinic: Clinic) -> tuple[f.World, int, int, int]:
    """A patient with a visit at 10:30 with Dr. Lovelace, on the waitlist for her; the
    09:30 was booked by someone else and cancelled. (world, patient, visit, request)."""
    world = f.world(clinic)
    sophie = f.patient(clinic, "Sophie Wagner")
    visit = booking.book(
        clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id, day=world.day,
        at="10:30",
    )  # fmt: skip
    freed = booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=world.day, at="09:30",
    )  # fmt: skip
    request = waitlist.add(clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id)
    booking.cancel(clinic, f.RECEPTION, freed)
    return world, sophie, visit, request


def test_the_offer_and_the_question_name_the_visit_that_moves(clinic: Clinic) -> None:
    world, _sophie, visit, request = _sophie_waiting(clinic)
    [offer] = [o for o in waitlist.offers(clinic, f.RECEPTION) if o.request.id == request]
    assert offer.slot is not None and offer.slot.time == time(9, 0)  # the earliest free
    assert offer.moves is not None and (offer.moves.appointment_id, offer.moves.start) == (
        visit,
        time(10, 30),
    )
    ahead = waitlist.visit_to_move(clinic, f.RECEPTION, request, day=world.day, at="09:30")
    assert ahead is not None and (ahead.appointment_id, ahead.doctor, ahead.start) == (
        visit, "Dr. Ada Lovelace", time(10, 30),
    )  # fmt: skip
    taken = waitlist.take_offer(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
    )
    assert (taken.appointment_id, taken.moved_from) == (visit, ahead)


def test_taking_an_earlier_time_moves_the_later_visit_and_frees_its_time(clinic: Clinic) -> None:
    world, sophie, visit, request = _sophie_waiting(clinic)
    moved = waitlist.book_from_waitlist(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
    )
    # One visit, moved: not 09:30 and 10:30 both.
    assert _live(clinic, sophie) == [(visit, world.doctor_id, time(9, 30))]
    assert moved == visit
    with clinic.db.read() as session:
        entry = session.get(WaitlistEntry, request)
        assert entry is not None and (entry.state, entry.appointment_id) == ("booked", visit)
    [(action, details)] = _audit(clinic, "appointment", visit)[1:]
    assert action == "appointment.reschedule"
    assert details["before"] == f"{world.day:%Y-%m-%d} 10:30 doctor {world.doctor_id}"
    assert _audit(clinic, "waitlist", request)[-1] == (
        "waitlist.book",
        {
            "appointment_id": visit,
            "moved_from": f"{world.day:%Y-%m-%d} 10:30",
            "moved_from_doctor_id": world.doctor_id,
        },
    )
    # The 10:30 is free for others.
    other = booking.book(
        clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
        day=world.day, at="10:30",
    )  # fmt: skip
    assert _live(clinic, world.other_patient_id) == [(other, world.doctor_id, time(10, 30))]


def test_undo_moves_the_visit_back_and_the_request_waits_again(clinic: Clinic) -> None:
    world, sophie, visit, request = _sophie_waiting(clinic)
    waitlist.take_offer(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
    )
    assert waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request) == visit
    # Back where it was, still booked (not cancelled), and the request is waiting.
    assert _live(clinic, sophie) == [(visit, world.doctor_id, time(10, 30))]
    [entry] = waitlist.list_entries(clinic, f.RECEPTION)
    assert entry.id == request
    assert [a for a, _ in _audit(clinic, "appointment", visit)] == [
        "appointment.book",
        "appointment.reschedule",
        "appointment.reschedule",
    ]
    assert _audit(clinic, "waitlist", request)[-1] == (
        "waitlist.undo_book",
        {"appointment_id": visit, "moved_back": True},
    )


def test_undo_changes_nothing_when_the_old_time_was_taken(clinic: Clinic) -> None:
    world, sophie, visit, request = _sophie_waiting(clinic)
    waitlist.take_offer(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
    )
    booking.book(
        clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
        day=world.day, at="10:30",
    )  # fmt: skip
    with pytest.raises(SlotTakenError):
        waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    assert _live(clinic, sophie) == [(visit, world.doctor_id, time(9, 30))]
    assert waitlist.list_entries(clinic, f.RECEPTION) == []


def test_the_move_and_the_requests_change_are_one_transaction(clinic: Clinic) -> None:
    world, sophie, visit, request = _sophie_waiting(clinic)
    with (
        faults.failing_write(clinic, "audit_log", "INSERT", "NEW.action = 'waitlist.book'"),
        pytest.raises(faults.FAILED),
    ):
        waitlist.take_offer(
            clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
        )
    assert _live(clinic, sophie) == [(visit, world.doctor_id, time(10, 30))]
    assert [e.id for e in waitlist.list_entries(clinic, f.RECEPTION)] == [request]
    assert [a for a, _ in _audit(clinic, "appointment", visit)] == ["appointment.book"]


def test_a_department_request_moves_the_visit_with_any_of_its_doctors(clinic: Clinic) -> None:
    world = f.world(clinic)
    sophie = f.patient(clinic, "Sophie Wagner")
    with_turing = booking.book(
        clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.other_doctor_id, day=world.day,
        at="11:00",
    )  # fmt: skip
    request = waitlist.add(
        clinic, f.RECEPTION, patient_id=sophie, department_id=world.department_id
    )
    taken = waitlist.take_offer(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="09:30"
    )
    assert taken.moved_from is not None and taken.moved_from.doctor == "Dr. Alan Turing"
    assert _live(clinic, sophie) == [(with_turing, world.doctor_id, time(9, 30))]
    waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    assert _live(clinic, sophie) == [(with_turing, world.other_doctor_id, time(11, 0))]


def test_a_visit_outside_the_requests_scope_or_earlier_is_not_moved(clinic: Clinic) -> None:
    world = f.world(clinic)
    elsewhere = f.doctor(clinic, f.department(clinic, "Dermatology"), "Dr. Skin")
    f.open_day(clinic, elsewhere, world.day)
    sophie = f.patient(clinic, "Sophie Wagner")
    other_department = booking.book(
        clinic, f.RECEPTION, patient_id=sophie, doctor_id=elsewhere, day=world.day, at="11:00"
    )
    earlier = booking.book(
        clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id, day=world.day,
        at="09:00",
    )  # fmt: skip
    request = waitlist.add(clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id)
    assert waitlist.visit_to_move(clinic, f.RECEPTION, request, day=world.day, at="10:00") is None
    taken = waitlist.take_offer(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="10:00"
    )
    assert taken.moved_from is None and taken.appointment_id not in (other_department, earlier)
    assert sorted(_live(clinic, sophie), key=lambda v: v[2]) == [
        (earlier, world.doctor_id, time(9, 0)),
        (taken.appointment_id, world.doctor_id, time(10, 0)),
        (other_department, elsewhere, time(11, 0)),
    ]
    # The new booking's undo cancels it, as before.
    waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    with clinic.db.read() as session:
        made = session.get(Appointment, taken.appointment_id)
        assert made is not None and made.status == "cancelled"


def _exhaustive_offer(
    clinic: Clinic, request: WaitlistRow, moves: waitlist.LaterVisit | None
) -> Slot | None:
    """The rule as written: every free time of the scope up to the horizon, the first that
    suits (what offers() computed before it read a week at a time)."""
    if request.doctor_id is not None:
        slots = availability.free_slots(clinic, request.doctor_id)
    else:
        assert request.department_id is not None
        slots = availability.free_slots_by_department(clinic, request.department_id)
    now = clinic.now().replace(tzinfo=None)
    before = datetime.combine(moves.day, moves.start) if moves is not None else None
    return next(
        (
            s
            for s in slots
            if datetime.combine(s.date, s.time) > now
            and (before is None or datetime.combine(s.date, s.time) < before)
            and waitlist._fits_when(request, s.date, s.time)
        ),
        None,
    )


def test_offers_are_the_earliest_suiting_times_however_far_ahead(clinic: Clinic) -> None:
    """Offers read a week at a time: a time weeks ahead is still found, a request that
    cannot have one (its "until", the visit it would move) gets none, and each offer is
    the one the rule over the whole horizon gives."""
    world = f.world(clinic)
    d1, d2 = world.doctor_id, world.other_doctor_id
    far = world.day + timedelta(days=17)
    farther = world.day + timedelta(days=40)
    for day in (far, farther):
        f.open_day(clinic, d1, day)
    f.open_day(clinic, d2, farther, "14:00", "16:00")
    later = booking.book(clinic, f.RECEPTION, patient_id=world.other_patient_id,
                         doctor_id=d1, day=far, at="10:00")  # fmt: skip
    names = [f.patient(clinic, f"Waiting Patient {i}") for i in range(5)]
    asked = {
        # Only the weekday of the far dates: nothing in the first week.
        "weekday": waitlist.add(
            clinic, f.RECEPTION, patient_id=names[0], doctor_id=d1,
            days=waitlist.WEEKDAYS[far.weekday()],
        ),
        # Afternoons in the department: only Dr. Turing's far day.
        "afternoon": waitlist.add(clinic, f.RECEPTION, patient_id=names[1],
                                  department_id=world.department_id, between="13:00-17:00"),
        # Until before the far dates, days that are not tomorrow's: no time.
        "until": waitlist.add(clinic, f.RECEPTION, patient_id=names[2], doctor_id=d1,
                              days=waitlist.WEEKDAYS[(world.day.weekday() + 1) % 7],
                              until=world.day + timedelta(days=5)),
        # Has a visit on the far date at 10:00: earlier times only.
        "moves": waitlist.add(clinic, f.RECEPTION, patient_id=world.other_patient_id,
                              doctor_id=d1, days=waitlist.WEEKDAYS[far.weekday()]),
        "anything": waitlist.add(clinic, f.RECEPTION, patient_id=names[3],
                                 department_id=world.department_id),
    }  # fmt: skip
    offers = {o.request.id: o for o in waitlist.offers(clinic, f.RECEPTION)}
    got = {name: offers[i].slot for name, i in asked.items()}
    assert got["weekday"] == Slot(d1, far, time(9, 0), time(9, 30))
    assert got["afternoon"] == Slot(d2, farther, time(14, 0), time(14, 30))
    assert got["until"] is None
    assert got["moves"] is not None and got["moves"].date == far
    assert got["moves"].time < time(10, 0)
    assert offers[asked["moves"]].moves is not None
    assert offers[asked["moves"]].moves.appointment_id == later  # type: ignore[union-attr]
    assert got["anything"] is not None and got["anything"].date == world.day
    for offer in offers.values():
        assert offer.slot == _exhaustive_offer(clinic, offer.request, offer.moves)
