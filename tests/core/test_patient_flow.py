"""Check-in to completion, undo, walk-ins, the waiting room and the waitlist."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest
from sqlalchemy import func, select

from hms_desktop.db.models import Appointment, AuditEntry, OutboxMessage, WaitlistEntry
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SlotTakenError,
    ValidationError,
)
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.scheduling import booking, patient_flow, undo, waitlist
from tests import factories as f
from tests import faults


def _today_world(clinic: Clinic) -> f.World:
    """The small clinic, with both doctors also working today 09:00-12:00 (now is 09:00)."""
    world = f.world(clinic)
    today = clinic.today()
    f.open_day(clinic, world.doctor_id, today)
    f.open_day(clinic, world.other_doctor_id, today)
    return world


def _book_today(clinic: Clinic, world: f.World, at: str, patient_id: int | None = None) -> int:
    return booking.book(
        clinic,
        f.RECEPTION,
        patient_id=patient_id or world.patient_id,
        doctor_id=world.doctor_id,
        day=clinic.today(),
        at=at,
    )


def _status(clinic: Clinic, appointment_id: int) -> str:
    return booking.get_appointment(clinic, f.RECEPTION, appointment_id).status


def test_check_in_to_completion_with_time_stamps(clinic: Clinic, clock: FakeClock) -> None:
    world = _today_world(clinic)
    visit = _book_today(clinic, world, "09:30")
    clock.advance(minutes=20)  # 09:20: the patient is early
    patient_flow.check_in(clinic, f.RECEPTION, visit)
    assert _status(clinic, visit) == "arrived"
    clock.advance(minutes=15)  # 09:35
    [waiting] = patient_flow.waiting_room(clinic, f.RECEPTION)
    assert (waiting.appointment_id, waiting.status, waiting.waited_minutes) == (
        visit,
        "arrived",
        15,
    )
    assert waiting.arrived_at == (clock.now() - timedelta(minutes=15)).astimezone(UTC)

    doctor = f.doctor_actor(world.doctor_id)
    patient_flow.call_in(clinic, doctor, visit)
    assert _status(clinic, visit) == "in_consultation"
    [with_doctor] = patient_flow.waiting_room(clinic, doctor)
    assert with_doctor.consultation_at == clock.now().astimezone(UTC)
    assert with_doctor.waited_minutes == 15

    clock.advance(minutes=20)
    booking.complete(clinic, doctor, visit)
    assert _status(clinic, visit) == "completed"
    assert patient_flow.waiting_room(clinic, f.RECEPTION) == []


def test_a_patient_called_in_early_is_closed_without_an_early_close(
    clinic: Clinic, clock: FakeClock
) -> None:
    """Called in before the visit's time: the patient was seen, so completing it is no
    early close; an arrived patient cannot be a no-show, nor moved."""
    world = _today_world(clinic)
    early = _book_today(clinic, world, "11:00")
    waiting = _book_today(clinic, world, "11:30", world.other_patient_id)
    doctor = f.doctor_actor(world.doctor_id)
    for visit in (early, waiting):
        patient_flow.check_in(clinic, f.RECEPTION, visit)
    with pytest.raises(ValidationError, match="has not begun"):
        booking.complete(clinic, doctor, waiting)  # not called in: the time rule stands
    patient_flow.call_in(clinic, doctor, early)
    booking.complete(clinic, doctor, early)  # 09:00, two hours before its time
    assert _status(clinic, early) == "completed"
    clock.advance(hours=3)  # 12:00: past its time, still here
    with pytest.raises(ConflictError, match="cannot be a no-show"):
        booking.set_status(clinic, doctor, waiting, "no_show")
    with pytest.raises(ConflictError, match="arrived"):
        booking.reschedule(clinic, f.RECEPTION, waiting, day=clinic.today(), at="11:00")


def test_each_step_is_undone_until_the_next(clinic: Clinic, clock: FakeClock) -> None:
    world = _today_world(clinic)
    visit = _book_today(clinic, world, "09:30")
    with pytest.raises(ConflictError, match="no step to undo"):
        patient_flow.undo_step(clinic, f.RECEPTION, visit)
    patient_flow.check_in(clinic, f.RECEPTION, visit)
    assert patient_flow.undo_step(clinic, f.RECEPTION, visit) == "booked"
    assert _status(clinic, visit) == "booked"
    patient_flow.check_in(clinic, f.RECEPTION, visit)
    patient_flow.call_in(clinic, f.RECEPTION, visit)
    assert patient_flow.undo_step(clinic, f.RECEPTION, visit) == "arrived"
    assert _status(clinic, visit) == "arrived"
    with pytest.raises(ConflictError):
        booking.set_status(clinic, f.RECEPTION, visit, "no_show")  # the patient is here
    with pytest.raises(ConflictError, match="moved"):
        booking.reschedule(clinic, f.RECEPTION, visit, day=world.day, at="10:00")


def test_check_in_is_for_the_desk_and_the_day(clinic: Clinic) -> None:
    world = _today_world(clinic)
    tomorrow = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at=f.NINE,
    )
    with pytest.raises(ValidationError, match="day of the visit"):
        patient_flow.check_in(clinic, f.RECEPTION, tomorrow)
    today = _book_today(clinic, world, "10:00")
    with pytest.raises(PermissionDeniedError):
        patient_flow.check_in(clinic, f.patient_actor(world.patient_id), today)
    with pytest.raises(ConflictError, match="checked-in"):
        patient_flow.call_in(clinic, f.doctor_actor(world.doctor_id), today)
    with pytest.raises(PermissionDeniedError):
        patient_flow.waiting_room(clinic, f.patient_actor(world.patient_id))


def test_walk_in_takes_free_time_else_is_overbooked_with_a_reason(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    clock.advance(minutes=10)  # 09:10: 09:30 is the doctor's next free slot
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    assert (seen.start, seen.overbooked) == (time(9, 30), False)
    assert _status(clinic, seen.appointment_id) == "arrived"

    for at in ("10:00", "10:30", "11:00", "11:30"):
        for doctor_id in (world.doctor_id, world.other_doctor_id):
            booking.book(
                clinic,
                f.RECEPTION,
                patient_id=f.patient(clinic),
                doctor_id=doctor_id,
                day=clinic.today(),
                at=at,
            )
    clock.advance(minutes=50)  # 10:00, and the day is full
    with pytest.raises(ValidationError, match="say why"):
        patient_flow.walk_in(
            clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
        )
    extra = patient_flow.walk_in(
        clinic,
        f.RECEPTION,
        patient_id=world.other_patient_id,
        doctor_id=world.doctor_id,
        reason="Chest pain",
    )
    assert (extra.start, extra.overbooked) == (time(10, 0), True)  # beside the 10:00 visit
    assert _status(clinic, extra.appointment_id) == "arrived"
    [_, waiting] = patient_flow.waiting_room(clinic, f.RECEPTION)
    assert waiting.overbooked and waiting.patient == "Anna Smith"
    # The overbooked visit shares the doctor's time, never the patient's.
    with pytest.raises(SlotTakenError, match="already has an appointment then"):
        patient_flow.walk_in(
            clinic,
            f.RECEPTION,
            patient_id=world.other_patient_id,
            doctor_id=world.other_doctor_id,
            reason="Wants a second opinion at once",
        )
    # Undoing an overbooked walk-in's check-in withdraws it.
    assert patient_flow.undo_step(clinic, f.RECEPTION, extra.appointment_id) == "cancelled"


_commits = f.write_commits


def _rows(clinic: Clinic) -> tuple[int, int, int]:
    """How many appointments, audit entries and outbox messages there are."""
    with clinic.db.read() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Appointment, AuditEntry, OutboxMessage)
        )


def test_a_walk_in_in_free_time_is_booked_and_checked_in_in_one_transaction(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    f.set_settings(clinic, send_booking_confirmation=True)
    clock.advance(minutes=10)  # 09:10: 09:30 is free
    seen, commits = _commits(
        clinic,
        lambda: patient_flow.walk_in(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
        ),
    )
    assert commits == 1
    assert (seen.start, seen.overbooked) == (time(9, 30), False)
    assert _status(clinic, seen.appointment_id) == "arrived"
    [waiting] = patient_flow.waiting_room(clinic, f.RECEPTION)
    assert waiting.arrived_at == clock.now().astimezone(UTC)
    with clinic.db.read() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "appointment", AuditEntry.entity_id == seen.appointment_id)
            .order_by(AuditEntry.seq)
        ).all()
    assert actions == ["appointment.book", "appointment.walk_in"]
    # Only the desk registers a walk-in, also through the booking itself.
    with pytest.raises(PermissionDeniedError):
        booking.book(
            clinic, f.patient_actor(world.other_patient_id), patient_id=world.other_patient_id,
            doctor_id=world.doctor_id, day=clinic.today(), at="10:00",
            arrived_at=clock.now().astimezone(UTC),
        )  # fmt: skip


def test_a_walk_in_whose_check_in_fails_is_not_booked_either(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    f.set_settings(clinic, send_booking_confirmation=True)
    clock.advance(minutes=10)
    before = _rows(clinic)
    # The database fails when the walk-in's check-in is written, after its booking.
    with (
        faults.failing_write(clinic, "audit_log", "INSERT", "NEW.action = 'appointment.walk_in'"),
        pytest.raises(faults.FAILED),
    ):
        patient_flow.walk_in(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
        )
    assert _rows(clinic) == before  # no visit, no entry, no confirmation
    assert patient_flow.waiting_room(clinic, f.RECEPTION) == []
    # The time is still free: the walk-in goes through now, in the same slot.
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    assert (seen.start, _status(clinic, seen.appointment_id)) == (time(9, 30), "arrived")


def _messages(clinic: Clinic) -> list[tuple[int | None, str]]:
    """The outbox: each message's visit and kind, oldest first."""
    with clinic.db.read() as session:
        rows = session.execute(
            select(OutboxMessage.appointment_id, OutboxMessage.kind).order_by(OutboxMessage.id)
        )
        return [(r.appointment_id, r.kind) for r in rows]


