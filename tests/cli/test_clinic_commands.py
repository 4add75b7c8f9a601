"""``hms clinic``, ``hms visit-types``, and booking with a visit's length from the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety import audit
from tests import factories as f
from tests.cli.conftest import Run, assert_one_line_error


def test_clinic_show_and_set_with_the_audit(
    hms: Run, live_clinic: Clinic, database_url: str
) -> None:
    shown = hms("clinic", "show", "--json", database=database_url)
    assert shown.code == 0, shown.err
    data = json.loads(shown.out)
    assert (data["timezone"], data["slot_minutes"], data["overridden"]) == ("UTC", 30, {})
    assert data["today"] == live_clinic.today().isoformat()

    changed = hms("clinic", "set", "slot_minutes", "20", database=database_url)
    assert changed.code == 0 and "slot_minutes: 30 -> 20" in changed.out
    assert live_clinic.reload_settings().slot_minutes == 20
    entries = audit.list_entries(live_clinic, SYSTEM, action_prefix="clinic_settings.change")
    assert [json.loads(e.details) for e in entries] == [
        {"key": "slot_minutes", "old": 30, "new": 20}
    ]
    assert_one_line_error(
        hms("clinic", "set", "slot_minutes", "3", database=database_url), "slot_minutes", "5 to 240"
    )
    assert_one_line_error(
        hms("clinic", "set", "timezone", "Mars/Olympus", database=database_url), "time zone"
    )
    assert_one_line_error(hms("clinic", "set", "colour", "red", database=database_url), "colour")
    text = hms("clinic", "show", database=database_url).out
    assert "slot_minutes" in text and "20" in text and "smtp_password" not in text


def test_visit_types_list_and_set(hms: Run, live_clinic: Clinic, database_url: str) -> None:
    listed = json.loads(hms("visit-types", "list", "--json", database=database_url).out)
    assert {t["name"]: t["minutes"] for t in listed}["follow_up"] == 30
    done = hms("visit-types", "set", "follow-up", "--minutes", "15", database=database_url)
    assert done.code == 0 and "follow_up: 15 minutes" in done.out
    text = hms("visit-types", "list", database=database_url).out
    assert any(line.split()[:2] == ["follow_up", "15"] for line in text.splitlines())
    assert_one_line_error(
        hms("visit-types", "set", "follow_up", "--minutes", "1000", database=database_url),
        "5 to 480 minutes",
    )


def test_book_takes_the_visit_types_length_and_refuses_an_overlap(
    hms: Run, world: f.World, database_url: str
) -> None:
    day = world.day.isoformat()
    f.set_settings(world.clinic, slot_minutes=15)
    f.open_day(world.clinic, world.doctor_id, world.day, "09:00", "12:00")
    hms("visit-types", "set", "procedure", "--minutes", "45", database=database_url)

    booked = hms(
        "book", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        "--date", day, "--time", "09:00", "--visit-type", "procedure", database=database_url,
    )  # fmt: skip
    assert booked.code == 0, booked.err
    rows = json.loads(hms("list", "appointments", "--json", database=database_url).out)
    assert [(r["time"], r["end_time"], r["visit_type"]) for r in rows] == [
        ("09:00", "09:45", "procedure")
    ]
    # Another patient at 09:30 with the same doctor: one line naming the visit in the way.
    clash = hms(
        "book", "--patient", str(world.other_patient_id), "--doctor", str(world.doctor_id),
        "--date", day, "--time", "09:30", database=database_url,
    )  # fmt: skip
    assert_one_line_error(clash, "Dr. Ada Lovelace already has a visit at 09:00-09:45")
    # The same patient with the other doctor at 09:15: the patient's own visit is named.
    f.open_day(world.clinic, world.other_doctor_id, world.day, "09:00", "12:00")
    busy = hms(
        "book", "--patient", str(world.patient_id), "--doctor", str(world.other_doctor_id),
        "--date", day, "--time", "09:15", database=database_url,
    )  # fmt: skip
    assert_one_line_error(busy, "overlaps José Núñez at 09:00", "with Dr. Ada Lovelace")
    free = hms(
        "slots", "--doctor", str(world.doctor_id), "--date", day, "--json", database=database_url
    )
    times = [s["time"] for s in json.loads(free.out)]
    assert times[:2] == ["09:45", "10:00"]  # 09:15 and 09:30 lie inside the 45-minute visit
    later = (world.day + timedelta(days=400)).isoformat()
    far = hms(
        "book", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        "--date", later, "--time", "09:00", database=database_url,
    )  # fmt: skip
    assert_one_line_error(far, "up to 90 days ahead")
