"""Streaming CSV and Excel writers for exported tables (no database, no Qt).

Both writers take one row at a time and keep nothing of it, so memory stays flat
however many rows are exported. Text goes through :mod:`spreadsheet_safety`;
numbers, dates and times stay numbers, dates and times. No value is ever cut: a
text longer than an Excel cell holds (:data:`XLSX_MAX_CELL`, counted on the text a
reader sees) raises :class:`CellTooLongError`, and the export refuses (CSV has no
such limit).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, BinaryIO, Literal, Protocol
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell._writer import write_cell
from openpyxl.compat import safe_string
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, to_excel

from hms_desktop.errors import ValidationError
from hms_desktop.services.files.spreadsheet_safety import any_formula_like, csv_text, ooxml_text

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
#: The CSV delimiters a user may choose: comma (English Excel), semicolon (Excel where
#: the decimal separator is a comma: German, French...), and tab.
CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t")
ColumnKind = Literal["text", "number", "date", "time"]

#: Excel's sheet limit, header row included.
XLSX_MAX_ROWS = 1_048_576
#: Excel's limit of characters in one cell, counted as Excel counts them: on the text a
#: reader sees (not on its XML escapes), in UTF-16 code units.
XLSX_MAX_CELL = 32_767
XLSX_DATE_FORMAT = "yyyy-mm-dd"
XLSX_TIME_FORMAT = "hh:mm"
# Text openpyxl would type by itself: "=..." as a formula, "#N/A" and its kin as
# errors. Such text gets an explicit string cell; any other text stays a plain str.
_XLSX_TYPED_STARTS = frozenset("=#")


class CellTooLongError(Exception):
    """A text is longer than an Excel cell holds; the export must not cut it."""

    def __init__(self, header: str, length: int) -> None:
        super().__init__(f"{header}: {length:,} characters")
        self.header = header
        self.length = length


def excel_length(text: str) -> int:
    """The length Excel gives ``text``: characters beyond the BMP count twice (UTF-16)."""
    return len(text.encode("utf-16-le")) // 2


def too_long_for_excel(columns: Sequence[Column], values: Sequence[Any]) -> list[tuple[str, int]]:
    """The (header, length) of each text in ``values`` that an Excel cell cannot hold."""
    found = []
    for column, value in zip(columns, values, strict=True):
        # len() is a lower bound of the UTF-16 length: only a long text is measured.
        if (
            column.kind == "text"
            and value is not None
            and len(text := str(value)) * 2 > XLSX_MAX_CELL
        ):
            length = excel_length(text)
            if length > XLSX_MAX_CELL:
                found.append((column.header, length))
    return found


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
    mojibake; delimiters, quotes and line breaks inside a cell are quoted by ``csv``.
    ``delimiter`` is one of :data:`CSV_DELIMITERS`.
    """

    def __init__(self, out: BinaryIO, columns: Sequence[Column], *, delimiter: str = ",") -> None:
        if delimiter not in CSV_DELIMITERS:
            raise ValueError(f"unsupported CSV delimiter {delimiter!r}")
        self._columns = tuple(columns)
        self._width = len(self._columns)
        # The mark written once by hand: "utf-8-sig" would run its Python-level encoder
        # on every row (a tenth of a 600,000-row export); "utf-8" is encoded in C.
        out.write(codecs.BOM_UTF8)
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text, delimiter=delimiter)
        self._csv.writerow([c.header for c in self._columns])
        # Precomputed per column, so a row costs no per-cell dispatch on the kind.
        # Numbers and None need nothing: csv writes str(number) and None as "";
        # a plain date neither: its str() is its ISO form.
        self._converters = tuple(
            (i, *_CSV_CONVERTERS[c.kind])
            for i, c in enumerate(self._columns)
            if c.kind in _CSV_CONVERTERS
        )
        self._text_indexes = tuple(i for i, c in enumerate(self._columns) if c.kind == "text")
        self._texts = _getter(self._text_indexes)
        self.rows = 0

    def write(self, values: Sequence[Any]) -> None:
        if len(values) != self._width:
            raise ValueError(f"expected {self._width} values, got {len(values)}")
        copy: list[Any] | None = None  # made only when a cell must change
        for i, convert, as_is in self._converters:
            value = values[i]
            if value is not None and value.__class__ is not as_is:
                copy = list(values) if copy is None else copy
                copy[i] = convert(value)
        # str() of every text (None becomes "None", which is harmless) for one screen;
        # only a row that may hold a formula pays for the per-cell check.
        if self._text_indexes and any_formula_like(map(str, self._texts(values))):
            copy = list(values) if copy is None else copy
            for i in self._text_indexes:
                value = copy[i]
                if value is not None:
                    copy[i] = csv_text(str(value))
        self._csv.writerow(values if copy is None else copy)
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
    The header goes through openpyxl's cells; the data rows through :class:`_XlsxRows`.
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
        self._rows = _XlsxRows(self._ws, self._columns, self._cell_values)
        self._text_indexes = tuple(i for i, c in enumerate(self._columns) if c.kind == "text")
        self.rows = 0

    def _text_cell(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._ws, value=None)
        # Set directly: openpyxl's own check would cut the *escaped* text at 32,767
        # characters. write() has checked the text a reader sees against that limit.
        cell._value = ooxml_text(text)
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
        if len(values) != len(self._columns):
            raise ValueError(f"expected {len(self._columns)} values, got {len(values)}")
        for i in self._text_indexes:
            value = values[i]
            # Only a text of more than half the limit can exceed it (UTF-16: 2 units at most).
            if value is not None and len(str(value)) * 2 > XLSX_MAX_CELL:
                too_long = too_long_for_excel(self._columns, values)
                if too_long:
                    raise CellTooLongError(*too_long[0])
                break
        # Serialized by _XlsxRows; openpyxl's append takes only a list or a tuple.
        self._ws.append(values if isinstance(values, (list, tuple)) else list(values))
        self.rows += 1

    def _cell_values(self, values: Sequence[Any]) -> list[Any]:
        """``values`` as openpyxl cell values (the path when rows cannot be written raw)."""
        return [
            None if v is None or v == "" else v if f is None else f(v)
            for f, v in zip(self._converters, values, strict=True)
        ]

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


