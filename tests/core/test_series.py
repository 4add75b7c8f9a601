"""Repeating a visit, and moving or cancelling a series' visit "and all later": each one
transaction, every visit or none, and a refusal names the visit that held the others."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hms_desktop.db.models import Appointment, AuditEntry, OutboxMessage
from hms_desktop.errors import SlotTakenError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.safety import audit_chain
from hms_desktop.services.scheduling import booking, hours, overlap, series
from hms_desktop.services.views import day_words
from tests import factories as f
from tests import faults

OTHER_DESK = Actor(user_id=None, username="other-desk", role="receptionist")


def _weekly_hours(w: f.World) -> None:
    """Both doctors see patients 09:00-12:00 on the world's weekday, every week."""
    for doctor in (w.doctor_id, w.other_doctor_id):
        hours.set_weekly(w.clinic, SYSTEM, doctor, w.day.strftime("%a").lower(),
                         [("09:00", "12:00")])  # fmt: skip


def _series(w: f.World, count: int = 4) -> list[int]:
    """A weekly series at 10:00 from the world's day, with confirmations on; its ids."""
    f.set_settings(w.clinic, send_booking_confirmation=True)
    _weekly_hours(w)
    made = series.book_series(
        w.clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id,
        dates=series.occurrence_dates(w.day, "weekly", count=count), at="10:00",
    )  # fmt: skip
    assert len(made.booked) == count and not made.conflicts
    return list(made.booked)


def _week(w: f.World, n: int) -> date:
    return w.day + timedelta(weeks=n)


_commits = f.write_commits


def _state(clinic: Clinic) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Every visit, every message and the audit log's length: what "nothing changed" means."""
    a, m = Appointment, OutboxMessage
    with clinic.db.read() as session:
        columns = (a.id, a.day, a.start_time, a.end_time, a.status, a.series_id)
        visits = session.execute(select(*columns, a.calendar_sequence).order_by(a.id)).all()
        messages = session.execute(
            select(m.id, m.appointment_id, m.kind, m.status).order_by(m.id)
        ).all()
        entries = len(session.scalars(select(AuditEntry.id)).all())
    return [tuple(v) for v in visits], [tuple(x) for x in messages], entries


def _visits(clinic: Clinic, ids: list[int]) -> list[tuple[date, time, str]]:
    rows = [booking.get_appointment(clinic, SYSTEM, i) for i in ids]
    return [(r.date, r.time, r.status) for r in rows]


def _new_entries(clinic: Clinic, after: int) -> list[tuple[str, int | None]]:
    with clinic.db.read() as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.entity_id)
            .where(AuditEntry.seq > after)
            .order_by(AuditEntry.seq)
        ).all()
    return [(r.action, r.entity_id) for r in rows]


def _head(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())) or 0)


def _messages(clinic: Clinic, appointment_id: int) -> list[tuple[str, str]]:
    with clinic.db.read() as session:
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.status)
            .where(OutboxMessage.appointment_id == appointment_id)
            .order_by(OutboxMessage.id)
        )
        return [(r.kind, r.status) for r in rows]


# --- cancel this and all later ------------------------------------------------------------


def test_cancel_this_and_all_later_cancels_every_visit_in_one_transaction(
    clinic: Clinic, world: f.World
) -> None:
    ids = _series(world)
    head = _head(clinic)
    done, commits = _commits(
        clinic, lambda: series.cancel_occurrences(clinic, f.RECEPTION, ids[1], and_later=True)
    )
    assert (done, commits) == (ids[1:], 1)
    assert [s for *_, s in _visits(clinic, ids)] == ["booked"] + ["cancelled"] * 3
    # Each visit's own entry, in date order, and its cancellation, as one by one.
    assert _new_entries(clinic, head) == [("appointment.cancelled", i) for i in ids[1:]]
    for appt in ids[1:]:
        assert _messages(clinic, appt) == [
            ("booking_confirmation", "expired"),
            ("appointment_cancel", "pending"),
        ]
    assert _messages(clinic, ids[0]) == [("booking_confirmation", "pending")]
    assert audit_chain.verify(clinic.db).ok


