"""Sign-in that leaks nothing and locks nobody out; the administrator's account tools.

Time runs on the fake clinic clock: a name's growing delay moves the clock, nothing sleeps.
"""

from __future__ import annotations

import statistics
import time

import pytest

from hms_desktop.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    SignedOutError,
    ValidationError,
)
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import accounts, users
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.factories import set_settings

SECRET = "Sup3r-secret-pw"


def _fail(clinic: Clinic, name: str, password: str = "wrong-password") -> str:
    with pytest.raises(AuthenticationError) as err:
        accounts.login(clinic, name, password)
    return str(err.value)


def test_unknown_name_and_wrong_password_give_the_same_answer_in_the_same_time(
    clinic: Clinic,
) -> None:
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    accounts.login(clinic, "desk", SECRET)  # the first argon2 and session costs are paid
    wrong_times, unknown_times = [], []
    for n in range(4):  # below the delay threshold: only the answer's own work is timed
        start = time.perf_counter()
        wrong = _fail(clinic, "desk", f"wrong-{n}")
        wrong_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        unknown = _fail(clinic, f"nobody{n}", SECRET)
        unknown_times.append(time.perf_counter() - start)
        assert wrong == unknown == "Wrong user name or password."
    slow, fast = sorted((statistics.median(wrong_times), statistics.median(unknown_times)))
    # Both verify one argon2 hash (a tenth of a second) and write one audit entry.
    assert slow / fast < 1.6, (wrong_times, unknown_times)


def test_every_failure_is_audited_with_the_pc_name_known_name_or_not(clinic: Clinic) -> None:
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    _fail(clinic, "desk")
    _fail(clinic, "ghost")
    failed = audit.list_entries(clinic, SYSTEM, action_prefix="login.failed")
    assert sorted(e.actor for e in failed) == ["(unknown name)", "desk"]
    assert all('"host": "' in e.details for e in failed)
    assert any('"name": "ghost"' in e.details for e in failed)


def test_repeated_failures_slow_a_name_down_but_never_block_the_right_password(
    clinic: Clinic, clock: FakeClock
) -> None:
    set_settings(clinic, lockout_threshold=3)
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    for n in range(12):  # an attacker hammering the name
        with pytest.raises(AuthenticationError, match="Wrong user name or password"):
            accounts.login(clinic, "desk", f"guess-{n}", sleep=sleep)
    # No wait for the first three; then 1, 2, 4 ... seconds, never more than the cap.
    assert waits[:3] == [1.0, 2.0, 4.0]
    assert waits == sorted(waits)
    assert max(waits) == accounts.MAX_SIGN_IN_DELAY_S
    assert [u.state for u in users.list_users(clinic, SYSTEM)] == ["slowed down"]
    # The real user, right after the attack: answered after the delay, and let in.
    waits.clear()
    actor = accounts.login(clinic, "desk", SECRET, sleep=sleep)
    assert actor.username == "desk"
    assert waits == [accounts.MAX_SIGN_IN_DELAY_S]
    # A success forgets the failures: the next sign-in is answered at once.
    waits.clear()
    accounts.login(clinic, "desk", SECRET, sleep=sleep)
    assert waits == []


def test_an_unknown_name_is_slowed_down_exactly_like_a_real_one(
    clinic: Clinic, clock: FakeClock
) -> None:
    set_settings(clinic, lockout_threshold=2)
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    delays: dict[str, list[float]] = {"desk": [], "ghost": []}
    for name in delays:
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                accounts.login(clinic, name, "wrong-password", sleep=delays[name].append)
    assert delays["desk"] == delays["ghost"] == [1.0, 2.0, 4.0]


def test_failures_are_forgotten_after_an_hour_and_by_an_unlock(
    clinic: Clinic, clock: FakeClock
) -> None:
    set_settings(clinic, lockout_threshold=1)
    user_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    waits: list[float] = []
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            accounts.login(clinic, "desk", "wrong-password", sleep=waits.append)
    assert users.list_users(clinic, SYSTEM)[0].locked
    with pytest.raises(PermissionDeniedError):
        users.unlock(clinic, f.RECEPTION, user_id)
    users.unlock(clinic, SYSTEM, user_id)
    assert not users.list_users(clinic, SYSTEM)[0].locked
    waits.clear()
    accounts.login(clinic, "desk", SECRET, sleep=waits.append)
    assert waits == []
    with pytest.raises(AuthenticationError):
        accounts.login(clinic, "desk", "wrong-password", sleep=waits.append)
    clock.advance(hours=1, seconds=1)
    assert not users.list_users(clinic, SYSTEM)[0].locked


