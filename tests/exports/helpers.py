"""Building export test data, and reading exported files back independently."""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.scheduling import booking
from tests import factories as f

HISTORY_HEADER = [
    "Patient ID",
    "Patient Name",
    "Doctor",
    "Appointment Date",
    "Time",
    "Visit Type",
    "Symptoms",
    "Diagnosis",
    "Treatment Given",
    "Prescription",
    "Notes",
]
APPOINTMENT_HEADER = [
    "Date",
    "Time",
    "Patient ID",
    "Patient",
    "Doctor",
    "Department",
    "Visit Type",
    "Status",
]
#: Text a spreadsheet would run as a formula (or treat specially), as people typed it.
FORMULA_LIKE = ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx"]
VISIT = {
    "consultation": "Consultation",
    "follow_up": "Follow-up",
    "check_up": "Check-up",
    "emergency": "Emergency",
    "procedure": "Procedure",
}
STATUS = {
    "booked": "Booked",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
SS_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class HistoryWorld:
    world: f.World
    jose: int  # José Núñez, three treatments
    wang: int  # 王秀英, one treatment
    day1: date
    day2: date
    #: The treatment whose fields hold the formula-looking text, in FORMULA_LIKE order.
    formula_treatment_id: int


def build_history(clinic: Clinic, clock: FakeClock) -> HistoryWorld:
    """Book, complete and record visits through the services; the oldest is not booked first.

    The formula-looking text is then written straight into the database, as data
    imported from an older system would be: the services' input cleaning strips a
    leading tab or carriage return, and the export must be safe whatever is stored.
    """
    w = f.world(clinic)
    wang = f.patient(clinic, "王秀英")
    day1, day2 = w.day, w.day + timedelta(days=1)
    f.open_day(clinic, w.doctor_id, day2)
    desk = f.RECEPTION
    late = booking.book(
        clinic, desk, patient_id=w.patient_id, doctor_id=w.doctor_id, day=day2, at="09:00",
        visit_type="check_up",
    )  # fmt: skip
    mid = booking.book(
        clinic, desk, patient_id=w.patient_id, doctor_id=w.doctor_id, day=day1, at="10:00",
        visit_type="follow_up",
    )  # fmt: skip
    early = booking.book(
        clinic, desk, patient_id=w.patient_id, doctor_id=w.other_doctor_id, day=day1, at="09:00"
    )
    booking.book(  # booked, never completed: no treatment, so not in the history
        clinic, desk, patient_id=w.patient_id, doctor_id=w.doctor_id, day=day2, at="11:00"
    )
    wang_visit = booking.book(
        clinic, desk, patient_id=wang, doctor_id=w.doctor_id, day=day1, at="11:00"
    )
    clock.set(datetime.combine(day2, time(18, 0)))
    ada, alan = f.doctor_actor(w.doctor_id), f.doctor_actor(w.other_doctor_id)
    for actor, appt in ((alan, early), (ada, mid), (ada, late), (ada, wang_visit)):
        booking.complete(clinic, actor, appt)
    records.record_treatment(
        clinic, alan, early,
        TreatmentForm(
            symptoms="cough, fever",
            diagnosis='cold, "mild"\nrest',
            treatment_given="rest; fluids",
            prescription="Paracetamol 500 mg, 3×/day",
            notes='Patient said: "much better"\nCall back, if worse.',
        ),
    )  # fmt: skip
    records.record_treatment(
        clinic, ada, mid, TreatmentForm(symptoms="placeholder", diagnosis="placeholder")
    )
    records.record_treatment(
        clinic, ada, late,
        TreatmentForm(
            symptoms="Kopfschmerzen — señal", diagnosis="Migräne",
            treatment_given="", prescription="Ibuprofen 400", notes="Ünïcödé ✓ 王秀英 mentioned",
        ),
    )  # fmt: skip
    records.record_treatment(
        clinic, ada, wang_visit, TreatmentForm(diagnosis="高血压", notes='复诊, "两周"')
    )
    with clinic.db.write() as session:
        tid = session.scalar(select(Treatment.id).where(Treatment.appointment_id == mid))
        assert tid is not None
        session.execute(
            update(Treatment)
            .where(Treatment.id == tid)
            .values(
                symptoms=FORMULA_LIKE[0],
                diagnosis=FORMULA_LIKE[1],
                treatment_given=FORMULA_LIKE[2],
                prescription=FORMULA_LIKE[3],
                notes=FORMULA_LIKE[4],
            )
        )
        session.execute(
            update(Treatment)
            .where(Treatment.appointment_id == late)
            .values(treatment_given=FORMULA_LIKE[5])
        )
    return HistoryWorld(w, w.patient_id, wang, day1, day2, tid)


def expected_history(clinic: Clinic, patient_id: int) -> list[list[Any]]:
    """The history straight from the tables (not through the export's own query)."""
    stmt = (
        select(
            Patient.id,
            Patient.full_name,
            Doctor.full_name,
            Appointment.day,
            Appointment.start_time,
            Appointment.visit_type,
            Treatment.symptoms,
            Treatment.diagnosis,
            Treatment.treatment_given,
            Treatment.prescription,
            Treatment.notes,
        )
        .join(Appointment, Appointment.id == Treatment.appointment_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .where(Patient.id == patient_id)
        .order_by(Appointment.day, Appointment.start_time)
    )
    with clinic.db.read() as session:
        return [[*r[:5], VISIT.get(r[5], r[5]), *r[6:]] for r in session.execute(stmt)]


def expected_appointments(clinic: Clinic, **where: Any) -> list[list[Any]]:
    stmt = (
        select(
            Appointment.day,
            Appointment.start_time,
            Patient.id,
            Patient.full_name,
            Doctor.full_name,
            Department.name,
            Appointment.visit_type,
            Appointment.status,
        )
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )
    if "date_from" in where:
        stmt = stmt.where(Appointment.day >= where["date_from"])
    if "date_to" in where:
        stmt = stmt.where(Appointment.day <= where["date_to"])
    if "doctor_id" in where:
        stmt = stmt.where(Appointment.doctor_id == where["doctor_id"])
    if "status" in where:
        stmt = stmt.where(Appointment.status == where["status"])
    with clinic.db.read() as session:
        return [
            [*r[:6], VISIT.get(r[6], r[6]), STATUS.get(r[7], r[7])] for r in session.execute(stmt)
        ]


# --- reading files back ----------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 byte-order mark"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def csv_cell(value: Any) -> str:
    """How a database value must appear in the CSV (formula-looking text quoted with ')."""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_OOXML = re.compile(r"_x([0-9A-Fa-f]{4})_")


def read_xlsx(path: Path) -> list[list[Any]]:
    """Cell values, with the OOXML _xHHHH_ escapes decoded the way Excel decodes them."""
    wb = load_workbook(path)
    try:
        rows = []
        for row in wb.worksheets[0].iter_rows():
            values = []
            for cell in row:
                value = cell.value
                if isinstance(value, str):
                    assert cell.data_type == "s", (cell.coordinate, cell.data_type, value)
                    value = _OOXML.sub(lambda m: chr(int(m.group(1), 16)), value)
                values.append(value)
            rows.append(values)
        return rows
    finally:
        wb.close()


def xlsx_cell(value: Any) -> Any:
    """How a database value must read back from the workbook (dates come back as datetimes)."""
    if value == "":
        return None
    if isinstance(value, date):
        return datetime.combine(value, time())
    return value


def sheet_xml(path: Path) -> ElementTree.Element:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(names) == 1, names
        return ElementTree.fromstring(zf.read(names[0]))


def xml_cells(root: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {c.attrib["r"]: c for c in root.iter(f"{SS_NS}c")}


def bulk_history(clinic: Clinic, patient_id: int, doctor_id: int, count: int) -> None:
    """``count`` completed visits with treatments, inserted in bulk (for big exports)."""
    base = date(2010, 1, 1)
    appts = [
        {
            "doctor_id": doctor_id,
            "patient_id": patient_id,
            "day": base + timedelta(days=i // 16),
            "start_time": time(8 + (i % 16) // 2, 30 * (i % 2)),
            "end_time": time(8 + (i % 16) // 2, 30 * (i % 2) + 29),
            "visit_type": "consultation",
            "reason": "",
            "status": "completed",
        }
        for i in range(count)
    ]
    with clinic.db.write() as session:
        first = session.scalar(select(Appointment.id).order_by(Appointment.id.desc()).limit(1))
        session.execute(insert(Appointment), appts)
        ids = session.scalars(
            select(Appointment.id)
            .where(Appointment.patient_id == patient_id, Appointment.id > (first or 0))
            .order_by(Appointment.id)
        ).all()
        session.execute(
            insert(Treatment),
            [
                {
                    "appointment_id": appt_id,
                    "symptoms": f"symptom {n}",
                    "diagnosis": f'diagnosis {n}, "quoted"',
                    "treatment_given": "rest",
                    "prescription": "=cmd|' /C calc'!A0" if n % 1000 == 0 else "water",
                    "notes": f"note {n}\nsecond line",
                }
                for n, appt_id in enumerate(ids)
            ],
        )