def test_cancel_this_and_all_later_failing_midway_cancels_none(
    clinic: Clinic, world: f.World
) -> None:
    ids = _series(world)
    before = _state(clinic)
    # The database fails on the last visit, after the earlier ones were cancelled in the
    # same transaction.
    condition = f"NEW.id = {ids[-1]} AND NEW.status = 'cancelled'"
    with (
        faults.failing_write(clinic, "appointments", "UPDATE", condition),
        pytest.raises(faults.FAILED),
    ):
        series.cancel_occurrences(clinic, f.RECEPTION, ids[1], and_later=True)
    assert _state(clinic) == before  # no visit cancelled, no entry, no message
    # Nothing stays locked or half-done: the same cancel goes through now.
    assert series.cancel_occurrences(clinic, f.RECEPTION, ids[1], and_later=True) == ids[1:]


def test_cancel_this_and_all_later_refused_for_one_visit_names_it_in_one_line(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    ids = _series(world)
    clock.set(datetime.combine(world.day, time(10, 5), tzinfo=clock.tz))  # the first began
    before = _state(clinic)
    with pytest.raises(ValidationError) as refused:
        series.cancel_occurrences(clinic, f.patient_actor(world.patient_id), ids[0], and_later=True)
    assert str(refused.value) == (
        f"The visit on {day_words(world.day)} at 10:00 cannot be cancelled (A visit that has "
        "started can no longer be cancelled online; call the clinic), so none of the 4 "
        "visits was cancelled."
    )
    assert _state(clinic) == before
    # From the next one on, the patient may.
    done = series.cancel_occurrences(
        clinic, f.patient_actor(world.patient_id), ids[1], and_later=True
    )
    assert done == ids[1:]


# --- move this and all later --------------------------------------------------------------


def test_move_this_and_all_later_moves_every_visit_in_one_transaction(
    clinic: Clinic, world: f.World
) -> None:
    ids = _series(world)
    head = _head(clinic)
    conflicts, commits = _commits(
        clinic,
        lambda: series.move_occurrences(
            clinic, f.RECEPTION, ids[1], day=_week(world, 1), at="11:00", and_later=True
        ),
    )
    assert (conflicts, commits) == ([], 1)
    assert _visits(clinic, ids) == [(world.day, time(10, 0), "booked")] + [
        (_week(world, n), time(11, 0), "booked") for n in (1, 2, 3)
    ]
    assert _new_entries(clinic, head) == [("appointment.reschedule", i) for i in ids[1:]]
    for appt in ids[1:]:
        assert _messages(clinic, appt)[-1] == ("appointment_update", "pending")
    assert audit_chain.verify(clinic.db).ok


def test_move_this_and_all_later_failing_midway_moves_none(clinic: Clinic, world: f.World) -> None:
    ids = _series(world)
    before = _state(clinic)
    with (
        faults.failing_write(clinic, "appointments", "UPDATE", f"NEW.id = {ids[-1]}"),
        pytest.raises(faults.FAILED),
    ):
        series.move_occurrences(
            clinic, f.RECEPTION, ids[1], day=_week(world, 1), at="11:00", and_later=True
        )
    assert _state(clinic) == before  # all at 10:00, no entry, no update message
    assert (
        series.move_occurrences(
            clinic, f.RECEPTION, ids[1], day=_week(world, 1), at="11:00", and_later=True
        )
        == []
    )


@pytest.mark.parametrize(
    ("whose", "why"),
    [("doctor", "another desk booked it"), ("patient", "José Núñez has another visit then")],
)
def test_a_time_taken_between_listing_and_moving_moves_no_visit(
    clinic: Clinic,
    world: f.World,
    monkeypatch: pytest.MonkeyPatch,
    whose: str,
    why: str,
) -> None:
    ids = _series(world)
    third = _week(world, 2)
    # Another desk books the third visit's new time (the doctor's, or the patient with
    # the other doctor) after this desk's listing found every time free.
    patient, doctor = (
        (world.other_patient_id, world.doctor_id)
        if whose == "doctor"
        else (world.patient_id, world.other_doctor_id)
    )
    listed = series.move_conflicts
    before: list[object] = []

    def listing_then_another_desk_books(*args: Any, **kw: Any) -> list[series.Conflict]:
        found = listed(*args, **kw)
        booking.book(clinic, OTHER_DESK, patient_id=patient, doctor_id=doctor, day=third,
                     at="11:00")  # fmt: skip
        before.append(_state(clinic))
        return found

    monkeypatch.setattr(series, "move_conflicts", listing_then_another_desk_books)
    with pytest.raises(SlotTakenError) as refused:
        series.move_occurrences(
            clinic, f.RECEPTION, ids[1], day=_week(world, 1), at="11:00", and_later=True
        )
    assert str(refused.value) == (
        f"{day_words(third)} 11:00 is taken now ({why}), so none of the 3 visits was moved."
    )
    assert [_state(clinic)] == before  # the week before the taken time did not move either
    assert [t for _, t, _ in _visits(clinic, ids)] == [time(10, 0)] * 4


def test_on_postgresql_a_time_taken_after_the_transactions_own_check_is_refused_by_the_database(
    pg_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the check cannot see: the other desk commits between the moving
    transaction's check of a time and its write. The exclusion constraint refuses the
    write, and the refusal is told as any other; the other desk's booking never waited
    for the moving transaction (its audit entries come last)."""
    clinic = pg_clinic
    world = f.world(clinic)
    ids = _series(world)
    third = _week(world, 2)
    real = overlap.clash_error
    checks: list[date] = []

    def checked_then_another_desk_books(session: Any, *args: Any, **kw: Any) -> Any:
        found = real(session, *args, **kw)
        checks.append(args[2])
        if checks.count(third) == 2 and found is None:  # the move's own check (listing: 1)
            booking.book(clinic, OTHER_DESK, patient_id=world.other_patient_id,
                         doctor_id=world.doctor_id, day=third, at="11:00")  # fmt: skip
        return found

    monkeypatch.setattr(overlap, "clash_error", checked_then_another_desk_books)
    with pytest.raises(SlotTakenError) as refused:
        series.move_occurrences(
            clinic, f.RECEPTION, ids[1], day=_week(world, 1), at="11:00", and_later=True
        )
    assert checks.count(third) == 2
    assert str(refused.value) == (
        f"{day_words(third)} 11:00 is taken now (another desk booked it), so none of the 3 "
        "visits was moved."
    )
    assert [t for _, t, _ in _visits(clinic, ids)] == [time(10, 0)] * 4
    assert audit_chain.verify(clinic.db).ok


# --- repeat a visit ----------------------------------------------------------------------


def _first(w: f.World) -> int:
    f.set_settings(w.clinic, send_booking_confirmation=True)
    _weekly_hours(w)
    return booking.book(w.clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id,
                        day=w.day, at="10:00", reason="knee")  # fmt: skip


def test_repeat_books_every_visit_in_one_transaction(clinic: Clinic, world: f.World) -> None:
    first = _first(world)
    head = _head(clinic)
    made, commits = _commits(
        clinic, lambda: series.repeat_visit(clinic, f.RECEPTION, first, "weekly", count=4)
    )
    assert commits == 1 and made.series_id == first and made.conflicts == ()
    assert _visits(clinic, [first, *made.booked]) == [
        (_week(world, n), time(10, 0), "booked") for n in range(4)
    ]
    assert _new_entries(clinic, head) == [("appointment.book", i) for i in made.booked]
    for appt in made.booked:
        assert _messages(clinic, appt) == [("booking_confirmation", "pending")]
    with clinic.db.read() as session:
        made_of = session.execute(select(Appointment.series_id, Appointment.reason)).all()
    assert {tuple(r) for r in made_of} == {(first, "knee")}
    assert audit_chain.verify(clinic.db).ok


def test_repeat_failing_midway_books_none(clinic: Clinic, world: f.World) -> None:
    first = _first(world)
    before = _state(clinic)
    condition = f"NEW.day = '{_week(world, 3).isoformat()}'"
    with (
        faults.failing_write(clinic, "appointments", "INSERT", condition),
        pytest.raises(faults.FAILED),
    ):
        series.repeat_visit(clinic, f.RECEPTION, first, "weekly", count=4)
    assert _state(clinic) == before  # no visit, not even the first one made a series
    assert len(series.repeat_visit(clinic, f.RECEPTION, first, "weekly", count=4).booked) == 3


def _another_desk_books_after_the_listing(
    monkeypatch: pytest.MonkeyPatch, world: f.World, day: date
) -> list[object]:
    """Once :func:`series.plan` has listed the dates, another desk books ``day`` at 10:00
    for another patient; returns the list that then holds the database's state."""
    listed = series.plan
    before: list[object] = []

    def listing_then_another_desk_books(*args: Any, **kw: Any) -> list[series.Conflict]:
        found = listed(*args, **kw)
        booking.book(world.clinic, OTHER_DESK, patient_id=world.other_patient_id,
                     doctor_id=world.doctor_id, day=day, at="10:00")  # fmt: skip
        before.append(_state(world.clinic))
        return found

    monkeypatch.setattr(series, "plan", listing_then_another_desk_books)
    return before


def test_a_time_taken_between_listing_and_repeating_books_no_visit(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _first(world)
    third = _week(world, 2)
    before = _another_desk_books_after_the_listing(monkeypatch, world, third)
    with pytest.raises(SlotTakenError) as refused:
        series.repeat_visit(clinic, f.RECEPTION, first, "weekly", count=4)
    assert str(refused.value) == (
        f"{day_words(third)} 10:00 is taken now (another desk booked it), so none of the 3 "
        "repeat visits was booked."
    )
    assert [_state(clinic)] == before
    monkeypatch.undo()
    # Asked again, the listing names that date, and the others can be booked.
    listed_again = series.repeat_visit(clinic, f.RECEPTION, first, "weekly", count=4)
    assert listed_again.booked == () and [c.date for c in listed_again.conflicts] == [third]


def test_a_new_series_is_booked_in_one_transaction(clinic: Clinic, world: f.World) -> None:
    """``hms book --repeat`` and every other new series: one commit, each visit audited
    and confirmed as a booking is, the first visit naming the series."""
    f.set_settings(clinic, send_booking_confirmation=True)
    _weekly_hours(world)
    dates = series.occurrence_dates(world.day, "weekly", count=4)
    made, commits = _commits(clinic, lambda: series.book_series(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        dates=dates, at="10:00",
    ))  # fmt: skip
    assert commits == 1 and len(made.booked) == 4 and made.series_id == made.booked[0]
    visits, messages, _ = _state(clinic)
    assert [(v[1], v[5]) for v in visits] == [(d, made.booked[0]) for d in dates]
    assert len(messages) == 4  # a confirmation each
    with clinic.db.read() as session:
        books = session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.action == "appointment.book")
        ).all()
    assert sorted(books) == sorted(made.booked)
    assert audit_chain.verify(clinic.db).ok


def test_a_time_taken_between_listing_and_booking_a_new_series_books_no_visit(
    clinic: Clinic, world: f.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to keep the visits booked before the taken date: a series half made,
    though the command had said nothing is booked while any date cannot be."""
    _weekly_hours(world)
    dates = series.occurrence_dates(world.day, "weekly", count=4)
    third = dates[2]
    before = _another_desk_books_after_the_listing(monkeypatch, world, third)
    with pytest.raises(SlotTakenError) as refused:
        series.book_series(clinic, f.RECEPTION, patient_id=world.patient_id,
                           doctor_id=world.doctor_id, dates=dates, at="10:00")  # fmt: skip
    assert str(refused.value) == (
        f"{day_words(third)} 10:00 is taken now (another desk booked it), so none of the 4 "
        "visits was booked."
    )
    assert [_state(clinic)] == before
    monkeypatch.undo()
    # "Book the rest" books the other three, each on its own.
    rest = series.book_series(clinic, f.RECEPTION, patient_id=world.patient_id,
                              doctor_id=world.doctor_id, dates=dates, at="10:00",
                              book_the_rest=True)  # fmt: skip
    assert len(rest.booked) == 3 and [c.date for c in rest.conflicts] == [third]


def test_a_new_series_failing_midway_books_none(clinic: Clinic, world: f.World) -> None:
    _weekly_hours(world)
    dates = series.occurrence_dates(world.day, "weekly", count=4)
    before = _state(clinic)
    with (
        faults.failing_write(clinic, "appointments", "INSERT", f"NEW.day = '{dates[3]}'"),
        pytest.raises(faults.FAILED),
    ):
        series.book_series(clinic, f.RECEPTION, patient_id=world.patient_id,
                           doctor_id=world.doctor_id, dates=dates, at="10:00")  # fmt: skip
    assert _state(clinic) == before