class _XlsxRows:
    """Writes the data rows of a write-only sheet as XML text, not through openpyxl cells.

    openpyxl spends most of an export building a cell object, an XML element and a
    serializer call per cell. This writes each row as one string in the same form
    (inline strings, ``t="n"`` numbers, dates and times as serials with the styles
    openpyxl registered), so text is never a formula here either. It hooks into the
    sheet's row writer once the header is written; a value it does not know (or
    another XML backend, such as lxml) goes through openpyxl's own path instead.
    """

    def __init__(
        self,
        ws: Any,
        columns: Sequence[Column],
        cell_values: Callable[[Sequence[Any]], list[Any]],
    ) -> None:
        self._ws = ws
        self._cell_values = cell_values
        writer = ws._writer  # created by the header row
        self._openpyxl_write_row = writer.write_row
        self._openpyxl_values_to_row = ws._values_to_row
        date_cell = WriteOnlyCell(ws, value=date(2000, 1, 1))  # openpyxl's date format
        time_cell = WriteOnlyCell(ws, value=time(0, 0))
        time_cell.number_format = XLSX_TIME_FORMAT
        self._epoch_ordinal = ws.parent.epoch.toordinal()
        self._windows_epoch = ws.parent.epoch == WINDOWS_EPOCH
        self._date_style = date_cell.style_id
        self._time_style = time_cell.style_id
        self._cells = tuple(
            (get_column_letter(i), getattr(self, f"_{c.kind}")) for i, c in enumerate(columns, 1)
        )
        ws._values_to_row = self._pass_values
        writer.write_row = self._write_row

    @staticmethod
    def _pass_values(values: Sequence[Any], row_idx: int) -> Sequence[Any]:
        return values

    def _write_row(self, xf: Any, values: Sequence[Any], row_idx: int) -> None:
        raw = getattr(xf, "_file", None)  # et_xmlfile's text sink
        if raw is None:
            cells = self._openpyxl_values_to_row(self._cell_values(values), row_idx)
            self._openpyxl_write_row(xf, cells, row_idx)
            return
        r = str(row_idx)
        parts = [f'<row r="{r}">']
        converted: list[Any] | None = None
        for index, ((letter, cell), value) in enumerate(zip(self._cells, values, strict=True)):
            if value is None or value == "":
                continue
            text = cell(value, letter + r)
            if text is not None:
                parts.append(text)
                continue
            # A value only openpyxl knows how to write: its own cell, in order.
            raw("".join(parts))
            parts.clear()
            converted = self._cell_values(values) if converted is None else converted
            self._openpyxl_cell(xf, converted[index], index + 1, row_idx)
        parts.append("</row>")
        raw("".join(parts))

    def _openpyxl_cell(self, xf: Any, value: Any, column: int, row_idx: int) -> None:
        if value is None:
            return
        cell = value if isinstance(value, Cell) else WriteOnlyCell(self._ws, value=value)
        cell.row, cell.column = row_idx, column
        write_cell(xf, self._ws, cell, cell.has_style)

    def _text(self, value: Any, ref: str) -> str:
        # Never cut: XlsxTableWriter.write has refused a text longer than a cell holds.
        text = ooxml_text(value if value.__class__ is str else str(value))
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}" t="inlineStr"><is><t{space}>{xml_escape(text)}</t></is></c>'

    def _number(self, value: Any, ref: str) -> str | None:
        if value.__class__ is int or value.__class__ is float:
            return f'<c r="{ref}" t="n"><v>{safe_string(value)}</v></c>'
        return None

    def _date(self, value: Any, ref: str) -> str | None:
        day = value.date() if isinstance(value, datetime) else value
        if day.__class__ is not date:
            return None
        serial = day.toordinal() - self._epoch_ordinal
        if self._windows_epoch and serial <= 60:  # Excel's 1900 leap-year quirk
            return None
        return f'<c r="{ref}" s="{self._date_style}" t="n"><v>{serial}</v></c>'

    def _time(self, value: Any, ref: str) -> str | None:
        if value.__class__ is not time or value.tzinfo is not None:
            return None
        serial = safe_string(to_excel(value))
        return f'<c r="{ref}" s="{self._time_style}" t="n"><v>{serial}</v></c>'


def _iso_date(value: Any) -> str:
    return str(value.isoformat())


def _hh_mm(value: Any) -> str:
    if value.__class__ is time:  # isoformat is three times as fast as strftime
        return str(value.isoformat(timespec="minutes"))[:5]
    return str(value.strftime("%H:%M"))


# Per kind: the conversion, and the one class that csv.writer already writes right.
_CSV_CONVERTERS: dict[ColumnKind, tuple[Callable[[Any], str], type | None]] = {
    "date": (_iso_date, date),
    "time": (_hh_mm, None),
}


def _getter(indexes: tuple[int, ...]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values at ``indexes`` as a tuple, in one C call (itemgetter) per row."""
    if not indexes:
        return lambda values: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda values: (values[only],)
    return operator.itemgetter(*indexes)


def open_table(
    fmt: Format, out: BinaryIO, columns: Sequence[Column], title: str, *, delimiter: str = ","
) -> TableWriter:
    """A writer for ``fmt`` that streams rows into ``out`` (header written already).

    ``delimiter`` applies to CSV only (one of :data:`CSV_DELIMITERS`).
    """
    if fmt == "csv":
        return CsvTableWriter(out, columns, delimiter=delimiter)
    return XlsxTableWriter(out, columns, title)
