"""``hms init``, ``user add``, ``list``, ``slots``, ``book``, ``cancel``, ``complete``, ``stats``.

Each test runs the real command (``hms_desktop.cli.main``) against a real database:
a SQLite file and PostgreSQL where the ``world`` fixture is used.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from hms_desktop.cli.core import _width, format_table
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.people import accounts, users
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f
from tests.cli.conftest import Run, assert_one_line_error, sqlite_url

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}$")
APPOINTMENT_KEYS = {
    "id", "date", "time", "doctor_id", "doctor", "department", "patient_id", "patient",
    "visit_type", "status", "reason", "has_treatment", "diagnosis", "prescription", "end_time",
}  # fmt: skip


# --- init and a missing database ---------------------------------------------------------


def test_init_creates_then_is_safe_to_repeat(hms: Run, tmp_path: Path) -> None:
    path = tmp_path / "new" / "clinic.sqlite3"
    first = hms("init", database=sqlite_url(path))
    assert first.code == 0, first.err
    assert path.exists()
    assert f"Database: {path}" in first.out
    assert re.search(r"Schema version: \d{4} \(created\)", first.out)
    again = hms("init", database=sqlite_url(path))
    assert again.code == 0
    assert "(already up to date)" in again.out
    assert hms("stats", "--json", database=sqlite_url(path)).code == 0


def test_init_on_postgresql_is_idempotent(hms: Run, database_url: str) -> None:
    result = hms("init", database=database_url)
    assert result.code == 0, result.err
    assert "already up to date" in result.out


@pytest.mark.parametrize(
    "argv",
    [
        ("list", "doctors"),
        ("list", "appointments", "--json"),
        ("slots", "--doctor", "1"),
        ("book", "--patient", "1", "--doctor", "1", "--date", "2030-01-01", "--time", "09:00"),
        ("cancel", "1"),
        ("stats", "--json"),
        ("user", "add", "--role", "admin", "--username", "boss", "--password-stdin"),
    ],
)
def test_commands_refuse_a_missing_database_file(
    hms: Run, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    path = tmp_path / "nowhere" / "clinic.sqlite3"
    result = hms(*argv, database=sqlite_url(path))
    assert_one_line_error(result, "does not exist", str(path))
    assert not path.exists()
    assert not path.parent.exists()


def test_a_malformed_database_url_is_one_clear_line(hms: Run) -> None:
    assert_one_line_error(hms("list", "doctors", database="nonsense://x"), "not a database URL")


def test_an_uninitialised_database_says_run_init(hms: Run, tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    assert_one_line_error(hms("list", "doctors", database=sqlite_url(path)), "hms init")


# --- user add ----------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin_and_can_log_in(
    hms: Run, live_clinic, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-enough\n"))
    result = hms(
        "user", "add", "--role", "receptionist", "--username", "Desk1", "--password-stdin",
        database=database_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "receptionist account 'desk1'" in result.out
    actor = accounts.login(live_clinic, "desk1", "s3cret-enough")
    assert actor.role == "receptionist"


def test_user_add_links_a_doctor_and_a_patient(
    hms: Run, world: f.World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = world.clinic
    for role, option, record_id, name in (
        ("doctor", "--doctor", world.doctor_id, "dr.ada"),
        ("patient", "--patient", world.patient_id, "jose"),
    ):
        monkeypatch.setattr("sys.stdin", io.StringIO(f.PASSWORD + "\n"))
        result = hms(
            "user", "add", "--role", role, "--username", name, option, str(record_id),
            "--password-stdin", database=database_url,
        )  # fmt: skip
        assert result.code == 0, result.err
    doctor = accounts.login(clinic, "dr.ada", f.PASSWORD)
    assert (doctor.role, doctor.doctor_id) == ("doctor", world.doctor_id)
    patient = accounts.login(clinic, "jose", f.PASSWORD)
    assert (patient.role, patient.patient_id) == ("patient", world.patient_id)

    # A second account for the same doctor is refused, and nothing is half-created.
    monkeypatch.setattr("sys.stdin", io.StringIO(f.PASSWORD + "\n"))
    again = hms(
        "user", "add", "--role", "doctor", "--username", "dr.ada2", "--doctor",
        str(world.doctor_id), "--password-stdin", database=database_url,
    )  # fmt: skip
    assert_one_line_error(again, "has a log-in account already")
    assert "dr.ada2" not in {u.username for u in users.list_users(clinic, SYSTEM)}


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("--role", "admin", "--username", "boss"), "short\n", "at least 8"),
        (("--role", "admin", "--username", "boss"), "", "No password"),
        (("--role", "admin", "--username", "x"), "long-enough-1\n", "User name must be"),
        (("--role", "admin", "--username", "boss", "--doctor", "1"), "long-enough-1\n", "--role doctor"),
        (("--role", "doctor", "--username", "boss", "--doctor", "999"), "long-enough-1\n", "no doctor with id 999"),
    ],
)  # fmt: skip
def test_user_add_errors(
    hms: Run,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    result = hms("user", "add", *argv, "--password-stdin", database=sqlite_url)
    assert_one_line_error(result, message)


def test_user_add_refuses_a_taken_name(
    hms: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for expected in (0, 2):
        monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-1\n"))
        result = hms(
            "user", "add", "--role", "admin", "--username", "boss", "--password-stdin",
            database=sqlite_url,
        )  # fmt: skip
        assert result.code == expected
    assert_one_line_error(result, "is taken")


# --- list --------------------------------------------------------------------------------


def _json(result) -> object:
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_list_json_shapes(hms: Run, world: f.World, database_url: str) -> None:
    booked = booking.book(
        world.clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=world.day, at="09:30", visit_type="follow_up", reason="Knee pain",
    )  # fmt: skip

    doctors = _json(hms("list", "doctors", "--json", database=database_url))
    assert isinstance(doctors, list)
    assert [d["full_name"] for d in doctors] == ["Dr. Ada Lovelace", "Dr. Alan Turing"]
    assert {"id", "full_name", "department_id", "department", "qualification", "email", "phone",
            "blacklisted"} <= set(doctors[0])  # fmt: skip

    patients = _json(hms("list", "patients", "--json", database=database_url))
    assert {p["full_name"] for p in patients} == {"José Núñez", "Anna Smith"}
    assert {"id", "full_name", "date_of_birth", "phone", "email", "blacklisted"} <= set(patients[0])

    appts = _json(hms("list", "appointments", "--json", database=database_url))
    assert len(appts) == 1
    row = appts[0]
    assert set(row) == APPOINTMENT_KEYS
    assert row["id"] == booked
    assert (row["time"], row["end_time"]) == ("09:30", "10:00")  # the visit type's 30 minutes
    assert (row["doctor_id"], row["patient_id"]) == (world.doctor_id, world.patient_id)
    assert row["date"] == world.day.isoformat() and DATE.match(row["date"])
    assert row["time"] == "09:30" and TIME.match(row["time"])
    assert (row["status"], row["visit_type"], row["reason"]) == ("booked", "follow_up", "Knee pain")


def test_list_appointment_filters(hms: Run, world: f.World, database_url: str) -> None:
    clinic, day = world.clinic, world.day
    a = booking.book(
        clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id, day=day, at="09:00"
    )
    b = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.other_patient_id,
        doctor_id=world.other_doctor_id,
        day=day,
        at="10:00",
    )
    c = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.other_patient_id,
        doctor_id=world.doctor_id,
        day=day,
        at="11:00",
    )
    booking.cancel(clinic, SYSTEM, c)  # fmt: skip

    def ids(*argv: str) -> list[int]:
        rows = _json(hms("list", "appointments", "--json", *argv, database=database_url))
        return [r["id"] for r in rows]

    assert ids() == [a, b, c]
    assert ids("--date", day.isoformat()) == [a, b, c]
    assert ids("--date", (day + timedelta(days=1)).isoformat()) == []
    assert ids("--from", day.isoformat(), "--to", day.isoformat()) == [a, b, c]
    assert ids("--to", (day - timedelta(days=1)).isoformat()) == []
    assert ids("--doctor", str(world.doctor_id)) == [a, c]
    assert ids("--patient", str(world.other_patient_id)) == [b, c]
    assert ids("--status", "cancelled") == [c]
    assert ids("--status", "booked,no-show") == [a, b]
    assert ids("--status", "booked", "--status", "cancelled", "--doctor", str(world.doctor_id)) == [
        a,
        c,
    ]
    assert ids("--limit", "1") == [a]  # fmt: skip


def test_list_doctors_and_patients_by_id_and_search(
    hms: Run, world: f.World, database_url: str
) -> None:
    one = _json(
        hms(
            "list",
            "doctors",
            "--json",
            "--doctor",
            str(world.other_doctor_id),
            database=database_url,
        )
    )
    assert [d["full_name"] for d in one] == ["Dr. Alan Turing"]
    found = _json(hms("list", "patients", "--json", "--search", "nunez", database=database_url))
    assert [p["id"] for p in found] == [world.patient_id]
    by_id = _json(
        hms(
            "list",
            "patients",
            "--json",
            "--patient",
            str(world.other_patient_id),
            database=database_url,
        )
    )
    assert [p["full_name"] for p in by_id] == ["Anna Smith"]  # fmt: skip


def test_list_pages_through_more_patients_than_one_page(
    hms: Run, sqlite_clinic, sqlite_url: str
) -> None:
    from hms_desktop.services.demo import generator as demo_data

    demo_data.generate(sqlite_clinic, seed=3, doctors=1, patients=2300, appointments=0, days_back=0)
    rows = _json(hms("list", "patients", "--json", database=sqlite_url))
    assert len(rows) == 2300
    assert len({r["id"] for r in rows}) == 2300
    limited = _json(hms("list", "patients", "--json", "--limit", "1500", database=sqlite_url))
    assert len(limited) == 1500


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("appointments", "--date", "2026-02-30"), "real date"),
        (
            ("appointments", "--from", "15.06.2026"),
            "From must be written YYYY-MM-DD: '15.06.2026' is 2026-06-15",
        ),
        (("appointments", "--date", "2026-06-15", "--from", "2026-06-01"), "not both"),
        (("appointments", "--from", "2026-06-15", "--to", "2026-06-01"), "is after"),
        (("appointments", "--status", "done"), "Unknown status 'done'"),
        (("patients", "--date", "2026-06-15"), "--date does not apply"),
        (("doctors", "--status", "booked"), "--status does not apply"),
        (("doctors", "--doctor", "999"), "no doctor with id 999"),
        (("patients", "--patient", "999"), "no patient with id 999"),
        (("appointments", "--limit", "-1"), "--limit"),
    ],
)
def test_list_errors(hms: Run, sqlite_url: str, argv: tuple[str, ...], message: str) -> None:
    assert_one_line_error(hms("list", *argv, database=sqlite_url), message)


def test_human_output_is_an_aligned_table(hms: Run, world: f.World, database_url: str) -> None:
    f.patient(world.clinic, "王娜")
    out = hms("list", "patients", database=database_url).out.splitlines()
    assert out[0].split() == ["ID", "Name", "Born", "Phone", "Email"]
    assert set(out[1]) <= {"-", " "}
    starts = {_width(line[: line.index("+49")]) for line in out[2:]}
    assert len(out) == 5 and len(starts) == 1, out  # the phone column starts at one place


def test_format_table_counts_wide_characters_twice() -> None:
    text = format_table(["ID", "Name", "City"], [[1, "王娜", "Berlin"], [22, "José", "Köln"]])
    lines = text.splitlines()
    assert [_width(line.split("  ")[0]) for line in lines] == [2, 2, 2, 2]
    assert {_width(line[: line.rindex(" ") + 1]) for line in lines[2:]} == {10}
    assert lines[2].startswith(" 1  王娜") and lines[3].startswith("22  José")


# --- slots, book, cancel, complete -------------------------------------------------------


def test_slots_book_cancel(hms: Run, world: f.World, database_url: str) -> None:
    day = world.day.isoformat()
    slots = _json(
        hms(
            "slots",
            "--doctor",
            str(world.doctor_id),
            "--date",
            day,
            "--json",
            database=database_url,
        )
    )
    assert [s["time"] for s in slots] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert set(slots[0]) == {"doctor_id", "date", "time", "end_time"}
    assert slots[0]["date"] == day and slots[0]["end_time"] == "09:30"

    booked = hms(
        "book", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id),
        "--date", day, "--time", "10:00", "--visit-type", "follow-up", database=database_url,
    )  # fmt: skip
    assert booked.code == 0, booked.err
    appt_id = int(booked.out.strip())  # only the id, for scripts
    row = booking.get_appointment(world.clinic, SYSTEM, appt_id)
    assert (row.date, f"{row.time:%H:%M}", row.visit_type) == (world.day, "10:00", "follow_up")
    after = _json(
        hms(
            "slots",
            "--doctor",
            str(world.doctor_id),
            "--date",
            day,
            "--json",
            database=database_url,
        )
    )
    assert "10:00" not in [s["time"] for s in after]

    taken = hms(
        "book", "--patient", str(world.other_patient_id), "--doctor", str(world.doctor_id),
        "--date", day, "--time", "10:00", database=database_url,
    )  # fmt: skip
    assert_one_line_error(taken, "already has a visit")

    cancelled = hms("cancel", str(appt_id), database=database_url)
    assert cancelled.code == 0 and f"Appointment {appt_id} is cancelled" in cancelled.out
    assert booking.get_appointment(world.clinic, SYSTEM, appt_id).status == "cancelled"
    assert_one_line_error(hms("cancel", str(appt_id), database=database_url), "cancelled already")
    # The freed slot can be booked again.
    rebooked = hms(
        "book", "--patient", str(world.other_patient_id), "--doctor", str(world.doctor_id),
        "--date", day, "--time", "10:00", database=database_url,
    )  # fmt: skip
    assert rebooked.code == 0 and int(rebooked.out) != appt_id


def test_human_slots_and_no_slots(hms: Run, world: f.World, database_url: str) -> None:
    out = hms(
        "slots",
        "--doctor",
        str(world.doctor_id),
        "--date",
        world.day.isoformat(),
        database=database_url,
    ).out
    assert out.splitlines()[0].split() == ["Date", "Time", "Until"]
    assert f"{world.day}  11:30  12:00" in out
    later = (world.day + timedelta(days=3)).isoformat()
    none = hms("slots", "--doctor", str(world.doctor_id), "--date", later, database=database_url)
    assert none.code == 0 and "has no free slots on" in none.out  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--date", "tomorrow", "--time", "09:00"), "real date"),
        (("--date", "{day}", "--time", "9am"), "HH:MM"),
        (("--date", "{day}", "--time", "09:10"), "does not see patients"),
        (("--date", "{day}", "--time", "13:00"), "does not see patients"),
        (("--date", "2001-01-01", "--time", "09:00"), "in the past"),
        (("--date", "{day}", "--time", "09:00", "--visit-type", "party"), "Visit type must be"),
    ],
)
def test_book_errors(
    hms: Run, world: f.World, database_url: str, argv: tuple[str, ...], message: str
) -> None:
    argv = tuple(a.format(day=world.day.isoformat()) for a in argv)
    result = hms(
        "book", "--patient", str(world.patient_id), "--doctor", str(world.doctor_id), *argv,
        database=database_url,
    )  # fmt: skip
    assert_one_line_error(result, message)


def test_book_unknown_doctor_or_patient(hms: Run, world: f.World, database_url: str) -> None:
    day = world.day.isoformat()
    base = ("book", "--date", day, "--time", "09:00")
    assert_one_line_error(
        hms(*base, "--patient", str(world.patient_id), "--doctor", "999", database=database_url),
        "no doctor with id 999",
    )
    assert_one_line_error(
        hms(*base, "--patient", "999", "--doctor", str(world.doctor_id), database=database_url),
        "no patient with id 999",
    )


def test_complete_a_visit_of_today(hms: Run, world: f.World, database_url: str) -> None:
    # Book through the services with the clock at yesterday 08:00, so the visit is due now.
    clinic, clock = world.clinic, world.clinic.clock
    clock.set(clock.now().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=1))
    availability.set_day(clinic, SYSTEM, world.doctor_id, clinic.today(), [("09:00", "10:00")])
    appt = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=clinic.today(),
        at="09:00",
    )
    future = booking.book(clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id, day=world.day, at="09:00")  # fmt: skip

    done = hms("complete", str(appt), database=database_url)
    assert done.code == 0 and f"Appointment {appt} is completed" in done.out
    assert booking.get_appointment(clinic, SYSTEM, appt).status == "completed"
    assert_one_line_error(hms("complete", str(appt), database=database_url), "completed already")
    assert_one_line_error(hms("complete", str(future), database=database_url), "from that day on")
    assert_one_line_error(hms("complete", "424242", database=database_url), "no appointment 424242")


# --- stats -------------------------------------------------------------------------------


def test_stats_json_counts(hms: Run, world: f.World, database_url: str) -> None:
    clinic = world.clinic
    first = booking.book(
        clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )
    booking.book(
        clinic,
        SYSTEM,
        patient_id=world.other_patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:30",
    )
    booking.cancel(clinic, SYSTEM, first)  # fmt: skip
    stats = _json(hms("stats", "--json", database=database_url))
    assert isinstance(stats, dict)
    assert {k: stats[k] for k in ("doctors", "patients", "appointments", "today_appointments")} == {
        "doctors": 2, "patients": 2, "appointments": 2, "today_appointments": 0,
    }  # fmt: skip
    assert stats["by_status"] == {"booked": 1, "completed": 0, "cancelled": 1, "no_show": 0}
    assert DATE.match(stats["today"])
    human = hms("stats", database=database_url).out
    assert "Doctors: 2" in human and "Appointments: 2" in human and "Cancelled" in human


def test_an_unlinked_doctor_account_is_explained(
    hms: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-1\n"))
    result = hms(
        "user", "add", "--role", "doctor", "--username", "dr.who", "--password-stdin",
        database=sqlite_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "not linked to a doctor record" in result.out and "--doctor ID" in result.out