def _audited(clinic: Clinic, appointment_id: int) -> list[str]:
    with clinic.db.read() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "appointment", AuditEntry.entity_id == appointment_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_undo_of_a_walk_in_takes_it_back_entirely_in_one_transaction(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    clock.advance(minutes=10)  # 09:10: 09:30 is free
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    with pytest.raises(PermissionDeniedError):
        undo.undo_walk_in(clinic, f.patient_actor(world.patient_id), seen.appointment_id)
    _, commits = _commits(
        clinic, lambda: undo.undo_walk_in(clinic, f.RECEPTION, seen.appointment_id)
    )
    assert commits == 1
    # No visit on the patient's record, nobody waiting, no cancellation counted.
    assert patient_flow.waiting_room(clinic, f.RECEPTION) == []
    mine = booking.AppointmentFilter(patient_id=world.patient_id)
    assert booking.list_appointments(clinic, f.RECEPTION, mine) == []
    # The audit log keeps the history: booked, walked in, taken back.
    assert _audited(clinic, seen.appointment_id) == [
        "appointment.book",
        "appointment.walk_in",
        "appointment.undo_walk_in",
    ]
    with pytest.raises(NotFoundError):
        undo.undo_walk_in(clinic, f.RECEPTION, seen.appointment_id)  # twice: it is gone
    # The time is free again.
    again = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
    )
    assert again.start == time(9, 30)