def test_a_disabled_accounts_window_cannot_book_the_quick_way(clinic: Clinic) -> None:
    """A plain booking is read and written on a kept driver connection, not a session (the
    quick booking); the account's check must hold there too."""
    w = f.world(clinic)
    desk_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    desk = accounts.login(clinic, "desk", SECRET)
    signed_out: list[bool] = []
    window_clinic = users.signed_in_clinic(
        clinic, desk, on_signed_out=lambda: signed_out.append(True)
    )
    first = dict(patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day)
    booked = booking.book(window_clinic, desk, at="09:00", **first)
    users.set_active(clinic, SYSTEM, desk_id, False)
    with pytest.raises(SignedOutError):
        booking.book(window_clinic, desk, at="10:00", **first)
    assert signed_out == [True]
    assert [a.id for a in booking.list_appointments(clinic, SYSTEM)] == [booked]
    users.set_active(clinic, SYSTEM, desk_id, True)
    assert booking.book(window_clinic, desk, at="10:00", **first) != booked


def test_a_disabled_account_cannot_sign_in_and_an_open_session_ends(clinic: Clinic) -> None:
    w = f.world(clinic)
    desk_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    desk = accounts.login(clinic, "desk", SECRET)
    window_clinic = users.signed_in_clinic(clinic, desk)
    assert booking.list_appointments(window_clinic, desk) == []
    users.set_active(clinic, SYSTEM, desk_id, False)
    # The open session: its very next action is refused with the sign-out.
    with pytest.raises(SignedOutError, match="signed out"):
        booking.list_appointments(window_clinic, desk)
    with pytest.raises(SignedOutError):
        booking.book(
            window_clinic,
            desk,
            patient_id=w.patient_id,
            doctor_id=w.doctor_id,
            day=w.day,
            at="09:00",
        )
    # A wrong password still gets the common answer; the right one says why.
    assert _fail(clinic, "desk") == "Wrong user name or password."
    assert "disabled" in _fail(clinic, "desk", SECRET)
    assert [u.state for u in users.list_users(clinic, SYSTEM)] == ["disabled"]
    users.set_active(clinic, SYSTEM, desk_id, True)
    assert booking.list_appointments(window_clinic, desk) == []
    actions = [e.action for e in audit.list_entries(clinic, SYSTEM, action_prefix="user.")]
    assert {"user.disable", "user.enable"} <= set(actions)


def test_an_administrator_cannot_disable_themself_or_the_last_administrator(
    clinic: Clinic,
) -> None:
    boss_id = accounts.create_first_admin(clinic, "boss", SECRET)
    boss = accounts.login(clinic, "boss", SECRET)
    with pytest.raises(ValidationError, match="your own account"):
        users.set_active(clinic, boss, boss_id, False)
    with pytest.raises(ValidationError, match="last enabled administrator"):
        users.set_active(clinic, SYSTEM, boss_id, False)
    with pytest.raises(NotFoundError):
        users.set_active(clinic, SYSTEM, 9999, False)
    with pytest.raises(NotFoundError, match="hms user list"):
        users.user_id_by_name(clinic, "nobody")


def test_a_reset_password_must_be_changed_at_the_next_sign_in(clinic: Clinic) -> None:
    desk_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    with pytest.raises(PermissionDeniedError):
        users.reset_password(clinic, f.RECEPTION, desk_id, "temporary-pw-1")
    users.reset_password(clinic, SYSTEM, desk_id, "temporary-pw-1")
    _fail(clinic, "desk", SECRET)
    actor = accounts.login(clinic, "desk", "temporary-pw-1")
    assert actor.must_change_password
    assert users.list_users(clinic, SYSTEM)[0].state == "must change password"
    with pytest.raises(ValidationError, match="differs"):
        accounts.change_password(clinic, actor, "temporary-pw-1", "temporary-pw-1")
    with pytest.raises(AuthenticationError, match="current password"):
        accounts.change_password(clinic, actor, "not-it-at-all", "my-own-password")
    accounts.change_password(clinic, actor, "temporary-pw-1", "my-own-password")
    assert not accounts.login(clinic, "desk", "my-own-password").must_change_password
    # Set without a forced change (``hms user passwd``).
    users.reset_password(clinic, SYSTEM, desk_id, "set-by-admin-1", must_change=False)
    assert not accounts.login(clinic, "desk", "set-by-admin-1").must_change_password
    actions = {e.action for e in audit.list_entries(clinic, SYSTEM, action_prefix="user.")}
    assert {"user.reset_password", "user.password", "user.set_password"} <= actions


def test_the_user_list_shows_role_state_name_and_last_sign_in(clinic: Clinic) -> None:
    f.doctor(clinic, f.department(clinic), "Dr. Grace Hopper", username="ghopper")
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    accounts.login(clinic, "desk", SECRET)
    rows = {u.username: u for u in users.list_users(clinic, SYSTEM)}
    assert rows["desk"].last_login_at == clinic.now()
    assert rows["desk"].role == "receptionist"
    assert all(u.state == "active" for u in rows.values())
    assert (rows["ghopper"].role, rows["ghopper"].name) == ("doctor", "Dr. Grace Hopper")
    assert rows["ghopper"].last_login_at is None
    with pytest.raises(PermissionDeniedError):
        users.list_users(clinic, f.RECEPTION)
