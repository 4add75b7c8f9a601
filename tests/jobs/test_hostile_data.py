"""Hostile data through the job and export paths, drawn by Hypothesis.

Names, addresses and notes from every unicode category, control characters, formula
prefixes and maximum lengths are stored as imported data would be (straight into the
database, past the input checks), then run through reminders (delivered to aiosmtpd on
loopback), the monthly report (stored, emailed and printed to PDF) and the CSV and
Excel history exports. Every run must end with each message sent, or failed or
undeliverable with a reason; every export complete and read back exactly (or, for
Excel, refused before anything is kept when a text is longer than a cell holds, with
CSV keeping it whole); nothing cut, nothing left behind.

On SQLite only: PostgreSQL refuses NUL in text, so such data cannot exist there.
"""

from __future__ import annotations

import csv
import itertools
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pytestqt.qtbot import QtBot
from sqlalchemy import insert, select

from hms_desktop.db.models import Appointment, Doctor, OutboxMessage, Patient, Treatment
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.files import exports
from hms_desktop.services.files.spreadsheet_safety import csv_text, ooxml_unescape
from hms_desktop.services.files.table_files import XLSX_MAX_CELL, excel_length
from hms_desktop.services.messaging import outbox
from hms_desktop.services.messaging.notifications import queue_reminders
from hms_desktop.services.people.departments import save_department
from hms_desktop.services.records import reports
from hms_desktop.ui.doctor.pdf_export import write_pdf
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at

DAY = date(2026, 6, 16)
LAST_MONTH = "2026-05"

