"""Clinic-wide settings: in the database, admin-only, audited, the same on every PC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hms_desktop.db.models import AuditEntry
from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import REFRESH_SECONDS, Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.values import KEYS
from hms_desktop.services.clock import FakeClock
from tests import factories as f
from tests.conftest import make_clinic

ADMIN = Actor(user_id=1, username="boss", role="admin")


def _audit(clinic: Clinic, action: str) -> list[dict[str, object]]:
    with clinic.db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        return [{"actor": r.actor, **json.loads(r.details)} for r in rows]


@pytest.mark.parametrize(
    "actor",
    [
        f.RECEPTION,
        Actor(user_id=None, username="doc", role="doctor", doctor_id=1),
        Actor(user_id=None, username="pat", role="patient", patient_id=1),
    ],
    ids=["receptionist", "doctor", "patient"],
)
def test_only_an_administrator_reads_or_changes_clinic_settings(
    clinic: Clinic, actor: Actor
) -> None:
    for attempt in (
        lambda: clinic_settings.change(clinic, actor, {"smtp_host": "mail.attacker.example"}),
        lambda: clinic_settings.change(clinic, actor, {"smtp_tls": "none"}),
        lambda: clinic_settings.show(clinic, actor),
        lambda: clinic_settings.set_visit_type(clinic, actor, "consultation", minutes=5),
        lambda: clinic_settings.import_legacy(clinic, actor, {"backup_dir": "/tmp/x"}),
    ):
        with pytest.raises(PermissionDeniedError, match="Only an administrator"):
            attempt()
    assert clinic.reload_settings().smtp_host == ""
    assert clinic.settings.smtp_tls == "starttls"
    assert _audit(clinic, "clinic_settings.change") == []


def test_an_administrators_change_is_audited_with_old_and_new(clinic: Clinic) -> None:
    changed = clinic_settings.change(
        clinic, ADMIN, {"slot_minutes": "20", "timezone": "Europe/Berlin", "clinic_name": "Mitte"}
    )
    assert changed == {"slot_minutes": 20, "clinic_name": "Mitte"}  # the zone was already so
    assert (clinic.settings.slot_minutes, clinic.settings.clinic_name) == (20, "Mitte")
    entries = _audit(clinic, "clinic_settings.change")
    assert sorted((e["actor"], e["key"], e["old"], e["new"]) for e in entries) == [
        ("boss", "clinic_name", "", "Mitte"),
        ("boss", "slot_minutes", 30, 20),
    ]
    clinic_settings.set_visit_type(clinic, ADMIN, "follow-up", minutes=15)
    assert _audit(clinic, "visit_type.set")[-1] == {
        "actor": "boss",
        "name": "follow_up",
        "old": 30,
        "new": 15,
    }
    assert clinic_settings.visit_type(clinic, "follow_up").minutes == 15


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("timezone", "Mars/Olympus_Mons", "unknown time zone"),
        ("timezone", "Europe", "unknown time zone"),
        ("slot_minutes", "half an hour", "whole number"),
        ("slot_minutes", "3", "5 to 240 minutes"),
        ("booking_horizon_days", "0", "1 to 730 days"),
        ("reminder_time", "8 am", "a time like 08:00"),
        ("smtp_tls", "maybe", "starttls or ssl or none"),
        ("reminder_lead", "week_before", "same_day or day_before"),
        ("send_booking_confirmation", "perhaps", "yes or no"),
        ("smtp_host", "a\nb", "one line"),
        ("no_such_setting", "1", "no clinic setting"),
    ],
)
def test_each_bad_value_is_refused_in_one_line_naming_the_setting(
    sqlite_clinic: Clinic, key: str, value: str, says: str
) -> None:
    with pytest.raises(ValidationError) as err:
        clinic_settings.change(sqlite_clinic, ADMIN, {key: value, "clinic_name": "kept out"})
    assert says in str(err.value) and "\n" not in str(err.value)
    assert key in str(err.value) or key == "no_such_setting"
    assert sqlite_clinic.reload_settings().clinic_name == ""  # nothing half-saved


def test_an_operator_override_wins_on_this_pc_only_and_is_said(
    clinic: Clinic, clock: FakeClock
) -> None:
    pc = Clinic(db=clinic.db, pc=clinic.pc, clock=clock, environ={"HMS_TIMEZONE": "Asia/Tokyo"})
    assert pc.settings.timezone == "Asia/Tokyo"
    assert pc.overrides == {"timezone": "HMS_TIMEZONE"}
    assert clinic.settings.timezone == "Europe/Berlin"  # the clinic's value is unchanged
    view = {v.key: v for v in clinic_settings.show(pc, ADMIN)}["timezone"]
    assert (view.value, view.stored, view.overridden_by) == (
        "Asia/Tokyo",
        "Europe/Berlin",
        "HMS_TIMEZONE",
    )


def test_another_pc_sees_a_change_within_the_refresh_time(
    clinic: Clinic, database_url: str, clock: FakeClock
) -> None:
    other = make_clinic(database_url, clock)
    try:
        assert other.settings.slot_minutes == 30
        clinic_settings.change(clinic, ADMIN, {"slot_minutes": 15})
        assert clinic.settings.slot_minutes == 15  # at once where it was changed
        clock.advance(REFRESH_SECONDS)
        assert other.settings.slot_minutes == 15
    finally:
        other.close()


def test_values_of_an_old_settings_file_move_in_once(clinic: Clinic) -> None:
    legacy = {
        "slot_minutes": 20,
        "reminder_time": "7:30",
        "smtp_host": "mail.clinic.test",
        "smtp_tls": "maybe",
    }
    moved = clinic_settings.import_legacy(clinic, ADMIN, legacy, source="settings file")
    # The grid is stored already (kept); a value this version refuses is left out.
    assert moved == {"reminder_time": "07:30", "smtp_host": "mail.clinic.test"}
    assert (clinic.settings.smtp_host, clinic.settings.slot_minutes) == ("mail.clinic.test", 30)
    assert sorted(e["key"] for e in _audit(clinic, "clinic_settings.import")) == [
        "reminder_time",
        "smtp_host",
    ]
    # A second PC with other old values: nothing moves again.
    assert clinic_settings.import_legacy(clinic, ADMIN, {"reminder_time": "06:00"}) == {}
    assert clinic.reload_settings().reminder_time == "07:30"


def test_every_stored_setting_shows_in_the_admin_view(sqlite_clinic: Clinic) -> None:
    assert [v.key for v in clinic_settings.show(sqlite_clinic, ADMIN)] == list(KEYS)
    assert "smtp_password" not in KEYS


def _show(url: str, home: Path, environ: dict[str, str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMS_")}
    env.update(HMS_CONFIG_DIR=str(home / "config"), HMS_DATA_DIR=str(home / "data"), **environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from hms_desktop.cli import main; sys.exit(main())",
         "--database", url, "clinic", "show", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_two_processes_with_different_settings_and_environments_agree(
    clinic: Clinic, tmp_path: Path
) -> None:
    """Each PC's own file still holds an old zone and grid; both use the clinic's."""
    homes = []
    for name, zone, grid in (("pc1", "Asia/Tokyo", 20), ("pc2", "America/New_York", 15)):
        home = tmp_path / name
        (home / "config").mkdir(parents=True)
        (home / "config" / "settings.json").write_text(
            json.dumps({"timezone": zone, "slot_minutes": grid, "cache_ttl_seconds": 9})
        )
        homes.append(home)
    one = _show(clinic.db.url, homes[0], {"TZ": "Asia/Tokyo", "HMS_CACHE_TTL_SECONDS": "1"})
    two = _show(clinic.db.url, homes[1], {"TZ": "America/Los_Angeles"})
    for key in ("timezone", "today", "slot_minutes"):
        assert one[key] == two[key], key
    assert (one["timezone"], one["slot_minutes"]) == ("Europe/Berlin", 30)
    # Both report the clinic's "today" (in Berlin), whatever the PC's own zone says.
    assert one["today"] == datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert one["overridden"] == {} == two["overridden"]
