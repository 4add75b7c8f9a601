"""Undo at the desk, and closing a visit before it has begun: the service rules."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from hms_desktop.db.models import AuditEntry, OutboxMessage
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SlotTakenError,
    ValidationError,
)
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import booking, hours, series, undo
from tests import factories as f
from tests import faults

ADMIN = Actor(user_id=None, username="boss", role="admin")


def _book(w: f.World, at: str, patient: int | None = None) -> int:
    return booking.book(
        w.clinic, f.RECEPTION, patient_id=patient or w.patient_id, doctor_id=w.doctor_id,
        day=w.day, at=at, visit_type="follow_up", reason="knee",
    )  # fmt: skip


def _status(clinic: Clinic, appointment_id: int) -> str:
    return booking.get_appointment(clinic, SYSTEM, appointment_id).status


def _outbox(clinic: Clinic, appointment_id: int) -> list[tuple[str, str]]:
    with clinic.db.read() as session:
        return [
            (m.kind, m.status)
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.appointment_id == appointment_id)
            )
        ]


def test_undo_of_a_fresh_booking_leaves_no_visit_and_withdraws_its_confirmation(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    appt = _book(world, "09:00")
    assert _outbox(clinic, appt) == [("booking_confirmation", "pending")]
    assert undo.undo_booking(clinic, f.RECEPTION, appt) is True
    with pytest.raises(NotFoundError):
        booking.get_appointment(clinic, SYSTEM, appt)
    # Nothing on the patient's record, no cancellation counted, no email going out.
    mine = booking.AppointmentFilter(patient_id=world.patient_id)
    assert booking.list_appointments(clinic, SYSTEM, mine) == []
    assert booking.count_appointments(clinic, SYSTEM, booking.AppointmentFilter(
        statuses=("cancelled",))) == 0  # fmt: skip
    assert _outbox(clinic, appt) == []
    # The audit log keeps the history: booked, then taken back.
    entries = audit.list_entries(clinic, ADMIN, action_prefix="appointment.")
    assert sorted(e.action for e in entries if e.entity_id == appt) == [
        "appointment.book",
        "appointment.undo_book",
    ]
    with pytest.raises(NotFoundError):
        undo.undo_booking(clinic, f.RECEPTION, appt)  # twice: it is gone
    # The slot is free again: another patient books it.
    _book(world, "09:00", patient=world.other_patient_id)


def test_undo_of_a_booking_already_told_or_changed_cancels_it_as_an_undo(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    told = _book(world, "09:00")
    with clinic.db.write() as session:  # the worker sent the confirmation meanwhile
        session.execute(
            update(OutboxMessage).where(OutboxMessage.appointment_id == told).values(status="sent")
        )
    assert undo.undo_booking(clinic, f.RECEPTION, told) is False
    assert _status(clinic, told) == "cancelled"
    assert ("appointment_cancel", "pending") in _outbox(clinic, told)  # as any cancel
    entries = audit.list_entries(clinic, ADMIN, action_prefix="appointment.")
    cancel = next(e for e in entries if e.action == "appointment.cancelled")
    assert cancel.entity_id == told and undo.UNDO_BOOKING_NOTE in cancel.details

    moved = _book(world, "10:00")
    booking.reschedule(clinic, f.RECEPTION, moved, day=world.day, at="11:00")
    assert undo.undo_booking(clinic, f.RECEPTION, moved) is False
    assert _status(clinic, moved) == "cancelled"
    with pytest.raises(ConflictError):
        undo.undo_booking(clinic, f.RECEPTION, moved)  # twice: it is not booked any more


def test_undo_of_a_cancel_books_the_same_visit_again_only_while_the_time_is_free(
    clinic: Clinic, world: f.World
) -> None:
    first = _book(world, "09:00")
    booking.cancel(clinic, f.RECEPTION, first)
    again = undo.undo_cancel(clinic, f.RECEPTION, first)
    row = booking.get_appointment(clinic, SYSTEM, again)
    assert (row.status, row.date, row.time, row.visit_type, row.reason) == (
        "booked", world.day, time(9, 0), "follow_up", "knee",
    )  # fmt: skip
    assert _status(clinic, first) == "cancelled"  # history is not rewritten

    booking.cancel(clinic, f.RECEPTION, again)
    _book(world, "09:00", patient=world.other_patient_id)  # someone took the time
    with pytest.raises(SlotTakenError):
        undo.undo_cancel(clinic, f.RECEPTION, again)
    with pytest.raises(ConflictError):
        undo.undo_cancel(clinic, f.RECEPTION, _book(world, "10:00"))  # not cancelled


def test_undo_of_a_reschedule_moves_the_visit_back(clinic: Clinic, world: f.World) -> None:
    appt = _book(world, "09:00")
    booking.reschedule(clinic, f.RECEPTION, appt, day=world.day, at="11:00")
    undo.undo_reschedule(
        clinic, f.RECEPTION, appt, day=world.day, at=time(9, 0), doctor_id=world.doctor_id
    )
    row = booking.get_appointment(clinic, SYSTEM, appt)
    assert (row.date, row.time, row.status) == (world.day, time(9, 0), "booked")


def test_mark_completed_is_refused_before_the_start_unless_closed_early(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _book(world, "10:30")
    doctor = f.doctor_actor(world.doctor_id)
    clock.set(datetime.combine(world.day, time(10, 0), tzinfo=clock.tz))
    assert not booking.visit_has_begun(clinic, world.day, time(10, 30))
    with pytest.raises(ValidationError, match="has not begun yet"):
        booking.complete(clinic, doctor, appt)
    assert _status(clinic, appt) == "booked"
    booking.complete(clinic, doctor, appt, early_close=True)
    assert _status(clinic, appt) == "completed"
    closed = audit.list_entries(clinic, ADMIN, action_prefix="appointment.completed")
    assert [e.entity_id for e in closed] == [appt] and "early_close" in closed[0].details

    later = _book(world, "11:00")
    clock.set(datetime.combine(world.day, time(11, 0), tzinfo=clock.tz))
    assert booking.visit_has_begun(clinic, world.day, time(11, 0))
    booking.complete(clinic, doctor, later)  # from its start on, no question
    assert _status(clinic, later) == "completed"


def test_undo_of_mark_completed_until_a_treatment_is_recorded(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    appt = _book(world, "09:00")
    doctor = f.doctor_actor(world.doctor_id)
    clock.set(datetime.combine(world.day, time(9, 10), tzinfo=clock.tz))
    booking.complete(clinic, doctor, appt)
    undo.undo_complete(clinic, doctor, appt)
    assert _status(clinic, appt) == "booked"
    with pytest.raises(ConflictError, match="only a completed visit"):
        undo.undo_complete(clinic, doctor, appt)
    booking.complete(clinic, doctor, appt)
    records.record_treatment(clinic, doctor, appt, records.TreatmentForm(diagnosis="sprain"))
    with pytest.raises(ConflictError, match="treatment is recorded"):
        undo.undo_complete(clinic, doctor, appt)
    assert _status(clinic, appt) == "completed"
    with pytest.raises(PermissionDeniedError, match="reopen"):
        undo.undo_complete(clinic, f.doctor_actor(world.other_doctor_id), appt)


def test_no_show_only_after_the_start_and_undo_reopens_it(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    from hms_desktop.services import policy

    appt = _book(world, "10:00")
    doctor = f.doctor_actor(world.doctor_id)
    row = booking.get_appointment(clinic, SYSTEM, appt)
    facts = policy.VisitFacts(row.doctor_id, row.patient_id, row.date, row.time, row.status)
    clock.set(datetime.combine(world.day, time(4, 40), tzinfo=clock.tz))  # that morning
    assert not policy.may_mark_no_show(doctor, facts, clinic.now())
    assert "no_show" not in policy.row_actions(f.RECEPTION, row, clinic.now())
    for who in (doctor, f.RECEPTION):
        with pytest.raises(ValidationError, match="starts at 10:00; a no-show can be recorded"):
            booking.set_status(clinic, who, appt, "no_show")
    assert _status(clinic, appt) == "booked"

    clock.set(datetime.combine(world.day, time(10, 0), tzinfo=clock.tz))  # due now
    assert policy.may_mark_no_show(doctor, facts, clinic.now())
    booking.set_status(clinic, doctor, appt, "no_show")
    undo.undo_no_show(clinic, doctor, appt)  # the patient came after all
    assert _status(clinic, appt) == "booked"
    reopened = audit.list_entries(clinic, ADMIN, action_prefix="appointment.reopen")
    assert [e.entity_id for e in reopened] == [appt]
    with pytest.raises(ConflictError, match="only a no-show visit"):
        undo.undo_no_show(clinic, doctor, appt)
    booking.set_status(clinic, doctor, appt, "no_show")
    with pytest.raises(PermissionDeniedError):
        undo.undo_no_show(clinic, f.doctor_actor(world.other_doctor_id), appt)


# --- undo of a repeat: every visit it booked, or none ---------------------------------------


def _repeated(w: f.World, count: int = 4) -> tuple[int, tuple[int, ...]]:
    """A visit at 10:00 repeated weekly (``count`` visits in all): its id and the repeats'."""
    hours.set_weekly(w.clinic, SYSTEM, w.doctor_id, w.day.strftime("%a").lower(),
                     [("09:00", "12:00")])  # fmt: skip
    first = _book(w, "10:00")
    made = series.repeat_visit(w.clinic, f.RECEPTION, first, "weekly", count=count)
    assert len(made.booked) == count - 1 and not made.conflicts
    return first, made.booked