_any = st.characters(exclude_categories=["Cs"])  # lone surrogates cannot be stored
# Every unicode category (but Cs: lone surrogates cannot be stored), one group at a time.
_categories = st.sampled_from(
    [["Lu", "Ll", "Lt", "Lm", "Lo"], ["Mn", "Mc", "Me"], ["Nd", "Nl", "No"],
     ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"], ["Sm", "Sc", "Sk", "So"], ["Zs", "Zl", "Zp"],
     ["Cc", "Cf", "Co", "Cn"]]
)  # fmt: skip
_by_category = _categories.flatmap(
    lambda cats: st.text(st.characters(categories=cats), min_size=1, max_size=12)
)
_specials = st.sampled_from(
    ["=SUM(A1)", "+1", "-2", "@x", "\t", "\r", "\r\n", "\n", "\x00", "\x0b", "\x1b[31m",
     "_x000D_", "#N/A", "<b>", "&amp;", "\u202e", "\ufeff", "\U0010ffff", "𝕏", "😀", "ß", "İ"]
)  # fmt: skip
hostile = st.lists(st.one_of(_by_category, _specials, st.text(_any, max_size=8)), max_size=6).map(
    "".join
)
names = st.one_of(hostile, st.just("Ann Smith")).map(lambda s: s[:120])
emails = st.one_of(
    st.sampled_from(["ann@mail.test", "jürgen@müller.de", "x.y+z@example.com", ""]),
    hostile.map(lambda s: s[:254]),
    st.builds(lambda a, b: f"{a}@{b}.test", hostile, hostile).map(lambda s: s[:254]),
)
notes = st.one_of(
    hostile,
    # Long notes, some at or past Excel's cell limit once CR/LF are counted as readers do.
    st.tuples(hostile, st.sampled_from([1000, 16_384, 32_767, 40_000])).map(
        lambda t: ((t[0] or "x") + "\r\n") * (t[1] // (len(t[0]) + 2) + 1)
    ),
)

HOSTILE_DATA = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


class _World:
    """What the examples add to, one clinic for all of them (a new doctor each time)."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.department = save_department(clinic, SYSTEM, "Hostile care")
        self.slots = itertools.count()

    def add(self, patient: str, email: str, doctor: str, texts: list[str]) -> tuple[int, int]:
        n = next(self.slots)
        with self.clinic.db.write() as session:
            doc = Doctor(full_name=doctor, department_id=self.department, email=email)
            pat = Patient(full_name=patient, name_key="", surname_key="", email=email)
            session.add_all([doc, pat])
            session.flush()
            booked = time(10 + n // 60 % 12, n % 60)
            ends = time(booked.hour, booked.minute, 59)  # a minute-long visit: never overlaps
            session.execute(
                insert(Appointment),
                [
                    {"doctor_id": doc.id, "patient_id": pat.id, "day": DAY,
                     "start_time": booked, "end_time": ends, "status": "booked"},
                    {"doctor_id": doc.id, "patient_id": pat.id, "day": date(2026, 5, 20),
                     "start_time": booked, "end_time": ends, "status": "completed"},
                ],
            )  # fmt: skip
            done = session.scalar(
                select(Appointment.id).where(
                    Appointment.patient_id == pat.id, Appointment.status == "completed"
                )
            )
            symptoms, diagnosis, given_, prescription, note = texts
            session.add(
                Treatment(
                    appointment_id=done,
                    symptoms=symptoms,
                    diagnosis=diagnosis,
                    treatment_given=given_,
                    prescription=prescription,
                    notes=note,
                )
            )
            return doc.id, pat.id


def _assert_every_message_settled(clinic: Clinic, server: SmtpServer) -> None:
    with clinic.db.read() as session:
        rows = session.execute(
            select(OutboxMessage.status, OutboxMessage.recipient, OutboxMessage.last_error)
        ).all()
    for status, recipient, reason in rows:
        assert status in ("sent", "failed", "undeliverable"), (status, recipient)
        if status != "sent":
            assert reason.strip(), recipient  # failed with a reason
    sent = [recipient for status, recipient, _reason in rows if status == "sent"]
    assert sorted(server.mailbox.recipients) == sorted(sent)  # each exactly once


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _xlsx_rows(path: Path) -> list[list[Any]]:
    book = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _check_exports(clinic: Clinic, patient_id: int, row: list[str], folder: Path) -> None:
    """``row``: the exported texts as stored (name, doctor, symptoms ... notes)."""
    name, doctor, *texts = row
    csv_path = folder / f"h{patient_id}.csv"
    exports.export_history(clinic, SYSTEM, patient_id, csv_path)
    header, got = _csv_rows(csv_path)
    assert len(header) == 11 and len(got) == 11, got
    assert got[1:3] == [csv_text(name), csv_text(doctor)]
    assert got[6:] == [csv_text(t) for t in texts]  # nothing cut, nothing changed

    xlsx_path = folder / f"h{patient_id}.xlsx"
    too_long = [t for t in (name, doctor, *texts) if excel_length(t) > XLSX_MAX_CELL]
    if too_long:
        with pytest.raises(ValidationError, match="export to CSV instead"):
            exports.export_history(clinic, SYSTEM, patient_id, xlsx_path)
        assert not xlsx_path.exists()
    else:
        exports.export_history(clinic, SYSTEM, patient_id, xlsx_path)
        _header, values = _xlsx_rows(xlsx_path)
        values += [None] * (11 - len(values))  # a row read back ends at its last value
        cells = [ooxml_unescape(v) if isinstance(v, str) else v for v in values]
        assert [cells[1] or "", cells[2] or ""] == [name, doctor]
        assert [c or "" for c in cells[6:]] == texts
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no partial file


@pytest.mark.slow
@pytest.mark.usefixtures("qapp")
def test_hostile_data_through_reminders_reports_and_exports(
    sqlite_clinic: Clinic,
    clock: FakeClock,
    smtp_server: SmtpServer,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    clinic = sqlite_clinic
    use_smtp(clinic, smtp_server.port)
    world = _World(clinic)
    out = tmp_path / "out"
    out.mkdir()
    examples = itertools.count()

    @HOSTILE_DATA
    @example(  # an address with a line break; a note past Excel's cell limit
        patient='=HYPERLINK("http://x")\r\n\x00Ann',
        doctor="@Dr. \u202eEvil",
        email="ann@mail.test\r\nBcc: all@mail.test",
        texts=["+1", "-2", "\t=cmd", ("note\r\n" * 6667)[:40_000], "_x000D_ #N/A"],
    )
    @example(patient="😀" * 60, doctor="ß" * 120, email="jürgen@müller.de", texts=[""] * 5)
    @given(
        patient=names,
        doctor=names,
        email=emails,
        texts=st.lists(notes, min_size=5, max_size=5),
    )
    def run(patient: str, doctor: str, email: str, texts: list[str]) -> None:
        n = next(examples)
        doctor_id, patient_id = world.add(patient, email, doctor, texts)

        # Reminders: queued and delivered over SMTP, one at a time.
        clock.set(at(DAY - timedelta(days=1), "08:00"))
        queue_reminders(clinic, DAY, run_id=None)
        outbox.deliver_due(clinic)
        # The monthly report: stored, emailed, printed.
        made = reports.generate_reports(clinic, LAST_MONTH, run_id=None)
        assert [r.doctor_id for r in made if r.created] == [doctor_id]
        outbox.deliver_due(clinic)
        _assert_every_message_settled(clinic, smtp_server)

        html, stored = reports.report_html_for(clinic, SYSTEM, doctor_id, LAST_MONTH)
        assert stored
        pdf = out / f"report-{n}.pdf"
        write_pdf(html, pdf, title=f"report {n}")
        reader = pypdf.PdfReader(str(pdf))
        assert len(reader.pages) >= 2  # the summary page, then the tables
        assert "Patients seen" in " ".join(reader.pages[0].extract_text().split())

        _check_exports(clinic, patient_id, [patient, doctor, *texts], out)

    run()
    # The pass covered both outcomes: messages sent, and messages refused with a reason.
    counts = outbox.status_counts(clinic)
    assert counts.get("sent", 0) > 0 and counts.get("undeliverable", 0) > 0, counts