def test_undo_of_an_overbooked_walk_in_takes_it_back_too(clinic: Clinic, clock: FakeClock) -> None:
    world = _today_world(clinic)
    clock.advance(minutes=10)  # 09:10: the next hour's free times taken
    for at in ("09:30", "10:00"):
        _book_today(clinic, world, at, patient_id=f.patient(clinic))
    extra = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        reason="Chest pain",
    )  # fmt: skip
    assert extra.overbooked
    undo.undo_walk_in(clinic, f.RECEPTION, extra.appointment_id)
    assert _audited(clinic, extra.appointment_id) == [
        "appointment.walk_in",
        "appointment.undo_walk_in",
    ]
    assert patient_flow.waiting_room(clinic, f.RECEPTION) == []


def test_undo_of_a_walk_in_is_refused_once_anything_else_happened_and_changes_nothing(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    clock.advance(minutes=10)
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    patient_flow.call_in(clinic, f.doctor_actor(world.doctor_id), seen.appointment_id)
    before = _rows(clinic)
    with pytest.raises(ConflictError, match="called the patient in"):
        undo.undo_walk_in(clinic, f.RECEPTION, seen.appointment_id)
    assert _rows(clinic) == before and _status(clinic, seen.appointment_id) == "in_consultation"
    # Back in the waiting room is still not "nothing happened": the desk cancels instead.
    patient_flow.undo_step(clinic, f.RECEPTION, seen.appointment_id, step="call_in")
    before = _rows(clinic)
    with pytest.raises(ConflictError, match="changed since the walk-in"):
        undo.undo_walk_in(clinic, f.RECEPTION, seen.appointment_id)
    assert _rows(clinic) == before and _status(clinic, seen.appointment_id) == "arrived"
    # A booking checked in at the desk is no walk-in; one not here yet neither.
    checked = _book_today(clinic, world, "10:00", patient_id=world.other_patient_id)
    patient_flow.check_in(clinic, f.RECEPTION, checked)
    booked = _book_today(clinic, world, "11:00", patient_id=f.patient(clinic))
    for other in (checked, booked):
        with pytest.raises(ConflictError, match="changed since the walk-in"):
            undo.undo_walk_in(clinic, f.RECEPTION, other)
    booking.cancel(clinic, f.RECEPTION, booked)
    with pytest.raises(ConflictError, match="cancelled meanwhile"):
        undo.undo_walk_in(clinic, f.RECEPTION, booked)
    assert _status(clinic, checked) == "arrived"


def test_a_walk_in_whose_undo_fails_stays(clinic: Clinic, clock: FakeClock) -> None:
    world = _today_world(clinic)
    clock.advance(minutes=10)
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    before = _rows(clinic)
    # The database fails on the audit entry, after the checks: nothing is deleted.
    with (
        faults.failing_write(
            clinic, "audit_log", "INSERT", "NEW.action = 'appointment.undo_walk_in'"
        ),
        pytest.raises(faults.FAILED),
    ):
        undo.undo_walk_in(clinic, f.RECEPTION, seen.appointment_id)
    assert _rows(clinic) == before
    assert _status(clinic, seen.appointment_id) == "arrived"


def test_a_walk_in_queues_no_booking_confirmation_as_the_patient_is_at_the_desk(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    f.set_settings(clinic, send_booking_confirmation=True)
    clock.advance(minutes=10)  # 09:10: the walk-in gets 09:30, which has not begun yet
    seen = patient_flow.walk_in(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    assert (seen.start, seen.overbooked) == (time(9, 30), False)
    assert _messages(clinic) == []
    # A visit booked for later today is still confirmed, as the clinic asks.
    later = _book_today(clinic, world, "11:00", world.other_patient_id)
    assert _messages(clinic) == [(later, "booking_confirmation")]


def test_a_cancel_offers_the_fitting_waitlisted_patients_in_rank_order(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = f.world(clinic)
    booked = booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="10:00",
    )
    first = f.patient(clinic, "Waited Longest")
    second = f.patient(clinic, "Second In Line")
    too_long = f.patient(clinic, "Needs An Hour")
    mornings = f.patient(clinic, "Mornings Only")
    wrong_day = f.patient(clinic, "Fridays Only")
    long_id = waitlist.add(
        clinic, f.RECEPTION, patient_id=too_long, doctor_id=world.doctor_id, minutes=60
    )
    clock.advance(minutes=1)
    first_id = waitlist.add(
        clinic, f.RECEPTION, patient_id=first, department_id=world.department_id
    )
    clock.advance(minutes=1)
    second_id = waitlist.add(
        clinic, f.RECEPTION, patient_id=second, doctor_id=world.doctor_id, days="tue,wed"
    )
    waitlist.add(
        clinic, f.RECEPTION, patient_id=mornings, doctor_id=world.doctor_id, between="07:00-09:30"
    )
    waitlist.add(clinic, f.RECEPTION, patient_id=wrong_day, doctor_id=world.doctor_id, days="fri")

    booking.cancel(clinic, f.RECEPTION, booked)
    offered = waitlist.candidates(
        clinic,
        f.RECEPTION,
        doctor_id=world.doctor_id,
        day=world.day,  # a Tuesday
        start=time(10, 0),
        end=time(10, 30),
    )
    assert [r.id for r in offered] == [first_id, second_id, long_id]  # fits first, then age

    new_id = waitlist.book_from_waitlist(
        clinic, f.RECEPTION, first_id, doctor_id=world.doctor_id, day=world.day, at="10:00"
    )
    assert _status(clinic, new_id) == "booked"
    assert first_id not in [r.id for r in waitlist.list_entries(clinic, f.RECEPTION)]
    with pytest.raises(NotFoundError):
        waitlist.book_from_waitlist(
            clinic, f.RECEPTION, first_id, doctor_id=world.doctor_id, day=world.day, at="10:30"
        )


def test_waitlist_requests_are_checked(clinic: Clinic) -> None:
    world = f.world(clinic)
    with pytest.raises(ValidationError, match="doctor or a department"):
        waitlist.add(clinic, f.RECEPTION, patient_id=world.patient_id)
    with pytest.raises(ValidationError, match="mon, tue"):
        waitlist.add(
            clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id, days="xyz"
        )
    with pytest.raises(ValidationError, match="HH:MM"):
        waitlist.add(
            clinic,
            f.RECEPTION,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            between="9-12-3",
        )
    with pytest.raises(PermissionDeniedError):
        waitlist.add(
            clinic,
            f.patient_actor(world.patient_id),
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
        )
    entry = waitlist.add(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    waitlist.remove(clinic, f.RECEPTION, entry)
    assert waitlist.list_entries(clinic, f.RECEPTION) == []


def test_freed_time_is_offered_to_who_asked_for_an_earlier_visit(clinic: Clinic) -> None:
    world = f.world(clinic)
    later = world.day + timedelta(days=1)
    f.open_day(clinic, world.doctor_id, later)
    taken = {
        at: booking.book(
            clinic,
            f.RECEPTION,
            patient_id=f.patient(clinic),
            doctor_id=world.doctor_id,
            day=world.day,
            at=at,
        )
        for at in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    }
    booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=later,
        at="09:00",
    )
    request = waitlist.add(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id
    )
    [offer] = waitlist.offers(clinic, f.RECEPTION)
    assert (offer.request.id, offer.slot) == (request, None)  # nothing earlier is free

    booking.cancel(clinic, f.RECEPTION, taken["10:00"])
    [offer] = waitlist.offers(clinic, f.RECEPTION)
    assert offer.slot is not None
    assert (offer.slot.date, offer.slot.time, offer.doctor) == (
        world.day,
        time(10, 0),
        "Dr. Ada Lovelace",
    )
    waitlist.book_from_waitlist(
        clinic,
        f.RECEPTION,
        request,
        doctor_id=offer.slot.doctor_id,
        day=offer.slot.date,
        at=offer.slot.time,
    )
    assert waitlist.offers(clinic, f.RECEPTION) == []


def test_the_desks_undo_of_a_check_in_takes_back_only_the_check_in(
    clinic: Clinic, clock: FakeClock
) -> None:
    world = _today_world(clinic)
    visit = _book_today(clinic, world, "09:30")
    patient_flow.check_in(clinic, f.RECEPTION, visit)
    patient_flow.call_in(clinic, f.RECEPTION, visit)
    # The patient is with the doctor now: the Undo of the check-in is refused, not
    # turned into an undo of the call-in.
    with pytest.raises(ConflictError, match="check-in is not the last step"):
        patient_flow.undo_step(clinic, f.RECEPTION, visit, step="check_in")
    assert _status(clinic, visit) == "in_consultation"
    assert patient_flow.undo_step(clinic, f.RECEPTION, visit, step="call_in") == "arrived"
    assert patient_flow.undo_step(clinic, f.RECEPTION, visit, step="check_in") == "booked"
    with pytest.raises(ConflictError, match="call-in is not the last step"):
        patient_flow.undo_step(clinic, f.RECEPTION, visit, step="call_in")


def _booked_from_the_waitlist(clinic: Clinic) -> tuple[f.World, int, int]:
    """A request for Dr. Lovelace, booked into her 10:00 (request id, visit id)."""
    world = f.world(clinic)
    request = waitlist.add(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        days="mon,tue,wed,thu,fri", note="mornings",
    )  # fmt: skip
    visit = waitlist.book_from_waitlist(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="10:00"
    )
    return world, request, visit


def _waitlist_audit(clinic: Clinic, request: int) -> list[str]:
    with clinic.db.read() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "waitlist", AuditEntry.entity_id == request)
                .order_by(AuditEntry.seq)
            )
        )


