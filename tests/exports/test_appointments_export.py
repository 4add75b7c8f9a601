"""Appointment list export: date range and filters, front desk only, audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hms_desktop.errors import PermissionDeniedError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.files import exports
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from tests import factories as f
from tests.exports.helpers import (
    APPOINTMENT_HEADER,
    csv_cell,
    expected_appointments,
    read_csv,
    read_xlsx,
    xlsx_cell,
)


@dataclass
class Book:
    world: f.World
    cardiology: int
    heart_doctor: int
    day1: date
    day2: date


@pytest.fixture
def book(clinic: Clinic, clock: FakeClock) -> Book:
    w = f.world(clinic)
    cardiology = f.department(clinic, "Cardiology")
    heart = f.doctor(clinic, cardiology, "Dr. Émile Coeur")
    wang = f.patient(clinic, "王秀英")
    day1, day2 = w.day, w.day + timedelta(days=1)
    f.open_day(clinic, heart, day1)
    f.open_day(clinic, w.doctor_id, day2)
    desk = f.RECEPTION

    def b(patient: int, doctor: int, day: date, at: str, visit: str = "consultation") -> int:
        return booking.book(
            clinic, desk, patient_id=patient, doctor_id=doctor, day=day, at=at, visit_type=visit
        )

    b(w.patient_id, w.doctor_id, day2, "09:00", "follow_up")  # outside a day-1-only range
    b(wang, heart, day1, "11:00", "emergency")
    b(w.patient_id, w.doctor_id, day1, "09:00")
    cancelled = b(w.other_patient_id, w.doctor_id, day1, "09:30", "check_up")
    completed = b(w.other_patient_id, w.other_doctor_id, day1, "10:00")
    booking.cancel(clinic, desk, cancelled)
    clock.set(datetime.combine(day1, time(17, 0)))
    booking.complete(clinic, f.doctor_actor(w.other_doctor_id), completed)
    return Book(w, cardiology, heart, day1, day2)


def _csv_expected(rows: list[list[object]]) -> list[list[str]]:
    return [[csv_cell(v) for v in row] for row in rows]


def test_csv_and_xlsx_match_database(clinic: Clinic, book: Book, out_dir: Path):
    flt = AppointmentFilter(date_from=book.day1, date_to=book.day2)
    expected = expected_appointments(clinic, date_from=book.day1, date_to=book.day2)
    assert len(expected) == 5

    result = exports.export_appointments(clinic, f.RECEPTION, flt, out_dir / "a.csv")
    rows = read_csv(out_dir / "a.csv")
    assert rows[0] == APPOINTMENT_HEADER
    assert rows[1:] == _csv_expected(expected)
    assert result.rows == 5
    assert rows[1][:2] == [book.day1.isoformat(), "09:00"]
    assert {r[7] for r in rows[1:]} == {"Booked", "Cancelled", "Completed"}
    assert "Dr. Émile Coeur" in {r[4] for r in rows[1:]} and "王秀英" in {r[3] for r in rows[1:]}

    exports.export_appointments(clinic, f.RECEPTION, flt, out_dir / "a.xlsx")
    sheet = read_xlsx(out_dir / "a.xlsx")
    assert sheet[0] == APPOINTMENT_HEADER
    assert sheet[1:] == [[xlsx_cell(v) for v in row] for row in expected]
    wb = load_workbook(out_dir / "a.xlsx")
    ws = wb.worksheets[0]
    assert ws["B2"].number_format == "hh:mm" and ws["B2"].value == time(9, 0)
    assert ws["A2"].is_date and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H6"
    wb.close()


@pytest.mark.parametrize(
    ("filter_kwargs", "where"),
    [
        ({"doctor": True}, {"doctor": True}),
        ({"department": True}, {}),
        ({"statuses": ("cancelled",)}, {"status": "cancelled"}),
    ],
    ids=["doctor", "department", "status"],
)
def test_filters(clinic: Clinic, book: Book, out_dir: Path, filter_kwargs, where):
    flt = AppointmentFilter(
        date_from=book.day1,
        date_to=book.day1,
        doctor_id=book.world.doctor_id if filter_kwargs.get("doctor") else None,
        department_id=book.cardiology if filter_kwargs.get("department") else None,
        statuses=filter_kwargs.get("statuses", ()),
    )
    exports.export_appointments(clinic, SYSTEM, flt, out_dir / "f.csv")
    rows = read_csv(out_dir / "f.csv")[1:]
    query = {"date_from": book.day1, "date_to": book.day1}
    if where.get("doctor"):
        query["doctor_id"] = book.world.doctor_id
    if "status" in where:
        query["status"] = where["status"]
    expected = expected_appointments(clinic, **query)
    if filter_kwargs.get("department"):
        expected = [r for r in expected if r[5] == "Cardiology"]
    assert rows == _csv_expected(expected)
    assert 1 <= len(rows) < 4  # the filter did narrow the day's four appointments


def test_only_front_desk_exports_appointments(clinic: Clinic, book: Book, out_dir: Path):
    flt = AppointmentFilter(date_from=book.day1, date_to=book.day2)
    for actor in (f.doctor_actor(book.world.doctor_id), f.patient_actor(book.world.patient_id)):
        with pytest.raises(PermissionDeniedError):
            exports.export_appointments(clinic, actor, flt, out_dir / "no.csv")
    assert list(out_dir.iterdir()) == []
    admin = Actor(user_id=None, username="boss", role="admin")
    assert exports.export_appointments(clinic, admin, flt, out_dir / "ok.csv").rows == 5


def test_range_that_ends_before_it_starts(clinic: Clinic, out_dir: Path):
    flt = AppointmentFilter(date_from=date(2026, 6, 30), date_to=date(2026, 6, 1))
    with pytest.raises(ValidationError, match="end date is before"):
        exports.export_appointments(clinic, SYSTEM, flt, out_dir / "x.csv")


def test_audit_records_the_export_and_its_filters(clinic: Clinic, book: Book, out_dir: Path):
    flt = AppointmentFilter(date_from=book.day1, date_to=book.day2, doctor_id=book.world.doctor_id)
    exports.export_appointments(clinic, f.RECEPTION, flt, out_dir / "a.xlsx")
    with pytest.raises(PermissionDeniedError):
        exports.export_appointments(clinic, f.doctor_actor(1), flt, out_dir / "b.csv")
    entries = list(
        reversed(audit.list_entries(clinic, SYSTEM, action_prefix="appointments.export"))
    )
    assert [e.actor for e in entries] == ["desk", "doctor1"]
    first, second = (json.loads(e.details) for e in entries)
    assert first["outcome"] == "completed" and first["rows"] == 3 and first["format"] == "xlsx"
    assert first["doctor_id"] == book.world.doctor_id
    assert first["date_from"] == book.day1.isoformat()
    assert second["outcome"] == "refused" and second["rows"] == 0