def _statuses(clinic: Clinic, ids: tuple[int, ...]) -> list[str]:
    return [_status(clinic, i) for i in ids]


def _audit_count(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _outbox_all(clinic: Clinic) -> list[tuple[int | None, str, str]]:
    message = OutboxMessage
    with clinic.db.read() as session:
        rows = session.execute(
            select(message.appointment_id, message.kind, message.status).order_by(message.id)
        )
        return [(r.appointment_id, r.kind, r.status) for r in rows]


def test_undo_of_a_repeat_takes_back_every_visit_it_booked_as_one_undo(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    first, repeats = _repeated(world)
    before = _audit_count(clinic)
    done = undo.undo_repeat(clinic, f.RECEPTION, repeats)
    # A series' visits are cancelled (as a single undo cancels one), the first stays.
    assert done == undo.RepeatUndone(deleted=(), cancelled=tuple(sorted(repeats)))
    assert _statuses(clinic, repeats) == ["cancelled"] * 3
    assert _status(clinic, first) == "booked"
    for appt in repeats:  # each patient's calendar loses the visit, as with any cancel
        assert ("appointment_cancel", "pending") in _outbox(clinic, appt)
    # Each visit's entry as the single undo writes it, and one entry for the whole undo.
    entries = audit.list_entries(clinic, ADMIN, action_prefix="appointment.")
    new = [e for e in entries if e.id > before]
    cancels = [e for e in new if e.action == "appointment.cancelled"]
    assert sorted(e.entity_id for e in cancels) == sorted(repeats)  # type: ignore[type-var]
    assert all(undo.UNDO_BOOKING_NOTE in e.details for e in cancels)
    [whole] = [e for e in new if e.action == "appointment.undo_repeat"]
    assert whole.entity_id == first and whole.patient_id == world.patient_id
    assert all(str(i) in whole.details for i in repeats)
    assert len(new) == len(repeats) + 1
    with pytest.raises(ConflictError, match="none of the 3 repeat visits"):
        undo.undo_repeat(clinic, f.RECEPTION, repeats)  # twice: nothing is booked any more


def test_undo_of_a_repeat_one_visit_of_which_changed_meanwhile_undoes_nothing(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    first, repeats = _repeated(world)
    second_week = world.day + timedelta(weeks=2)
    [changed] = [
        i for i in repeats if booking.get_appointment(clinic, SYSTEM, i).date == second_week
    ]
    booking.cancel(clinic, ADMIN, changed)  # another desk, meanwhile
    before, outbox = _audit_count(clinic), _outbox_all(clinic)
    with pytest.raises(ConflictError) as refused:
        undo.undo_repeat(clinic, f.RECEPTION, repeats)
    # One line: which visit, why, and that nothing was done.
    assert str(refused.value) == (
        f"The visit on {second_week:%a %-d %b %Y} at 10:00 was cancelled meanwhile, "
        "so none of the 3 repeat visits was taken back."
    )
    assert "\n" not in str(refused.value)
    # Nothing changed: the others stay booked, no audit entry, no message.
    assert [(i, _status(clinic, i)) for i in sorted(repeats)] == [
        (i, "cancelled" if i == changed else "booked") for i in sorted(repeats)
    ]
    assert _status(clinic, first) == "booked"
    assert _audit_count(clinic) == before and _outbox_all(clinic) == outbox
    # The visits that can go still go one by one, as before the repeat's Undo existed.
    others = tuple(i for i in repeats if i != changed)
    assert undo.undo_repeat(clinic, f.RECEPTION, others).cancelled == tuple(sorted(others))


def test_undo_of_a_repeat_that_fails_midway_leaves_every_visit_booked(
    clinic: Clinic, world: f.World
) -> None:
    f.set_settings(clinic, send_booking_confirmation=True)
    _first, repeats = _repeated(world)
    last = max(repeats, key=lambda i: booking.get_appointment(clinic, SYSTEM, i).date)
    before, outbox = _audit_count(clinic), _outbox_all(clinic)
    # The database fails on the last visit, after the earlier ones were cancelled in
    # the same transaction.
    condition = f"NEW.id = {last} AND NEW.status = 'cancelled'"
    with (
        faults.failing_write(clinic, "appointments", "UPDATE", condition),
        pytest.raises(faults.FAILED),
    ):
        undo.undo_repeat(clinic, f.RECEPTION, repeats)
    assert _statuses(clinic, repeats) == ["booked"] * 3
    assert _audit_count(clinic) == before and _outbox_all(clinic) == outbox
    # Nothing stays locked or half-done: the same undo goes through now.
    assert len(undo.undo_repeat(clinic, f.RECEPTION, repeats).cancelled) == 3
    assert _statuses(clinic, repeats) == ["cancelled"] * 3


def test_on_postgresql_a_booking_at_another_desk_goes_through_while_a_repeat_is_undone(
    pg_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The undo's audit entries go last (audit_chain.appended_last). Before, it held the
    audit chain from its first visit on, so a booking on a later visit's day waited for it
    while holding that day's count, which the undo wanted next: a deadlock across PCs
    (here, in one thread, the booking's lock timeout)."""
    clinic = pg_clinic
    world = f.world(clinic)
    _first, repeats = _repeated(world)
    last_week = world.day + timedelta(weeks=3)
    other_desk = Actor(user_id=None, username="other-desk", role="receptionist")
    real = booking.change_status
    booked: list[int] = []

    def cancelled_then_another_desk_books(*args: object, **kw: object) -> None:
        real(*args, **kw)  # type: ignore[arg-type]
        if not booked:  # after the undo's first visit, in its transaction
            new_id = booking.book(clinic, other_desk, patient_id=world.other_patient_id,
                                  doctor_id=world.doctor_id, day=last_week, at="11:00")  # fmt: skip
            booked.append(new_id)

    monkeypatch.setattr(booking, "change_status", cancelled_then_another_desk_books)
    done = undo.undo_repeat(clinic, f.RECEPTION, repeats)
    assert len(done.cancelled) == 3 and len(booked) == 1
    assert _statuses(clinic, repeats) == ["cancelled"] * 3
    assert _status(clinic, booked[0]) == "booked"
    assert audit_chain.verify(clinic.db).ok
