"""The monthly report's PDF is print quality, read back with pypdf.

Summary page first; a table that continues on a page starts it with its header;
rows are never split (unless one alone is taller than a page); words wrap whole.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pytest
from pytestqt.qtbot import QtBot

from hms_desktop.services.records.monthly_stats import (
    AppointmentLine,
    MonthlyStats,
    TreatmentLine,
)
from hms_desktop.services.records.reports import render_html
from hms_desktop.ui.doctor.pdf_export import write_pdf

WORDS = [
    "physiotherapy",
    "paracetamol",
    "ibuprofen",
    "hypertension",
    "bronchitis",
    "dermatitis",
    "migraine",
    "review",
    "weeks",
    "fluids",
    "rest",
    "sleep",
    "diet",
    "walking",
    "daily",
]
APPOINTMENT_HEADER = ["Date", "Time", "Patient", "Visit", "Status"]
TREATMENT_HEADER = ["Date", "Patient", "Diagnosis", "Treatment", "given", "Prescription"]


def _stats(visits: int, *, tall_note_words: int = 0) -> MonthlyStats:
    appointments, treatments = [], []
    for i in range(visits):
        day = date(2026, 11, 1 + i % 30)
        status = ("completed", "cancelled", "no_show", "completed")[i % 4]
        patient = f"Pat{i:03d} Zed"
        appointments.append(AppointmentLine(i, day, time(8 + i % 10), patient, "follow_up", status))
        if status == "completed":
            diagnosis = f"Case{i:03d} " + " ".join(WORDS[(i + k) % len(WORDS)] for k in range(14))
            if i == 8 and tall_note_words:
                diagnosis += " " + " ".join(WORDS[k % len(WORDS)] for k in range(tall_note_words))
            treatments.append(
                TreatmentLine(i, day, patient, diagnosis, "rest and fluids", f"Rx{i:03d} daily")
            )
    return MonthlyStats(
        1, "Dr. Ada Lovelace", "Neurology", "ada@example.com", "2026-11", visits,
        sum(a.status == "completed" for a in appointments),
        sum(a.status == "cancelled" for a in appointments),
        sum(a.status == "no_show" for a in appointments),
        0, len(treatments), len({t.patient for t in treatments}),
        tuple(appointments), tuple(treatments),
    )  # fmt: skip


def _pages(path: Path) -> list[list[str]]:
    return [page.extract_text().split() for page in pypdf.PdfReader(str(path)).pages]


def _pdf(tmp_path: Path, stats: MonthlyStats) -> tuple[list[list[str]], str]:
    html = render_html(stats, datetime(2026, 12, 1, 6, 0, tzinfo=ZoneInfo("UTC")))
    target = tmp_path / "report.pdf"
    write_pdf(html, target, title="Monthly report 2026-11")
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]  # no partial file left
    return _pages(target), html


@pytest.mark.usefixtures("qapp")
def test_203_visits_print_with_headers_whole_rows_and_whole_words(
    tmp_path: Path, qtbot: QtBot
) -> None:
    stats = _stats(203)
    pages, html = _pdf(tmp_path, stats)

    assert len(pages) <= 14  # 22 pages before, for the same month
    first = " ".join(pages[0])
    assert first.startswith("Monthly report: November 2026")
    assert "Summary" in first
    assert f"Patients seen {stats.unique_patients} different patients" in first
    assert "Pat000" not in first  # the summary page holds the summary only

    sections = {"Appointments": APPOINTMENT_HEADER, "Treatments": TREATMENT_HEADER}
    previous = ""
    for number, words in enumerate(pages[1:], 2):
        text = " ".join(words)
        if text.startswith(("Appointments (continued)", "Treatments (continued)")):
            heading = words[0]
            assert heading == previous, f"page {number} continues a table not on page {number - 1}"
            assert words[2 : 2 + len(sections[heading])] == sections[heading], f"page {number}"
        else:
            heading = words[0]
            assert heading in sections, f"page {number} starts with {words[:3]}"
            assert words[1 : 1 + len(sections[heading])] == sections[heading], f"page {number}"
        previous = heading

    # Rows whole: each row's cells are on one page (the patient, the case, the prescription).
    for line in stats.appointments:
        name = line.patient.split()[0]
        found = [n for n, words in enumerate(pages) if name in words]
        if line.status == "completed":
            assert len(found) == 2  # its appointment row and its treatment row
        else:
            assert len(found) == 1
    for t in stats.treatment_lines:
        tag = t.patient.split()[0][3:]
        holding = [n for n, words in enumerate(pages) if f"Case{tag}" in words]
        assert len(holding) == 1
        assert f"Rx{tag}" in pages[holding[0]]

    # Words whole: every word printed is a word of the report, never a piece of one.
    known = set(re.sub(r"<[^>]+>", " ", html).split()) | {"(continued)", "page", "of", "2026-11"}
    known |= {str(n) for n in range(100)}
    strays = {w for words in pages[1:] for w in words} - known
    assert not strays, sorted(strays)[:20]


@pytest.mark.usefixtures("qapp")
def test_a_row_taller_than_a_page_continues_under_the_header(tmp_path: Path, qtbot: QtBot) -> None:
    pages, _html = _pdf(tmp_path, _stats(20, tall_note_words=1400))
    treatment_pages = [n for n, words in enumerate(pages) if words and words[0] == "Treatments"]
    assert len(treatment_pages) >= 2
    for n in treatment_pages[1:]:
        assert pages[n][:2] == ["Treatments", "(continued)"]
        assert pages[n][2 : 2 + len(TREATMENT_HEADER)] == TREATMENT_HEADER
    printed = [w for n in treatment_pages for w in pages[n]]
    assert printed.count("Case008") == 1
    # Nothing of the tall note is lost: its words come in order, with only the headers,
    # footers and its row's other cells between them (compared without white space:
    # pypdf's text extraction sometimes puts a space inside a word).
    between = r"Treatments\(continued\)DatePatientDiagnosisTreatmentgivenPrescription|"
    between += r"Monthlyreport2026-11page\dof\d|restandfluidsRx008daily"
    joined = re.sub(between, "", "".join(printed[printed.index("Case008") :]))
    assert "".join(WORDS[k % len(WORDS)] for k in range(1400)) in joined
