"""The appointment book as a table: rows on the clinic grid, a column per doctor (or
per day of one doctor's week). A visit starts in the row of its start time and spans
the rows of its length; the view applies the spans (:meth:`BookModel.spans`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from hms_desktop.services.scheduling.book import Block, BookColumn, DayBook
from hms_desktop.services.views import FLOW_LABELS, VISIT_LABELS
from hms_desktop.ui.common.dates import week_day_brief_text, week_day_text

Index = QModelIndex | QPersistentModelIndex

#: What a cell holds: "visit" (its first row or a following one), "free" or "off".
KIND_ROLE = Qt.ItemDataRole.UserRole + 1
#: The :class:`Block` of a visit cell (None elsewhere).
BLOCK_ROLE = Qt.ItemDataRole.UserRole + 2
#: The free slot's start under a free cell (None elsewhere).
SLOT_ROLE = Qt.ItemDataRole.UserRole + 3

#: A status colour per visit status; free and unavailable time differ clearly.
STATUS_COLOURS = {
    "booked": QColor("#cfe3ff"),
    # The patient is here: waiting (amber), with the doctor (violet).
    "arrived": QColor("#fde9b0"),
    "in_consultation": QColor("#e2d6fb"),
    "completed": QColor("#d4efd6"),
    "no_show": QColor("#f7d0d0"),
}
FREE_COLOUR = QColor("#ffffff")
OFF_COLOUR = QColor("#d9d9d9")
# Made once: the view asks for every visible cell's brush on every paint.
_BRUSHES = {status: QBrush(colour) for status, colour in STATUS_COLOURS.items()}
_FREE_BRUSH, _OFF_BRUSH = QBrush(FREE_COLOUR), QBrush(OFF_COLOUR)
# Plain ints: comparing Qt's enum members costs more than the rest of data() together.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole.value)
_KIND, _BLOCK, _SLOT = int(KIND_ROLE), int(BLOCK_ROLE), int(SLOT_ROLE)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


@dataclass(frozen=True)
class BookCell:
    kind: str
    block: Block | None = None
    first: bool = False
    slot: time | None = None
    #: What the cell shows (the first row of a visit only).
    text: str | None = None
    brush: QBrush = field(default_factory=lambda: _OFF_BRUSH)


_OFF = BookCell("off")


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class BookModel(QAbstractTableModel):
    """Read-only; replaced whole by :meth:`set_books` (a day, or a doctor's week)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._columns: list[tuple[date, BookColumn]] = []
        self._start = 8 * 60
        self._step = 30
        self._rows = 0
        self._cells: list[list[BookCell]] = []
        self.week = False
        #: A week's dates headed "Mon 15" instead of "Mon, 15 Jun" (see
        #: :meth:`~.table.BookTable.fit_columns`).
        self.brief_headers = False

    # --- loading ------------------------------------------------------------------------
    def set_books(self, books: list[DayBook], *, week: bool = False) -> None:
        """Show the columns of ``books``: one day's doctors, or one doctor's days."""
        self.beginResetModel()
        self.week = week
        self._columns = [(b.day, c) for b in books for c in b.columns]
        if books:
            self._step = books[0].step_minutes
            self._start = min(_minutes(b.grid_start) for b in books)
            end = max(_minutes(b.grid_end) if b.grid_end != time(0) else 0 for b in books)
            self._rows = max(0, -(-(end - self._start) // self._step))
        else:
            self._rows = 0
        self._cells = [self._column_cells(c, brief=week) for _, c in self._columns]
        self.endResetModel()

    def set_brief_headers(self, brief: bool) -> None:
        """Head a week's columns "Mon 15" (``brief``) or "Mon, 15 Jun"."""
        if brief != self.brief_headers:
            self.brief_headers = brief
            if self.week and self._columns:
                self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)

    def _row_of(self, t: time) -> int:
        return (_minutes(t) - self._start) // self._step

    def _column_cells(self, column: BookColumn, *, brief: bool = False) -> list[BookCell]:
        """``brief``: the patient's name alone (a week's seven columns are narrow; the
        tooltip and the accessible text say the rest)."""
        cells = [_OFF] * self._rows
        last = self._rows - 1
        for free in column.free:
            # The rows a free slot covers, and the row it starts in (a finer grid).
            first_row = max(0, self._row_of(free.start))
            end = max(_minutes(free.end), _minutes(free.start) + 1)
            last_row = min(last, (end - 1 - self._start) // self._step)
            cell = BookCell("free", slot=free.start, brush=_FREE_BRUSH)
            for r in range(first_row, last_row + 1):
                if cells[r] is _OFF:
                    cells[r] = cell
        for block in column.visits:
            first, end_row = self._row_of(block.start), self._row_of_end(block)
            brush = _BRUSHES.get(block.status, _BRUSHES["booked"])
            parts = [block.patient, VISIT_LABELS.get(block.visit_type, block.visit_type)]
            if brief:
                parts = parts[:1]
            elif block.reason:
                parts.append(block.reason)
            head = BookCell("visit", block, True, text=" · ".join(parts), brush=brush)
            rest = BookCell("visit", block, False, brush=brush)
            for r in range(max(0, first), min(self._rows, end_row + 1)):
                cells[r] = head if r == first else rest
        return cells

    def _row_of_end(self, block: Block) -> int:
        end = max(_minutes(block.end), _minutes(block.start) + 1)
        return (end - 1 - self._start) // self._step

    # --- geometry -----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def row_time(self, row: int) -> time:
        minutes = self._start + row * self._step
        return time(minutes // 60 % 24, minutes % 60)

    def row_for(self, t: time) -> int:
        """The row that holds time ``t`` (clamped to the grid)."""
        return max(0, min(self._rows - 1, self._row_of(t)))

    def column_day(self, column: int) -> date:
        return self._columns[column][0]

    def column_doctor(self, column: int) -> BookColumn:
        return self._columns[column][1]

    def is_closed(self, column: int) -> bool:
        """True for a column with no hours and no visits (a week's Sunday): nothing to read."""
        book_column = self._columns[column][1]
        return not (book_column.hours or book_column.visits or book_column.free)

    def column_for(self, doctor_id: int, day: date) -> int:
        """The column of a doctor on a date, or -1."""
        for i, (d, c) in enumerate(self._columns):
            if c.doctor_id == doctor_id and d == day:
                return i
        return -1

    def cell(self, row: int, column: int) -> BookCell:
        return self._cells[column][row]

    def spans(self) -> list[tuple[int, int, int]]:
        """(row, column, rows) of every visit longer than one row."""
        out = []
        for c, cells in enumerate(self._cells):
            for r, cell in enumerate(cells):
                if cell.first and cell.block is not None:
                    n = self._row_of_end(cell.block) - r + 1
                    if n > 1:
                        out.append((r, c, min(n, self._rows - r)))
        return out

    def now_offset(self, now: datetime) -> float | None:
        """Where ``now`` falls, in rows from the top (None when off the grid)."""
        minutes = now.hour * 60 + now.minute + now.second / 60
        offset = (minutes - self._start) / self._step
        return offset if 0 <= offset <= self._rows else None

    def place_of(self, block: Block) -> tuple[date, BookColumn] | None:
        """The day and doctor's column that show ``block`` (None: not shown any more)."""
        for day, column in self._columns:
            if any(v.appointment_id == block.appointment_id for v in column.visits):
                return day, column
        return None

    def blocks(self) -> list[tuple[date, int, Block]]:
        """Every visit shown: (date, doctor id, block)."""
        return [(d, c.doctor_id, b) for d, c in self._columns for b in c.visits]

    # --- data ---------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() >= len(self._cells):
            return None
        cell = self._cells[index.column()][index.row()]
        role = int(role)
        if role == _BACKGROUND:
            return cell.brush
        if role == _DISPLAY:
            return cell.text
        if role == _KIND:
            return cell.kind
        if role == _BLOCK:
            return cell.block
        if role == _SLOT:
            return cell.slot
        block = cell.block
        if role == _TOOLTIP:
            if block is not None:
                return (
                    f"{block.start:%H:%M}-{block.end:%H:%M} {block.patient}\n"
                    f"{VISIT_LABELS.get(block.visit_type, block.visit_type)} · "
                    f"{FLOW_LABELS.get(block.status, block.status)}"
                    + (f"\n{block.reason}" if block.reason else "")
                )
            return "Free" if cell.kind == "free" else "Not working"
        if role == _ACCESSIBLE:
            when = f"{self.row_time(index.row()):%H:%M}"
            if block is not None:
                return f"{when} {block.patient}, {FLOW_LABELS.get(block.status, block.status)}"
            return f"{when} {'free' if cell.kind == 'free' else 'not working'}"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:
            return f"{self.row_time(section):%H:%M}" if 0 <= section < self._rows else None
        if not 0 <= section < len(self._columns):
            return None
        day, column = self._columns[section]
        if not self.week:
            return column.doctor
        # A day without hours is narrow (see BookTable.fit_columns): "Sat 20" says enough.
        brief = self.brief_headers or self.is_closed(section)
        return week_day_brief_text(day) if brief else week_day_text(day)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags
