"""``hms user list|disable|enable|unlock|reset-password|passwd`` on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest

from hms_desktop.errors import AuthenticationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts, users
from hms_desktop.services.safety import audit
from tests.cli.conftest import Run, assert_one_line_error

SECRET = "s3cret-enough"


def test_list_disable_enable_unlock_and_passwords(
    hms: Run, live_clinic: Clinic, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.create_user(live_clinic, SYSTEM, "desk", SECRET, "receptionist")
    accounts.login(live_clinic, "desk", SECRET)
    listed = hms("user", "list", "--json", database=database_url)
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert (row["username"], row["role"], row["state"]) == ("desk", "receptionist", "active")
    assert row["last_login_at"]
    table = hms("user", "list", database=database_url)
    assert "Last sign-in" in table.out and "desk" in table.out

    assert hms("user", "disable", "desk", database=database_url).code == 0
    with pytest.raises(AuthenticationError, match="disabled"):
        accounts.login(live_clinic, "desk", SECRET)
    assert "disabled" in hms("user", "list", database=database_url).out
    assert hms("user", "enable", "DESK", database=database_url).code == 0
    assert hms("user", "unlock", "desk", database=database_url).code == 0

    monkeypatch.setattr("sys.stdin", io.StringIO("temporary-pass\n"))
    assert (
        hms("user", "reset-password", "desk", "--password-stdin", database=database_url).code == 0
    )
    assert accounts.login(live_clinic, "desk", "temporary-pass").must_change_password
    monkeypatch.setattr("sys.stdin", io.StringIO("chosen-by-me-1\n"))
    assert hms("user", "passwd", "desk", "--password-stdin", database=database_url).code == 0
    assert not accounts.login(live_clinic, "desk", "chosen-by-me-1").must_change_password

    actions = {e.action for e in audit.list_entries(live_clinic, SYSTEM, action_prefix="user.")}
    assert {
        "user.disable",
        "user.enable",
        "user.unlock",
        "user.reset_password",
        "user.set_password",
    } <= actions
    assert [u.state for u in users.list_users(live_clinic, SYSTEM)] == ["active"]


def test_user_errors_are_one_line(
    hms: Run, live_clinic: Clinic, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_one_line_error(hms("user", "disable", "ghost", database=database_url), "no user 'ghost'")
    accounts.create_user(live_clinic, SYSTEM, "desk", SECRET, "receptionist")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    result = hms("user", "passwd", "desk", "--password-stdin", database=database_url)
    assert_one_line_error(result, "at least 8 characters")
    boss = accounts.create_first_admin(live_clinic, "boss", SECRET)
    assert_one_line_error(
        hms("user", "disable", "boss", database=database_url), "last enabled administrator"
    )
    assert boss
