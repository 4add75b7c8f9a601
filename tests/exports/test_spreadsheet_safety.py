"""Any text survives the writers exactly, and never becomes a formula (property tests)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from hms_desktop.services.files import table_files
from hms_desktop.services.files.spreadsheet_safety import (
    any_formula_like,
    csv_text,
    is_formula_like,
    ooxml_text,
    ooxml_unescape,
)
from hms_desktop.services.files.table_files import (
    CellTooLongError,
    Column,
    CsvTableWriter,
    XlsxTableWriter,
)

# Any text a database column could hold (no lone surrogates: they cannot be stored).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
risky = st.sampled_from(["=", "+", "-", "@", "\t", "\r", "_x000D_", "#N/A", "\x01"])
typed = st.builds(lambda a, b: a + b, risky, texts) | texts
COLUMNS = [Column("Text"), Column("Number", "number"), Column("Day", "date")]


def test_the_owasp_list():
    for text in ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx"]:
        assert is_formula_like(text) and csv_text(text) == "'" + text
    for text in ["José", "1+1", "a=b", " =x", "", "'quoted"]:
        assert not is_formula_like(text) and csv_text(text) == text


@given(typed)
def test_ooxml_escape_round_trips(text: str):
    escaped = ooxml_text(text)
    assert ooxml_unescape(escaped) == text
    assert "\r" not in escaped and not any(ord(c) < 32 and c not in "\t\n" for c in escaped)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(typed, min_size=1, max_size=5))
def test_csv_cells_read_back_quoted_when_risky(values: list[str]):
    buffer = io.BytesIO()
    writer = CsvTableWriter(buffer, COLUMNS)
    for value in values:
        writer.write([value, -7, date(2026, 6, 15)])
    writer.close()
    rows = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == [("'" + v if is_formula_like(v) else v) for v in values]
    assert all(r[1:] == ["-7", "2026-06-15"] for r in rows[1:])  # numbers are not quoted


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(typed, min_size=1, max_size=5))
def test_xlsx_cells_are_strings_with_the_exact_text(values: list[str]):
    buffer = io.BytesIO()
    writer = XlsxTableWriter(buffer, COLUMNS, "Sheet")
    for value in values:
        writer.write([value, -7, date(2026, 6, 15)])
    writer.close()
    with zipfile.ZipFile(buffer) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere in the file
    wb = load_workbook(buffer)
    ws = wb.worksheets[0]
    for row, value in enumerate(values, start=2):
        cell = ws.cell(row, 1)
        if value == "":
            assert cell.value is None
            continue
        assert cell.data_type == "s"
        assert ooxml_unescape(cell.value) == value
        assert ws.cell(row, 2).value == -7 and ws.cell(row, 2).data_type == "n"
    wb.close()


@given(st.lists(typed, max_size=6))
def test_the_row_screen_never_misses_a_formula(values: list[str]):
    # The CSV writer checks cells one by one only when the screen says so.
    assert any_formula_like(values) >= any(is_formula_like(v) for v in values)
    assert any_formula_like(["safe", "a=b", "x-1"]) is False  # the fast path is taken


cells = typed | st.none() | st.integers(-5, 5)
TEXTS = [Column("A"), Column("B"), Column("Time", "time"), Column("C")]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=5))
def test_csv_rows_match_the_per_cell_rules(rows: list[tuple[object, object, object]]):
    """Several text columns, None and non-text values: each cell as csv_text(str(value))."""
    buffer = io.BytesIO()
    writer = CsvTableWriter(buffer, TEXTS)
    for a, b, c in rows:
        writer.write([a, b, time(9, 5), c])
    writer.close()
    read = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"), newline="")))

    def expected(v: object) -> str:
        return "" if v is None else csv_text(str(v))

    assert read[1:] == [[expected(a), expected(b), "09:05", expected(c)] for a, b, c in rows]


def test_xlsx_error_codes_and_formulas_stay_text():
    values = ["#N/A", "#DIV/0!", "=1+1", "=", "#hashtag", "+1", "plain", -5]
    buffer = io.BytesIO()
    writer = XlsxTableWriter(buffer, [Column("Text")], "Sheet")
    for value in values:
        writer.write([value])
    writer.close()
    with zipfile.ZipFile(buffer) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="e"' not in sheet and 't="n"' not in sheet
    wb = load_workbook(buffer)
    cells = [wb.worksheets[0].cell(row, 1) for row in range(2, len(values) + 2)]
    assert [c.value for c in cells] == [str(v) for v in values]
    assert all(c.data_type == "s" for c in cells)
    wb.close()


def test_xlsx_rows_read_back_exactly():
    """Every kind of value, on the raw row path and on openpyxl's own (odd values)."""
    columns = [
        Column("Text"),
        Column("Number", "number"),
        Column("Day", "date"),
        Column("Time", "time"),
    ]
    rows = [
        ["  padded  ", 7, date(2026, 6, 15), time(9, 30)],
        ["a & b <c> \"d\" 'e'", 2.5, datetime(2026, 6, 15, 18, 0), time(23, 59)],
        ["=1+1", Decimal("3.25"), date(1900, 1, 15), None],
        ["x" * 32_767, -1, None, time(0, 0)],  # Excel's limit for a cell: kept whole
        ["", None, "", ""],
    ]
    buffer = io.BytesIO()
    writer = XlsxTableWriter(buffer, columns, "Sheet")
    for row in rows:
        writer.write(row)
    writer.close()
    wb = load_workbook(buffer)
    ws = wb.worksheets[0]
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=6, max_col=4)]
    assert got == [
        ["  padded  ", 7, datetime(2026, 6, 15), time(9, 30)],
        ["a & b <c> \"d\" 'e'", 2.5, datetime(2026, 6, 15), time(23, 59)],
        ["=1+1", 3.25, datetime(1900, 1, 15), None],
        ["x" * 32_767, -1, None, time(0, 0)],
        [None, None, None, None],
    ]
    assert ws["A4"].data_type == "s"
    assert ws["C2"].number_format == "yyyy-mm-dd" and ws["D2"].number_format == "hh:mm"
    assert ws["C4"].number_format == "yyyy-mm-dd"  # the openpyxl path, same format
    wb.close()
    # One character more is never cut: the writer refuses it (the export then says so).
    refusing = XlsxTableWriter(io.BytesIO(), columns, "Sheet")
    with pytest.raises(CellTooLongError, match="Text: 32,768 characters"):
        refusing.write(["x" * 32_768, 1, None, None])
    refusing.abort()


