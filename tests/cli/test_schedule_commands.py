"""``hms availability``, ``hms next-free``, ``hms book --repeat`` and ``hms schedule``."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking, hours
from tests import factories as f
from tests.cli.conftest import Run, assert_one_line_error


def test_weekly_hours_leave_and_show(
    hms: Run, live_clinic: Clinic, world: f.World, database_url: str
) -> None:
    d = str(world.doctor_id)
    done = hms("availability", "weekly", "--doctor", d, "--day", "mon", "--from", "09:00",
               "--to", "13:00", database=database_url)  # fmt: skip
    assert done.code == 0, done.err
    done = hms("availability", "weekly", "--doctor", d, "--day", "mon", "--from", "14:00",
               "--to", "17:00", database=database_url)  # fmt: skip
    assert "every mon: 09:00-13:00, 14:00-17:00" in done.out
    first = live_clinic.today() + timedelta(days=10)
    last = first + timedelta(days=2)
    off = hms("availability", "off", "--doctor", d, "--from", str(first), "--to", str(last),
              "--reason", "conference", database=database_url)  # fmt: skip
    assert off.code == 0 and "(3 days)" in off.out
    shown = json.loads(
        hms("availability", "show", "--doctor", d, "--json", database=database_url).out
    )
    assert [(w["day"], w["start_time"], w["end_time"]) for w in shown["weekly"]] == [
        ("mon", "09:00", "13:00"), ("mon", "14:00", "17:00")
    ]  # fmt: skip
    offs = [e for e in shown["exceptions"] if e["kind"] == "off"]
    assert [(e["date"], e["reason"]) for e in offs] == [
        (str(first + timedelta(days=i)), "conference") for i in range(3)
    ]
    assert_one_line_error(
        hms("availability", "weekly", "--doctor", d, "--day", "someday", "--from", "09:00",
            "--to", "10:00", database=database_url), "mon, tue",
    )  # fmt: skip
    assert_one_line_error(
        hms("availability", "off", "--doctor", d, "--from", str(last), "--to", str(first),
            database=database_url), "end on or after",
    )  # fmt: skip


def test_next_free_for_a_doctor_and_a_department(
    hms: Run, live_clinic: Clinic, world: f.World, database_url: str
) -> None:
    booking.book(live_clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                 day=world.day, at="09:00")  # fmt: skip
    found = hms("next-free", "--doctor", str(world.doctor_id), "--json", database=database_url)
    assert found.code == 0, found.err
    data = json.loads(found.out)
    assert (data["doctor_id"], data["date"], data["time"]) == (
        world.doctor_id, str(world.day), "09:30"
    )  # fmt: skip
    text = hms("next-free", "--department", str(world.department_id), database=database_url).out
    assert text.startswith(f"Doctor {world.other_doctor_id} on {world.day} at 09:00")
    later = hms("next-free", "--doctor", str(world.doctor_id), "--after",
                str(world.day + timedelta(days=1)), "--json", database=database_url)  # fmt: skip
    assert json.loads(later.out) is None
    assert_one_line_error(
        hms("next-free", "--doctor", "1", "--after", "soon", database=database_url),
        "After",
        "YYYY-MM-DD",
    )


def test_book_repeat_lists_conflicts_first_then_books_the_rest(
    hms: Run, live_clinic: Clinic, world: f.World, database_url: str
) -> None:
    hours.set_weekly(
        live_clinic, SYSTEM, world.doctor_id, world.day.weekday(), [("09:00", "12:00")]
    )
    taken_day = world.day + timedelta(weeks=1)
    booking.book(live_clinic, SYSTEM, patient_id=world.other_patient_id,
                 doctor_id=world.doctor_id, day=taken_day, at="10:00")  # fmt: skip
    args = ("book", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
            "--date", str(world.day), "--time", "10:00", "--repeat", "weekly", "--count", "3")  # fmt: skip
    refused = hms(*args, database=database_url)
    assert_one_line_error(
        refused, "1 of 3 dates cannot be booked", str(taken_day), "--skip-conflicts"
    )
    assert len(booking.list_appointments(live_clinic, SYSTEM)) == 1
    done = hms(*args, "--skip-conflicts", database=database_url)
    assert done.code == 0, done.err
    ids = [int(x) for x in done.out.split()]
    assert len(ids) == 2 and f"not booked on {taken_day}" in done.err
    rows = [booking.get_appointment(live_clinic, SYSTEM, i) for i in ids]
    assert [r.date for r in rows] == [world.day, world.day + timedelta(weeks=2)]
    monthly = hms("book", "--patient", str(world.other_patient_id), "--doctor",
                  str(world.other_doctor_id), "--date", str(world.day), "--time", "11:00",
                  "--repeat", "monthly", database=database_url)  # fmt: skip
    assert_one_line_error(monthly, "--count N or --until DATE")


def test_schedule_to_csv_and_pdf_lists_the_days_live_visits(
    hms: Run, live_clinic: Clinic, world: f.World, database_url: str, tmp_path: Path
) -> None:
    booking.book(live_clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                 day=world.day, at="09:00", reason="=HYPERLINK(1)")  # fmt: skip
    booking.book(live_clinic, SYSTEM, patient_id=world.other_patient_id,
                 doctor_id=world.other_doctor_id, day=world.day, at="10:00")  # fmt: skip
    gone = booking.book(live_clinic, SYSTEM, patient_id=world.other_patient_id,
                        doctor_id=world.doctor_id, day=world.day, at="11:00")  # fmt: skip
    booking.cancel(live_clinic, SYSTEM, gone)
    out = tmp_path / "day.csv"
    done = hms("schedule", "--date", str(world.day), "--output", str(out), database=database_url)
    assert done.code == 0 and "(2 visits" in done.out
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0][:5] == ["Doctor", "Department", "Start", "End", "Patient"]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [
        ("Dr. Ada Lovelace", "09:00", "José Núñez"), ("Dr. Alan Turing", "10:00", "Anna Smith")
    ]  # fmt: skip
    assert rows[1][7] == "'=HYPERLINK(1)"
    one = tmp_path / "one.pdf"
    done = hms("schedule", "--date", str(world.day), "--doctor", str(world.other_doctor_id),
               "--output", str(one), database=database_url)  # fmt: skip
    assert done.code == 0, done.err
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(one).pages)
    assert "Anna Smith" in text and "10:00-10:30" in text and "José" not in text
    assert_one_line_error(
        hms("schedule", "--date", str(world.day), "--output", str(tmp_path / "x.txt"),
            database=database_url), ".pdf or .csv",
    )  # fmt: skip
