"""Render the Doctor and Patient tabs at 1280x800 with a realistic clinic, offscreen.

The pictures stay in the test's temporary folder; the README's come from the
real-window tier (``tests/realwindow``).

The data is built through the services, over three weeks of the fake clock, so
past visits have real treatments. The test also checks what the pictures show,
so a screenshot of an empty or broken tab fails.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import departments, doctors, patients
from hms_desktop.services.records import records
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.ui.booking.booking_dialog import BookingDialog, BookingTarget
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.doctor.doctor_tab import DoctorTab
from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
from hms_desktop.ui.patient.patient_tab import PatientTab
from tests import factories as f

WAIT = 10_000
SHOTS = Path()  # the test's temporary folder: see _pictures_in_tmp
SIZE = (1280, 800)

DEPARTMENTS = {
    "General Medicine": ["Dr. Ada Lovelace", "Dr. Alan Turing"],
    "Cardiology": ["Dr. Marie Curie"],
    "Dermatology": ["Dr. Rosalind Franklin"],
    "Paediatrics": ["Dr. Edward Jenner"],
    "Orthopaedics": ["Dr. Joseph Lister", "Dr. Virginia Apgar"],
}
PATIENTS = [
    ("José Núñez", "1984-03-12", "male", "+49 30 5550101"),
    ("Anna Smith", "1991-07-30", "female", "+49 30 5550102"),
    ("Maria Kowalski", "1958-11-02", "female", "+49 30 5550103"),
    ("Liam O'Connor", "2012-05-19", "male", "+49 30 5550104"),
    ("Sofia Rossi", "1977-01-25", "female", "+49 30 5550105"),
    ("Mehmet Yılmaz", "1969-09-14", "male", "+49 30 5550106"),
    ("Chen Wei", "1995-12-08", "other", "+49 30 5550107"),
    ("Fatima Haddad", "1988-04-03", "female", "+49 30 5550108"),
    ("Lukas Becker", "2001-02-17", "male", "+49 30 5550109"),
]
VISITS = [  # (symptoms, diagnosis, treatment given, prescription)
    ("Dry cough, mild fever", "Acute bronchitis", "Auscultation; rest advised", "Ambroxol 30 mg 3x daily, 7 days"),
    ("Headache behind the eyes", "Tension headache", "Posture and screen advice", "Ibuprofen 400 mg as needed"),
    ("Blood pressure check", "Essential hypertension, controlled", "BP 132/84; lifestyle review", "Ramipril 5 mg daily"),
    ("Itchy rash on forearms", "Contact dermatitis", "Allergen history taken", "Hydrocortisone 1% cream twice daily"),
    ("Sore throat, 3 days", "Viral pharyngitis", "Rapid strep test negative", "Lozenges; fluids"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _pictures_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SHOTS", tmp_path / "screenshots")


@pytest.fixture
def ops(qtbot: QtBot, sqlite_clinic: Clinic) -> Iterator[Operations]:
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT)
    assert helper.shutdown()


def _at(clock: FakeClock, day: datetime, hour: int, minute: int = 0) -> None:
    clock.set(day.replace(hour=hour, minute=minute))


def build_clinic(clinic: Clinic, clock: FakeClock) -> dict[str, int]:
    """Departments, doctors, patients, three weeks of treated visits, and a busy today."""
    ids: dict[str, int] = {}
    for dept, names in DEPARTMENTS.items():
        dept_id = departments.save_department(clinic, SYSTEM, dept, f"{dept} outpatient clinic")
        for name in names:
            ids[name] = doctors.add_doctor(
                clinic,
                SYSTEM,
                doctors.DoctorForm(
                    full_name=name, department_id=dept_id, qualification="MD, specialist"
                ),
            )
    for name, born, gender, phone in PATIENTS:
        ids[name] = patients.register_patient(
            clinic,
            SYSTEM,
            patients.PatientForm(
                full_name=name,
                date_of_birth=born,
                gender=gender,
                phone=phone,
                email=name.split()[0].lower().replace("é", "e") + "@mail.test",
            ),
        )
    ada = ids["Dr. Ada Lovelace"]
    me = Actor(None, "ada", "doctor", doctor_id=ada)
    today = clock.now()
    patient_names = [p[0] for p in PATIENTS]
    # Past weeks: José and others saw Dr. Lovelace; each visit got a treatment.
    for week in (3, 2, 1):
        day = today - timedelta(days=7 * week)
        _at(clock, day, 8)
        f.open_day(clinic, ada, day.date(), "09:00", "12:00")
        for i, name in enumerate(patient_names[:3]):
            appt = booking.book(
                clinic, SYSTEM, patient_id=ids[name], doctor_id=ada, day=day.date(),
                at=time(9 + i, 0), visit_type="consultation" if i else "follow_up",
            )  # fmt: skip
            _at(clock, day, 13)
            booking.complete(clinic, me, appt)
            symptoms, diagnosis, given, prescription = VISITS[(week + i) % len(VISITS)]
            records.record_treatment(
                clinic,
                me,
                appt,
                records.TreatmentForm(
                    symptoms, diagnosis, given, prescription, "Review in 4 weeks"
                ),
            )
            _at(clock, day, 8)
    # This week: every doctor offers mornings and some afternoons.
    _at(clock, today, 7)
    for offset, day in enumerate(availability.week_ahead(clinic)):
        for doctor_id in (ids[n] for names in DEPARTMENTS.values() for n in names):
            windows = [("08:30", "12:00")] + (
                [("14:00", "16:30")] if (doctor_id + offset) % 2 else []
            )
            availability.set_day(clinic, SYSTEM, doctor_id, day, windows)
    reasons = ["Persistent cough", "Blood test results", "Back pain", "", "Vaccination", "Rash on hands", "Follow-up on blood pressure", "Sports injury, left knee"]  # fmt: skip
    slots = [time(8, 30), time(9, 0), time(9, 30), time(10, 0), time(10, 30), time(11, 0), time(14, 0), time(15, 0)]  # fmt: skip
    ada_afternoon_today = bool(ada % 2)  # the windows above: offset 0 is today
    todays: list[int] = []
    for i, name in enumerate(patient_names[1:9]):
        if slots[i] >= time(14, 0) and not ada_afternoon_today:
            continue
        todays.append(
            booking.book(
                clinic,
                SYSTEM,
                patient_id=ids[name],
                doctor_id=ada,
                day=today.date(),
                at=slots[i],
                visit_type=("consultation", "follow_up", "check_up")[i % 3],
                reason=reasons[i],
            )
        )
    # José has two upcoming visits, one of them with a cardiologist.
    tomorrow = today.date() + timedelta(days=1)
    booking.book(clinic, SYSTEM, patient_id=ids["José Núñez"], doctor_id=ada, day=tomorrow, at="10:00", reason="Review of the cough")  # fmt: skip
    booking.book(clinic, SYSTEM, patient_id=ids["José Núñez"], doctor_id=ids["Dr. Marie Curie"], day=today.date() + timedelta(days=3), at="09:30", visit_type="check_up", reason="ECG")  # fmt: skip
    # By 10:40 the first visits are done: two completed with notes, one no-show.
    _at(clock, today, 10, 40)
    for appt, status in zip(
        todays[:4], ("completed", "completed", "no_show", "completed"), strict=True
    ):
        booking.set_status(clinic, me, appt, status)
        if status == "completed":
            symptoms, diagnosis, given, prescription = VISITS[appt % len(VISITS)]
            records.record_treatment(
                clinic, me, appt, records.TreatmentForm(symptoms, diagnosis, given, prescription)
            )
    return ids


def save(widget: QWidget, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()  # let labels that just changed text lay out again
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


def test_doctor_and_patient_tab_screenshots(
    qtbot: QtBot, styled: QApplication, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    clinic = sqlite_clinic
    ids = build_clinic(clinic, clock)

    ada = Actor(
        None, "ada", "doctor", doctor_id=ids["Dr. Ada Lovelace"], display_name="Dr. Ada Lovelace"
    )
    doctor_tab = DoctorTab(clinic, ada, ops)
    qtbot.addWidget(doctor_tab)
    doctor_tab.resize(*SIZE)
    doctor_tab.show()
    qtbot.waitUntil(lambda: len(doctor_tab.rows) >= 6, timeout=WAIT)
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert doctor_tab.select_appointment(doctor_tab.rows[4].id)
    assert {r.status for r in doctor_tab.rows} == {"completed", "no_show", "booked"}
    assert doctor_tab.size().toTuple() == SIZE
    assert save(doctor_tab, "doctor_tab.png").stat().st_size > 20_000

    assert doctor_tab.select_appointment(doctor_tab.rows[0].id)
    doctor_tab.show_history()
    qtbot.waitUntil(lambda: doctor_tab.history.model.rowCount() >= 3, timeout=WAIT)
    save(doctor_tab, "doctor_tab_history.png")
    doctor_tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: doctor_tab.availability.days_model.rowCount() == 7, timeout=WAIT)  # type: ignore[union-attr]
    save(doctor_tab, "doctor_tab_availability.png")

    patient_tab = PatientTab(clinic, f.RECEPTION, ops)
    qtbot.addWidget(patient_tab)
    patient_tab.resize(*SIZE)
    patient_tab.show()
    assert patient_tab.picker is not None
    qtbot.waitUntil(lambda: patient_tab.picker.model.rowCount() == len(PATIENTS), timeout=WAIT)  # type: ignore[union-attr]
    row = next(
        i for i, p in enumerate(patient_tab.picker.model.rows) if p.full_name == "José Núñez"
    )
    patient_tab.picker.results.select_row(row)  # highlighting is not choosing: a click is
    patient_tab.set_patient(patient_tab.picker.model.rows[row])
    qtbot.waitUntil(lambda: patient_tab.upcoming_model.rowCount() == 2, timeout=WAIT)
    qtbot.waitUntil(lambda: patient_tab.browser.departments_model.rowCount() == 5, timeout=WAIT)
    assert patient_tab.browser.select_department("General Medicine")
    qtbot.waitUntil(lambda: patient_tab.browser.doctors_model.rowCount() == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: patient_tab.browser.slot_picker.model.rowCount() > 10, timeout=WAIT)
    patient_tab.browser.slot_picker.table.select_row(2)
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert save(patient_tab, "patient_tab.png").stat().st_size > 20_000
    patient_tab.pages.setCurrentIndex(2)
    assert patient_tab.past_model.rowCount() == 3
    save(patient_tab, "patient_tab_past.png")
    patient_tab.pages.setCurrentIndex(1)
    save(patient_tab, "patient_tab_upcoming.png")
    patient_tab.pages.setCurrentIndex(3)
    assert patient_tab.profile.full_name.text() == "José Núñez"
    save(patient_tab, "patient_tab_profile.png")


def test_dialog_screenshots(
    qtbot: QtBot, styled: QApplication, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    """The booking dialog after "slot taken", and the treatment dialog being filled in."""
    clinic = sqlite_clinic
    ids = build_clinic(clinic, clock)
    jose, ada = ids["José Núñez"], ids["Dr. Ada Lovelace"]
    target = BookingTarget(jose, "José Núñez", ada, "Dr. Ada Lovelace", "General Medicine")
    slot = availability.free_slots(clinic, ada, clinic.today() + timedelta(days=2))[1]
    dialog = BookingDialog(clinic, f.RECEPTION, ops, target, slot=slot)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == slot, timeout=WAIT)
    dialog.visit_type.setCurrentIndex(dialog.visit_type.findData("follow_up"))
    dialog.reason.setPlainText("Review of the cough; bring the X-ray")
    booking.book(
        clinic, SYSTEM, patient_id=ids["Anna Smith"], doctor_id=ada, day=slot.date, at=slot.time
    )
    with qtbot.waitSignal(dialog.slots_loaded, timeout=WAIT):
        dialog.save_button.click()
    assert dialog.slot_error.isVisible()
    save(dialog, "booking_dialog_slot_taken.png")
    dialog.reject()

    visit = next(
        r
        for r in booking.list_appointments(clinic, SYSTEM, booking.AppointmentFilter(doctor_id=ada))
        if r.status == "completed" and r.date == clinic.today()
    )
    me = Actor(None, "ada", "doctor", doctor_id=ada, display_name="Dr. Ada Lovelace")
    treatment = TreatmentDialog(clinic, me, ops, visit)
    qtbot.addWidget(treatment)
    with qtbot.waitSignal(treatment.loaded, timeout=WAIT):
        treatment.show()
    assert treatment.fields["diagnosis"].toPlainText()
    save(treatment, "treatment_dialog.png")
    treatment.reject()
