"""The printable history: every visit's date and diagnosis in the PDF's text, paginated,
with the clinic and patient on every page; from the window's renderer and from ``hms``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from pytest import CaptureFixture
from sqlalchemy import select, update

from hms_desktop.cli import main
from hms_desktop.db.models import Appointment, Treatment
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import record_exports
from hms_desktop.services.files.history_data import DoctorInfo, PatientRecord, Visit
from hms_desktop.services.files.history_pdf import history_document
from hms_desktop.services.safety import audit
from hms_desktop.ui.exports.history_pdf import write_history_pdf
from tests import factories as f
from tests.exports.helpers import HistoryWorld

#: The front desk exports a record only at the patient's own request.
ASKED = "the patient asked for a copy at the desk"


def _visits(clinic: Clinic, patient_id: int) -> list[tuple[str, str]]:
    stmt = (
        select(Appointment.day, Treatment.diagnosis)
        .join(Treatment, Treatment.appointment_id == Appointment.id)
        .where(Appointment.patient_id == patient_id)
    )
    with clinic.db.read() as session:
        return [(day.isoformat(), diagnosis) for day, diagnosis in session.execute(stmt)]


def _pages(path: Path) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages]


def _long_notes(clinic: Clinic, patient_id: int) -> None:
    """Notes long enough to need several pages."""
    with clinic.db.write() as session:
        first = session.scalars(
            select(Treatment.id)
            .join(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.day)
        ).first()
        notes = "\n".join(f"Line {i} of the doctor's notes." for i in range(160))
        session.execute(update(Treatment).where(Treatment.id == first).values(notes=notes))


def test_the_pdf_holds_every_visit_on_numbered_pages_with_a_header(
    qapp: object, clinic: Clinic, history: HistoryWorld, out_dir: Path
) -> None:
    f.set_settings(clinic, clinic_name="Praxis Mitte")
    _long_notes(clinic, history.jose)
    target = out_dir / "jose.pdf"

    result = record_exports.export_record(
        clinic,
        f.RECEPTION,
        history.jose,
        target,
        "pdf",
        render_pdf=write_history_pdf,
        patient_request=ASKED,
    )

    assert result.path == target and result.rows == 3
    pages = _pages(target)
    assert len(pages) >= 2
    text = " ".join(pages)
    visits = _visits(clinic, history.jose)
    assert len(visits) == 3
    for day, diagnosis in visits:
        assert day in text
        assert " ".join(diagnosis.split()) in text, diagnosis
    for number, page in enumerate(pages, 1):
        assert "Praxis Mitte" in page and "José Núñez" in page
        assert f"Page {number} of {len(pages)}" in page
    assert "Line 159 of the doctor's notes." in text  # nothing cut at a page break
    entry = audit.list_entries(clinic, SYSTEM, action_prefix="history.export")[0]
    details = json.loads(entry.details)
    assert (details["outcome"], details["format"], details["file"]) == (
        "completed",
        "pdf",
        str(target),
    )


def test_all_visits_print_with_their_status(
    qapp: object, clinic: Clinic, history: HistoryWorld, out_dir: Path
) -> None:
    w = history.world
    later = clinic.today() + __import__("datetime").timedelta(days=2)
    f.open_day(clinic, w.doctor_id, later)
    from hms_desktop.services.scheduling import booking

    booking.book(
        clinic, f.RECEPTION, patient_id=history.jose, doctor_id=w.doctor_id, day=later, at="10:00"
    )
    target = out_dir / "all.pdf"
    record_exports.export_record(
        clinic, f.RECEPTION, history.jose, target, "pdf", patient_request=ASKED,
        all_visits=True, render_pdf=write_history_pdf,
    )  # fmt: skip
    text = " ".join(_pages(target))
    assert later.isoformat() in text and "Booked" in text and "Completed" in text


@pytest.mark.slow
def test_hms_export_history_pdf_fhir_and_delimiter(
    clinic: Clinic, history: HistoryWorld, out_dir: Path, capsys: CaptureFixture[str]
) -> None:
    base = ["--database", clinic.db.url, "export", "history", "--patient", str(history.jose)]

    pdf = out_dir / "jose.pdf"
    assert main([*base, "--format", "pdf", "--output", str(pdf)]) == 0
    assert capsys.readouterr().out.strip() == f"3 visits written to {pdf}"
    text = " ".join(_pages(pdf))
    for day, diagnosis in _visits(clinic, history.jose):
        assert day in text and " ".join(diagnosis.split()) in text

    bundle = out_dir / "jose.json"  # .json is FHIR
    assert main([*base, "--output", str(bundle)]) == 0
    kinds = [e["resource"]["resourceType"] for e in json.loads(bundle.read_bytes())["entry"]]
    assert kinds.count("Encounter") == 3 and kinds[0] == "Patient"

    semi = out_dir / "jose.csv"
    assert main([*base, "--delimiter", "semicolon", "--all-visits", "-o", str(semi)]) == 0
    header = semi.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith(";Notes;Status") and header.count(";") == 11

    assert main([*base, "--delimiter", "pipe", "-o", str(out_dir / "x.csv")]) == 2
    assert "comma, semicolon or tab" in capsys.readouterr().err

    tabbed = out_dir / "appointments.csv"
    day = history.day1.isoformat()
    appointments = ["--database", clinic.db.url, "export", "appointments", "--from", day]
    assert main([*appointments, "--to", day, "--delimiter", "tab", "-o", str(tabbed)]) == 0
    assert tabbed.read_text(encoding="utf-8-sig").splitlines()[0].split("\t")[0] == "Date"


def _heading_at_page_foot(pdf: Path) -> list[tuple[int, str]]:
    """(page, heading) for each page whose body ends with a visit's heading (pdftotext)."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    found = []
    for number, page in enumerate(done.stdout.split("\f"), 1):
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        body = [ln for ln in lines if not ln.startswith("Page ")]
        if body and HEADING.match(body[-1]):
            found.append((number, body[-1]))
    return found


#: A visit's heading as the PDF prints it: "2026-06-16 09:00 · Dr. ...".
HEADING = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} · ")


def _visit(n: int, day: date) -> Visit:
    notes = "\n".join(f"Note {n}, line {i}." for i in range(n * 7 % 9 + 1))
    return Visit(
        appointment_id=n + 1, day=day, start=time(9, n % 60), doctor_id=1,
        visit_type="consultation", status="completed", reason="", minutes=30,
        treatment_id=n + 1, symptoms=f"symptom {n}", diagnosis=f"diagnosis {n}",
        treatment_given="", prescription="", notes=notes,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_a_visits_heading_is_never_left_alone_at_the_foot_of_a_page(
    qapp: object, tmp_path: Path
) -> None:
    doctor = DoctorInfo(1, "Dr. Ada Lovelace", "General Medicine", "", "", "")
    day = date(2026, 1, 5)
    # Notes of 1 to 9 lines: over 80 visits, headings land at every height of a page.
    visits = tuple(_visit(n, day + timedelta(days=n)) for n in range(80))
    record = PatientRecord(1, "José Núñez", None, "", "", "", "", {1: doctor}, visits)
    pdf = tmp_path / "long.pdf"
    write_history_pdf(
        history_document(record, clinic_name="Praxis Mitte", generated_at=datetime(2026, 6, 1)),
        pdf,
    )

    assert _heading_at_page_foot(pdf) == []
    text = " ".join(_pages(pdf))
    assert len(_pages(pdf)) >= 4
    found = [(text + " ").find(f"diagnosis {n} ") for n in range(80)]
    assert -1 not in found and found == sorted(found)  # every visit, in order
    assert "Note 79, line 0." in text
