"""History export: the files match the database row for row, in both formats, safely."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path

import pytest

from hms_desktop.errors import (
    NotFoundError,
    OperationCancelledError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports
from hms_desktop.services.safety import audit
from tests import factories as f
from tests.exports.helpers import (
    FORMULA_LIKE,
    HISTORY_HEADER,
    SS_NS,
    HistoryWorld,
    csv_cell,
    expected_history,
    read_csv,
    read_xlsx,
    sheet_xml,
    xlsx_cell,
    xml_cells,
)

#: The front desk exports a history only at the patient's own request.
REQUEST = "Patient asked for a copy at the desk"


def test_csv_matches_database_row_for_row(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    target = out_dir / "jose.csv"
    result = exports.export_history(
        clinic, f.RECEPTION, history.jose, target, "csv", patient_request=REQUEST
    )

    rows = read_csv(target)
    expected = expected_history(clinic, history.jose)
    assert rows[0] == HISTORY_HEADER
    assert rows[1:] == [[csv_cell(v) for v in row] for row in expected]
    assert result.rows == len(expected) == 3
    # One byte-order mark, first (Excel reads the file as UTF-8 by it), and UTF-8 after.
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfPatient ID,") and raw.count(b"\xef\xbb\xbf") == 1
    assert "José Núñez".encode() in raw
    assert result.path == target and result.bytes == target.stat().st_size
    # Oldest first, though booked in another order; names and text survive exactly.
    assert [r[2] for r in rows[1:]] == ["Dr. Alan Turing", "Dr. Ada Lovelace", "Dr. Ada Lovelace"]
    assert rows[1][1] == "José Núñez"
    assert rows[1][7] == 'cold, "mild"\nrest'
    assert rows[1][10] == 'Patient said: "much better"\nCall back, if worse.'
    assert rows[1][3] == history.day1.isoformat() and rows[3][3] == history.day2.isoformat()
    assert rows[2][5] == "Follow-up" and rows[3][5] == "Check-up"
    # The start time, as text HH:MM: two visits on day 1 read in order.
    assert [r[3:5] for r in rows[1:]] == [
        [history.day1.isoformat(), "09:00"],
        [history.day1.isoformat(), "10:00"],
        [history.day2.isoformat(), "09:00"],
    ]


def test_xlsx_matches_database_row_for_row(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    target = out_dir / "jose.xlsx"
    result = exports.export_history(
        clinic, f.RECEPTION, history.jose, target, patient_request=REQUEST
    )  # from suffix

    rows = read_xlsx(target)
    expected = expected_history(clinic, history.jose)
    assert rows[0] == HISTORY_HEADER
    assert rows[1:] == [[xlsx_cell(v) for v in row] for row in expected]
    assert result.rows == 3
    assert isinstance(rows[1][0], int)  # the patient id stays a number
    assert rows[1][3] == datetime.combine(history.day1, datetime.min.time())
    assert [r[4] for r in rows[1:]] == [time(9, 0), time(10, 0), time(9, 0)]


def test_unicode_patient_only_their_rows(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    for fmt, read in (("csv", read_csv), ("xlsx", read_xlsx)):
        target = out_dir / f"wang.{fmt}"
        exports.export_history(clinic, f.patient_actor(history.wang), history.wang, target)
        rows = read(target)
        assert len(rows) == 2
        assert rows[1][:3] == [
            str(history.wang) if fmt == "csv" else history.wang,
            "王秀英",
            "Dr. Ada Lovelace",
        ]
        assert rows[1][7] == "高血压" and rows[1][10] == '复诊, "两周"'


def test_formula_text_stays_text_in_csv(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    target = out_dir / "f.csv"
    exports.export_history(
        clinic, f.RECEPTION, history.jose, target, "csv", patient_request=REQUEST
    )
    rows = read_csv(target)
    mid, late = rows[2], rows[3]
    # Each such cell starts with a single quote, so no spreadsheet sees a formula;
    # the text after it is exactly what was stored.
    cells = [*mid[6:11], late[8]]
    assert cells == ["'" + text for text in FORMULA_LIKE]
    # Numbers and dates are not quoted: they stay numbers and dates.
    assert mid[0] == str(history.jose) and mid[3] == history.day1.isoformat()
    assert mid[4] == "10:00"  # the time too: text a spreadsheet reads as a time
    raw = target.read_bytes().decode("utf-8-sig")
    assert "\n" + str(history.jose) + "," in raw and ",'=SUM(A1)," in raw


def test_formula_text_is_a_string_cell_in_xlsx(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
):
    target = out_dir / "f.xlsx"
    exports.export_history(
        clinic, f.RECEPTION, history.jose, target, "xlsx", patient_request=REQUEST
    )

    rows = read_xlsx(target)  # asserts every str cell has data type "s"
    assert [*rows[2][6:11], rows[3][8]] == FORMULA_LIKE
    # In the file itself: inline strings, and no formula element anywhere.
    root = sheet_xml(target)
    assert root.find(f".//{SS_NS}f") is None
    cells = xml_cells(root)
    for ref, text in zip(["G3", "H3", "I3", "J3", "K3", "I4"], FORMULA_LIKE, strict=True):
        cell = cells[ref]
        assert cell.attrib["t"] == "inlineStr", ref
        assert cell.find(f"{SS_NS}v") is None
        stored = cell.find(f"{SS_NS}is/{SS_NS}t")
        assert stored is not None
        # CR cannot live in XML text (parsers turn it into LF): Excel's own escape is used.
        assert stored.text == text.replace("\r", "_x000D_"), ref
    # The id is a number cell and the date a number with a date format.
    assert cells["A3"].attrib["t"] == "n" and cells["A3"].findtext(f"{SS_NS}v") == str(history.jose)
    assert cells["D3"].attrib["t"] == "n" and "s" in cells["D3"].attrib


def test_xlsx_layout_header_frozen_filter_widths(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
):
    from openpyxl import load_workbook

    target = out_dir / "layout.xlsx"
    exports.export_history(clinic, f.RECEPTION, history.jose, target, patient_request=REQUEST)
    wb = load_workbook(target)
    ws = wb.worksheets[0]
    assert all(cell.font.bold for cell in ws[1])
    assert not ws["A2"].font.bold
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:K4"
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    assert widths["A"] >= 10 and widths["K"] >= 30 and widths["D"] >= len("Appointment Date")
    assert widths["E"] >= len("Time") and ws["E1"].value == "Time"
    assert ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["D2"].is_date
    # The start is a time cell (a fraction of a day with a time format), not text.
    assert ws["E2"].is_date and ws["E2"].number_format == "hh:mm"
    assert ws["E2"].value == time(9, 0)
    wb.close()


def test_escaped_underscore_sequences_round_trip(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
):
    """Text that happens to look like an OOXML escape is protected, not decoded."""
    from sqlalchemy import update

    from hms_desktop.db.models import Treatment

    tricky = "literal _x000D_ and \x01 control"
    with clinic.db.write() as session:
        session.execute(
            update(Treatment)
            .where(Treatment.id == history.formula_treatment_id)
            .values(notes=tricky)
        )
    target = out_dir / "tricky.xlsx"
    exports.export_history(clinic, f.RECEPTION, history.jose, target, patient_request=REQUEST)
    assert read_xlsx(target)[2][10] == tricky


def test_empty_history_writes_header_only(clinic: Clinic, out_dir: Path):
    pid = f.patient(clinic, "Nobody Yet")
    for fmt in ("csv", "xlsx"):
        result = exports.export_history(clinic, SYSTEM, pid, out_dir / f"empty.{fmt}")
        assert result.rows == 0
    assert read_csv(out_dir / "empty.csv") == [HISTORY_HEADER]
    assert read_xlsx(out_dir / "empty.xlsx") == [HISTORY_HEADER]


def test_patient_exports_only_their_own_history(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
):
    jose = f.patient_actor(history.jose)
    exports.export_history(clinic, jose, history.jose, out_dir / "mine.csv")
    with pytest.raises(PermissionDeniedError):
        exports.export_history(clinic, jose, history.wang, out_dir / "theirs.csv")
    assert sorted(p.name for p in out_dir.iterdir()) == ["mine.csv"]


def test_doctor_exports_only_their_patients(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    alan = f.doctor_actor(history.world.other_doctor_id)  # saw José, never 王秀英
    exports.export_history(clinic, alan, history.jose, out_dir / "jose.csv")
    with pytest.raises(PermissionDeniedError):
        exports.export_history(clinic, alan, history.wang, out_dir / "wang.csv")
    assert not (out_dir / "wang.csv").exists()


def test_unknown_patient_and_bad_format(clinic: Clinic, out_dir: Path):
    with pytest.raises(NotFoundError):
        exports.export_history(clinic, SYSTEM, 999_999, out_dir / "x.csv")
    with pytest.raises(ValidationError, match="csv or xlsx"):
        exports.export_history(clinic, SYSTEM, 1, out_dir / "x.ods")
    with pytest.raises(ValidationError, match="does not exist"):
        exports.export_history(clinic, SYSTEM, 1, out_dir / "missing" / "x.csv")
    assert list(out_dir.iterdir()) == []


def _export_entries(clinic: Clinic) -> list[audit.AuditRow]:
    return list(reversed(audit.list_entries(clinic, SYSTEM, action_prefix="history.export")))


def test_audit_records_every_export(clinic: Clinic, history: HistoryWorld, out_dir: Path):
    jose = f.patient_actor(history.jose)
    exports.export_history(clinic, jose, history.jose, out_dir / "a.xlsx")
    with pytest.raises(PermissionDeniedError):
        exports.export_history(clinic, jose, history.wang, out_dir / "b.csv")
    with pytest.raises(OperationCancelledError):
        exports.export_history(
            clinic,
            f.RECEPTION,
            history.jose,
            out_dir / "c.csv",
            should_cancel=lambda: True,
            patient_request=REQUEST,
        )

    entries = _export_entries(clinic)
    assert [(e.actor, e.patient_id) for e in entries] == [
        (jose.username, history.jose),
        (jose.username, history.wang),
        (f.RECEPTION.username, history.jose),
    ]
    details = [json.loads(e.details) for e in entries]
    assert [d["outcome"] for d in details] == ["completed", "refused", "cancelled"]
    assert details[0]["format"] == "xlsx" and details[0]["rows"] == 3
    assert details[0]["file"] == str(out_dir / "a.xlsx")
    assert all(e.entity == "patient" and e.entity_id == e.patient_id for e in entries)
    assert details[2]["patient_request"] == REQUEST


def test_the_front_desk_exports_only_at_the_patients_request(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
) -> None:
    with pytest.raises(PermissionDeniedError, match="patient's own request"):
        exports.export_history(clinic, f.RECEPTION, history.jose, out_dir / "a.csv")
    with pytest.raises(ValidationError, match="reason"):
        exports.export_history(
            clinic, f.RECEPTION, history.jose, out_dir / "a.csv", patient_request="asked"
        )
    assert not (out_dir / "a.csv").exists()
    result = exports.export_history(
        clinic, f.RECEPTION, history.jose, out_dir / "a.csv", patient_request=REQUEST
    )
    assert result.rows == 3
