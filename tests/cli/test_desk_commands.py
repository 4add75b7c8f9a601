"""``hms checkin``, ``call``, ``undo-step``, ``walk-in``, ``waiting`` and ``waitlist``."""

from __future__ import annotations

import json

from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.cli.conftest import Run, assert_one_line_error


def test_walk_in_call_undo_and_the_waiting_room(hms: Run, world: f.World) -> None:
    url = world.clinic.db.url
    busy = hms(
        "walk-in", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        database=url,
    )  # fmt: skip
    # The doctor works tomorrow, not now: the only way in today is an extra visit.
    assert_one_line_error(busy, "say why")
    made = hms(
        "walk-in", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        "--reason", "Fell on the stairs", database=url,
    )  # fmt: skip
    assert made.code == 0 and "(overbooked): arrived" in made.out, made
    visit = int(made.out.split()[1])

    waiting = json.loads(hms("waiting", "--json", database=url).out)
    assert [(w["appointment_id"], w["status"], w["overbooked"]) for w in waiting] == [
        (visit, "arrived", True)
    ]
    assert hms("call", str(visit), database=url).out.strip().endswith("in consultation.")
    assert "In consultation" in hms("waiting", database=url).out
    assert hms("undo-step", str(visit), database=url).out.strip().endswith("arrived again.")
    assert_one_line_error(hms("checkin", str(visit), database=url), "only a booked visit")


def test_checkin_is_refused_before_the_day(hms: Run, world: f.World) -> None:
    visit = booking.book(
        world.clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at=f.NINE,
    )
    assert_one_line_error(
        hms("checkin", str(visit), database=world.clinic.db.url), "day of the visit"
    )
    assert_one_line_error(hms("checkin", "424242", database=world.clinic.db.url), "no appointment")


def test_waitlist_add_list_remove(hms: Run, world: f.World) -> None:
    url = world.clinic.db.url
    added = hms(
        "waitlist", "add", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        "--days", "mon,tue", "--between", "09:00-12:00", "--until", "2030-01-31", database=url,
    )  # fmt: skip
    assert added.code == 0, added
    entry = int(added.out.split()[2])
    listed = json.loads(hms("waitlist", "list", "--json", database=url).out)
    assert [(e["id"], e["days"], e["time_from"], e["until"]) for e in listed] == [
        (entry, "mon,tue", "09:00", "2030-01-31")
    ]
    assert "Ada Lovelace" in hms("waitlist", "list", database=url).out
    assert_one_line_error(
        hms("waitlist", "add", "--patient", str(world.patient_id), "--doctor",
            str(world.doctor_id), "--days", "someday", database=url),
        "mon, tue",
    )  # fmt: skip
    assert hms("waitlist", "remove", str(entry), database=url).code == 0
    assert "Nobody" in hms("waitlist", "list", database=url).out
    assert_one_line_error(hms("waitlist", "remove", str(entry), database=url), "no waiting")
