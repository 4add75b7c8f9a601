"""Streaming CSV and Excel writers for exported tables (no database, no Qt).

Both writers take one row at a time and keep nothing of it, so memory stays flat
however many rows are exported. Text goes through :mod:`spreadsheet_safety`;
numbers, dates and times stay numbers, dates and times.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from hms_desktop.errors import ValidationError
from hms_desktop.services.spreadsheet_safety import csv_text, ooxml_text

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
ColumnKind = Literal["text", "number", "date", "time"]

#: Excel's sheet limit, header row included.
XLSX_MAX_ROWS = 1_048_576
XLSX_DATE_FORMAT = "yyyy-mm-dd"
XLSX_TIME_FORMAT = "hh:mm"


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
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow([c.header for c in self._columns])
        self.rows = 0

    def _value(self, column: Column, value: Any) -> Any:
        if value is None:
            return ""
        if column.kind == "text":
            return csv_text(str(value))
        if column.kind == "date":
            return value.isoformat()
        if column.kind == "time":
            return value.strftime("%H:%M")
        return value

    def write(self, values: Sequence[Any]) -> None:
        self._csv.writerow([self._value(c, v) for c, v in zip(self._columns, values, strict=True)])
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
        self.rows = 0

    def _text_cell(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._ws, value=ooxml_text(text))
        # openpyxl makes "=..." a formula and "#N/A" an error; typed text is neither.
        cell.data_type = "s"
        return cell

    def _value(self, column: Column, value: Any) -> Any:
        if value is None or value == "":
            return None
        if column.kind == "text":
            return self._text_cell(str(value))
        if column.kind == "date":
            # openpyxl gives a date the number format yyyy-mm-dd on its own.
            return value.date() if isinstance(value, datetime) else value
        if column.kind == "time":
            cell = WriteOnlyCell(self._ws, value=value)
            cell.number_format = XLSX_TIME_FORMAT
            return cell
        return value

    def write(self, values: Sequence[Any]) -> None:
        if self.rows + 1 >= XLSX_MAX_ROWS:
            raise ValidationError(
                f"Excel holds at most {XLSX_MAX_ROWS - 1:,} rows in a sheet; this export has "
                "more. Export to CSV instead, or narrow the date range.",
                field="format",
            )
        self._ws.append([self._value(c, v) for c, v in zip(self._columns, values, strict=True)])
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


def open_table(fmt: Format, out: BinaryIO, columns: Sequence[Column], title: str) -> TableWriter:
    """A writer for ``fmt`` that streams rows into ``out`` (header written already)."""
    if fmt == "csv":
        return CsvTableWriter(out, columns)
    return XlsxTableWriter(out, columns, title)