class _NoTextSink:
    """An XML writer without et_xmlfile's text sink, as with another backend (lxml)."""

    def __init__(self, xf: object) -> None:
        self._xf = xf

    def __getattr__(self, name: str) -> object:
        if name == "_file":
            raise AttributeError(name)
        return getattr(self._xf, name)


def _sheet_cells(buffer: io.BytesIO) -> list[list[tuple[object, str, str]]]:
    wb = load_workbook(buffer)
    cells = [
        [(c.value, c.data_type, c.number_format) for c in row] for row in wb.worksheets[0].rows
    ]
    wb.close()
    return cells


def test_xlsx_without_the_text_sink_writes_the_same_workbook(monkeypatch):
    columns = [Column("Text"), Column("N", "number"), Column("Day", "date"), Column("T", "time")]
    rows = [
        ["=1+1", 7, date(2026, 6, 15), time(9, 30)],
        ["#N/A", 2.5, datetime(2026, 6, 15, 18, 0), None],
        [" x ", None, "", time(0, 0)],
    ]

    def export() -> io.BytesIO:
        buffer = io.BytesIO()
        writer = XlsxTableWriter(buffer, columns, "Sheet")
        for row in rows:
            writer.write(row)
        writer.close()
        return buffer

    raw = export()
    original = table_files._XlsxRows._write_row
    monkeypatch.setattr(
        table_files._XlsxRows,
        "_write_row",
        lambda self, xf, values, row_idx: original(self, _NoTextSink(xf), values, row_idx),
    )
    through_openpyxl = export()
    assert _sheet_cells(through_openpyxl) == _sheet_cells(raw)
    assert _sheet_cells(raw)[1][0] == ("=1+1", "s", "General")