def test_undo_of_a_booking_from_the_waitlist_cancels_it_and_the_request_waits_again(
    clinic: Clinic,
) -> None:
    world, request, visit = _booked_from_the_waitlist(clinic)
    assert waitlist.list_entries(clinic, f.RECEPTION) == []  # booked: not waiting
    assert waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request) == visit

    assert _status(clinic, visit) == "cancelled"
    [entry] = waitlist.list_entries(clinic, f.RECEPTION)
    assert (entry.id, entry.patient_id, entry.doctor_id, entry.days, entry.note) == (
        request, world.patient_id, world.doctor_id, "mon,tue,wed,thu,fri", "mornings",
    )  # fmt: skip
    with clinic.db.read() as session:
        row = session.get(WaitlistEntry, request)
        assert row is not None and (row.state, row.appointment_id) == ("waiting", None)
        cancel = session.execute(
            select(AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.entity == "appointment", AuditEntry.entity_id == visit)
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert cancel is not None and cancel.action == "appointment.cancelled"
    assert waitlist.UNDO_BOOK_NOTE in cancel.details
    assert _waitlist_audit(clinic, request) == [
        "waitlist.add",
        "waitlist.book",
        "waitlist.undo_book",
    ]

    # Once is all: the request is waiting, nothing is booked from it.
    with pytest.raises(NotFoundError):
        waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    # It is booked again as any waiting request is.
    again = waitlist.book_from_waitlist(
        clinic, f.RECEPTION, request, doctor_id=world.doctor_id, day=world.day, at="10:00"
    )
    assert _status(clinic, again) == "booked"


def test_undo_of_a_booking_from_the_waitlist_changes_nothing_when_refused(
    clinic: Clinic,
) -> None:
    world, request, visit = _booked_from_the_waitlist(clinic)
    with pytest.raises(PermissionDeniedError):
        waitlist.undo_book_from_waitlist(clinic, f.patient_actor(world.patient_id), request)
    # The database fails on the request's audit entry: the cancel goes back too.
    with (
        faults.failing_write(clinic, "audit_log", "INSERT", "NEW.action = 'waitlist.undo_book'"),
        pytest.raises(faults.FAILED),
    ):
        waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    assert _status(clinic, visit) == "booked"
    assert waitlist.list_entries(clinic, f.RECEPTION) == []
    assert _waitlist_audit(clinic, request) == ["waitlist.add", "waitlist.book"]

    # Another desk cancelled the visit meanwhile: the request stays booked, not waiting twice.
    booking.cancel(clinic, f.RECEPTION, visit)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        waitlist.undo_book_from_waitlist(clinic, f.RECEPTION, request)
    assert waitlist.list_entries(clinic, f.RECEPTION) == []


def test_a_waitlist_row_carries_the_birth_date_that_tells_namesakes_apart(clinic: Clinic) -> None:
    world = f.world(clinic)
    elder = f.patient(clinic, "Anna Krüger", date_of_birth="1948-02-03")
    unknown = f.patient(clinic, "Anna Krüger")
    for patient in (elder, unknown):
        waitlist.add(clinic, f.RECEPTION, patient_id=patient, doctor_id=world.doctor_id)
    rows = waitlist.list_entries(clinic, f.RECEPTION)
    assert [(r.patient_id, r.patient_born) for r in rows] == [
        (elder, date(1948, 2, 3)),
        (unknown, None),
    ]
