"""Streaming CSV and Excel writers for exported tables (no database, no Qt).

Both writers take one row at a time and keep nothing of it, so memory stays flat
however many rows are exported. Text goes through :mod:`spreadsheet_safety`;
numbers, dates and times stay numbers, dates and times.
"""

from __future__ import annotations

import contextlib
import csv
import io
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hms_desktop.errors import ValidationError
from hms_desktop.services.spreadsheet_safety import any_formula_like, csv_text, ooxml_text

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
ColumnKind = Literal["text", "number", "date", "time"]

#: Excel's sheet limit, header row included.
XLSX_MAX_ROWS = 1_048_576
XLSX_DATE_FORMAT = "yyyy-mm-dd"
XLSX_TIME_FORMAT = "hh:mm"
# Text openpyxl would type by itself: "=..." as a formula, "#N/A" and its kin as
# errors. Such text gets an explicit string cell; any other text stays a plain str.
_XLSX_TYPED_STARTS = frozenset("=#")


@dataclass(frozen=True)
class Column:
    """One exported column: its header, what its values are, and its Excel width."""

    header: str
    kind: ColumnKind = "text"
    #: Width in characters in Excel (text is streamed, so it cannot be measured first).
    width: float = 16


class TableWriter(Protocol):
    """Writes rows into an open binary file; nothing is complete before :meth:`close`."""

    rows: int

    def write(self, values: Sequence[Any]) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class CsvTableWriter:
    """RFC 4180 CSV (the ``csv`` module's excel dialect), UTF-8 with a byte-order mark.

    The BOM makes Excel read the file as UTF-8, so "José Núñez" does not turn into
    mojibake; commas, quotes and line breaks inside a cell are quoted by ``csv``.
    """

    def __init__(self, out: BinaryIO, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)
        self._width = len(self._columns)
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow([c.header for c in self._columns])
        # Precomputed per column, so a row costs no per-cell dispatch on the kind.
        # Numbers and None need nothing: csv writes str(number) and None as "".
        self._converters = tuple(
            (i, _CSV_CONVERTERS[c.kind])
            for i, c in enumerate(self._columns)
            if c.kind in _CSV_CONVERTERS
        )
        self._text_indexes = tuple(i for i, c in enumerate(self._columns) if c.kind == "text")
        self._texts = _getter(self._text_indexes)
        self.rows = 0

    def write(self, values: Sequence[Any]) -> None:
        if len(values) != self._width:
            raise ValueError(f"expected {self._width} values, got {len(values)}")
        row: Sequence[Any] = values
        if self._converters:
            row = list(values)
            for i, convert in self._converters:
                value = row[i]
                if value is not None:
                    row[i] = convert(value)
        # str() of every text (None becomes "None", which is harmless) for one screen;
        # only a row that may hold a formula pays for the per-cell check.
        if self._text_indexes and any_formula_like(map(str, self._texts(values))):
            row = list(row)
            for i in self._text_indexes:
                value = row[i]
                if value is not None:
                    row[i] = csv_text(str(value))
        self._csv.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the caller owns (and fsyncs) the binary file

    def abort(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._text.detach()


class XlsxTableWriter:
    """An Excel workbook written by openpyxl in write-only (streaming) mode.

    One sheet: a bold header row that stays frozen while scrolling, an autofilter
    over the whole table, fixed column widths, dates and times as real Excel dates
    with a number format, and every text as an explicit string cell (never a formula).
    """

    def __init__(self, out: BinaryIO, columns: Sequence[Column], title: str) -> None:
        self._out = out
        self._columns = tuple(columns)
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(title[:31])  # Excel's limit for sheet names
        self._ws.freeze_panes = "A2"
        # Column widths must be set before the first row is streamed.
        for index, column in enumerate(self._columns, 1):
            self._ws.column_dimensions[get_column_letter(index)].width = column.width
        bold = Font(bold=True)
        header = []
        for column in self._columns:
            cell = self._text_cell(column.header)
            cell.font = bold
            header.append(cell)
        self._ws.append(header)
        kinds = {"text": self._text, "date": self._date, "time": self._time}
        self._converters: tuple[Callable[[Any], Any] | None, ...] = tuple(
            kinds.get(c.kind) for c in self._columns
        )
        self.rows = 0

    def _text_cell(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._ws, value=ooxml_text(text))
        # openpyxl makes "=..." a formula and "#N/A" an error; typed text is neither.
        cell.data_type = "s"
        return cell

    def _text(self, value: Any) -> Any:
        text = value if value.__class__ is str else str(value)
        if text == "":
            return None
        if text[0] in _XLSX_TYPED_STARTS:
            return self._text_cell(text)
        # A plain str is written as the same inline-string cell as an explicit one,
        # without a cell object (openpyxl builds one per cell the slow way).
        return ooxml_text(text)

    def _date(self, value: Any) -> Any:
        # openpyxl gives a date the number format yyyy-mm-dd on its own.
        return value.date() if isinstance(value, datetime) else value

    def _time(self, value: Any) -> Any:
        cell = WriteOnlyCell(self._ws, value=value)
        cell.number_format = XLSX_TIME_FORMAT
        return cell

    def write(self, values: Sequence[Any]) -> None:
        if self.rows + 1 >= XLSX_MAX_ROWS:
            raise ValidationError(
                f"Excel holds at most {XLSX_MAX_ROWS - 1:,} rows in a sheet; this export has "
                "more. Export to CSV instead, or narrow the date range.",
                field="format",
            )
        self._ws.append(
            [
                None if v is None or v == "" else v if f is None else f(v)
                for f, v in zip(self._converters, values, strict=True)
            ]
        )
        self.rows += 1

    def close(self) -> None:
        last = get_column_letter(len(self._columns))
        self._ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"
        self._wb.save(self._out)  # openpyxl accepts a seekable file object

    def abort(self) -> None:
        """Stop streaming and delete openpyxl's own temporary sheet file."""
        ws: Any = self._ws
        with contextlib.suppress(Exception):
            if ws._rows is not None:
                ws._rows.close()
        writer = ws._writer
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(OSError, ValueError):
                writer.cleanup()


def _iso_date(value: Any) -> str:
    return str(value.isoformat())


def _hh_mm(value: Any) -> str:
    return str(value.strftime("%H:%M"))


_CSV_CONVERTERS: dict[ColumnKind, Callable[[Any], str]] = {"date": _iso_date, "time": _hh_mm}


def _getter(indexes: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values at ``indexes`` as a tuple, in one C call (itemgetter) per row."""
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda values: (values[only],)
    return operator.itemgetter(*indexes)


def open_table(fmt: Format, out: BinaryIO, columns: Sequence[Column], title: str) -> TableWriter:
    """A writer for ``fmt`` that streams rows into ``out`` (header written already)."""
    if fmt == "csv":
        return CsvTableWriter(out, columns)
    return XlsxTableWriter(out, columns, title)
