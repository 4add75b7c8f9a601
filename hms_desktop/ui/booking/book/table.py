"""The book's table: spans for visits, a line at the current time, keys and dragging.

Dragging is done by hand (press on a visit, move, release on a cell) rather than
with ``QDrag``: a refused move then simply leaves the block where it was, and the
same real mouse events work on every platform, offscreen tests included.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from hms_desktop.services.scheduling.book import Block
from hms_desktop.ui.booking.book.model import BLOCK_ROLE, BookModel

Index = QModelIndex | QPersistentModelIndex
NOW_LINE = QColor("#d62728")
#: The least width of a doctor's column (a day) and of a date's column (a week).
DAY_COLUMN, WEEK_COLUMN = 180, 160


class BookDelegate(QStyledItemDelegate):
    """A visit's text drops its reason, then its visit type, rather than being cut off
    mid-word (the tooltip keeps all of it)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        text = option.text
        if not text:
            return
        room = option.rect.width() - 12
        metrics = option.fontMetrics
        parts = text.split(" · ")
        for n in range(len(parts), 0, -1):
            shorter = " · ".join(parts[:n])
            if metrics.horizontalAdvance(shorter) <= room:
                option.text = shorter
                return
        option.text = parts[0]


class BookTable(QTableView):
    """Emits what the person asked for; :class:`~.view.BookView` acts on it."""

    #: Enter on a cell (row, column).
    cell_activated = Signal(int, int)
    #: Delete on a cell.
    delete_requested = Signal(int, int)
    #: A visit dropped on another cell: the block, the cell it came from, the target cell.
    block_dropped = Signal(object, int, int, int, int)

    def __init__(self, model: BookModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._model = model
        self.setItemDelegate(BookDelegate(self))
        self.setObjectName("appointmentBook")
        self.setAccessibleName("Appointment book")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.setTabKeyNavigation(False)  # arrows move in the book; Tab leaves it
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.verticalHeader().setDefaultSectionSize(28)
        self.horizontalHeader().setDefaultSectionSize(DAY_COLUMN)
        self.horizontalHeader().setMinimumSectionSize(120)
        #: The current time (clinic zone, naive) while the shown day is today, else None.
        self.now: datetime | None = None
        self._press: tuple[QPoint, QModelIndex, Block] | None = None
        #: The cell a visit is being dragged over (row, column), or None.
        self.drag_target: tuple[int, int] | None = None

    def fit_columns(self) -> None:
        """Columns share the width when they fit at their least; else they keep it and
        the book scrolls sideways (a visit's text is never squeezed to nothing)."""
        columns = self._model.columnCount()
        least = WEEK_COLUMN if self._model.week else DAY_COLUMN
        header = self.horizontalHeader()
        fits = columns and columns * least <= self.viewport().width()
        mode = QHeaderView.ResizeMode.Stretch if fits else QHeaderView.ResizeMode.Interactive
        if header.sectionResizeMode(0) != mode or not fits:
            header.setSectionResizeMode(mode)
            if not fits:
                header.setDefaultSectionSize(least)
                for column in range(columns):
                    header.resizeSection(column, least)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def apply_spans(self) -> None:
        self.clearSpans()
        for row, column, rows in self._model.spans():
            self.setSpan(row, column, rows, 1)

    # --- keys ---------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if index.isValid() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.cell_activated.emit(index.row(), index.column())
            event.accept()
            return
        menu_key = event.key() == Qt.Key.Key_Menu or (
            event.key() == Qt.Key.Key_F10 and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if index.isValid() and menu_key:
            # The menu key and Shift+F10 open the cell's menu where the cursor is.
            self.customContextMenuRequested.emit(self.visualRect(index).center())
            event.accept()
            return
        if index.isValid() and event.key() == Qt.Key.Key_Delete:
            self.delete_requested.emit(index.row(), index.column())
            event.accept()
            return
        super().keyPressEvent(event)

    # --- dragging a visit ---------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        index = self.indexAt(event.position().toPoint())
        block = index.data(BLOCK_ROLE) if index.isValid() else None
        if event.button() == Qt.MouseButton.LeftButton and isinstance(block, Block):
            self._press = (event.position().toPoint(), QModelIndex(index), block)
        else:
            self._press = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            super().mouseMoveEvent(event)
            return
        start, _, _ = self._press
        pos = event.position().toPoint()
        if (pos - start).manhattanLength() >= QApplication.startDragDistance():
            index = self.indexAt(pos)
            self.drag_target = (index.row(), index.column()) if index.isValid() else None
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            self.viewport().update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, target = self._press, self.drag_target
        self._press, self.drag_target = None, None
        self.viewport().unsetCursor()
        if press is None or target is None:
            super().mouseReleaseEvent(event)
            return
        _, source, block = press
        index = self.indexAt(event.position().toPoint())
        self.viewport().update()
        if index.isValid() and (index.row(), index.column()) != (source.row(), source.column()):
            self.block_dropped.emit(
                block, source.row(), source.column(), index.row(), index.column()
            )
        event.accept()

    # --- painting -----------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self.viewport())
        try:
            if self.drag_target is not None:
                rect = self.visualRect(self._model.index(*self.drag_target))
                painter.setPen(QPen(QColor("#1f77b4"), 2, Qt.PenStyle.DashLine))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
            y = self.now_line_y()
            if y is not None:
                painter.setPen(QPen(NOW_LINE, 2))
                painter.drawLine(0, y, self.viewport().width(), y)
        finally:
            painter.end()

    def now_line_y(self) -> int | None:
        """Where the current-time line is drawn (viewport y), or None (for tests)."""
        if self.now is None or not self._model.rowCount():
            return None
        offset = self._model.now_offset(self.now)
        if offset is None:
            return None
        row = min(int(offset), self._model.rowCount() - 1)
        return self.rowViewportPosition(row) + int((offset - row) * self.rowHeight(row))
