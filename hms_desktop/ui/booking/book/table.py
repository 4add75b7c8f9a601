"""The book's table: spans for visits, a line at the current time, keys and dragging.

Dragging is done by hand (press on a visit, move, release on a cell) rather than
with ``QDrag``: a refused move then simply leaves the block where it was, and the
same real mouse events work on every platform, offscreen tests included.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from hms_desktop.services.scheduling.book import Block
from hms_desktop.ui.booking.book.model import BLOCK_ROLE, BookModel

Index = QModelIndex | QPersistentModelIndex
NOW_LINE = QColor("#d62728")
#: The least width of a doctor's column in a day: a visit's name and type side by side.
DAY_COLUMN = 180
#: The least width of a date's column in a week (which shows patients' names alone) when
#: its heading needs less: seven of them fit a 1024x768 screen's window.
WEEK_COLUMN = 100
#: The least width of a week's date without hours or visits (its heading may ask for more).
CLOSED_DAY_COLUMN = 56
#: The least a column of a day can be dragged to.
NARROWEST_COLUMN = 120


def initialled(name: str) -> str:
    """ "P. Wiśniewski" for "Paweł Wiśniewski": the first names to their initials."""
    words = name.split()
    if len(words) < 2:
        return name
    return " ".join([*(f"{w[0]}." for w in words[:-1]), words[-1]])


class BookDelegate(QStyledItemDelegate):
    """A visit shows its name and visit type whenever they fit, then its reason; parts
    that do not fit are dropped whole (the reason first, then the type), never cut to
    "…" (the tooltip keeps all of it). A name too long on its own (a narrow day of a
    week) shows its first names as initials, "P. Wiśniewski", before the style cuts it.

    "Fits" is measured as the style lays the text out: its text rectangle less the text
    margins, wrapped at words into as many lines as the cell's height holds. A part
    wrapped onto a line below the cell would otherwise show as "Name · …".
    """

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        # The cell keeps its own colour (free, visit, closed); the table frames the cursor.
        option.state &= ~(QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus)
        text = option.text
        if not text:
            return
        parts = text.split(" · ")
        for n in range(len(parts), 1, -1):
            shorter = " · ".join(parts[:n])
            if self._fits(option, shorter):
                option.text = shorter
                return
        name = parts[0]
        if not self._fits(option, name):
            # Kept on one line: a surname still too long is cut at its end ("Ε. Παπαδόπου…"),
            # not wrapped below the cell to leave "Ε. …".
            name = initialled(name).replace(" ", "\N{NO-BREAK SPACE}")
        option.text = name

    def _fits(self, option: QStyleOptionViewItem, text: str) -> bool:
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        probe = QStyleOptionViewItem(option)
        probe.text = text
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, probe, widget)
        room = area.width() - 2 * margin - 2  # a little slack for rounding
        metrics = option.fontMetrics
        if room <= 0:
            return False
        lines = max(1, area.height() // max(1, metrics.lineSpacing()))
        needed = metrics.boundingRect(
            QRect(0, 0, room, 100_000), int(Qt.TextFlag.TextWordWrap), text
        )
        # A line's box can be a pixel taller than the line spacing: count lines, rounded.
        spacing = max(1, metrics.lineSpacing())
        needed_lines = max(1, (needed.height() + spacing // 2) // spacing)
        return needed.width() <= room and needed_lines <= lines


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
        self.horizontalHeader().setMinimumSectionSize(NARROWEST_COLUMN)
        #: The current time (clinic zone, naive) while the shown day is today, else None.
        self.now: datetime | None = None
        self._press: tuple[QPoint, QModelIndex, Block] | None = None
        #: The cell a visit is being dragged over (row, column), or None.
        self.drag_target: tuple[int, int] | None = None
        #: Whether the cell dragged over is free (or the visit's own): a blue dashed
        #: outline; a taken or closed cell gets a red one and the forbidden cursor.
        self.drop_allowed = True

    def fit_columns(self) -> None:
        """Columns share the width when they fit at their least; else they keep it and
        the book scrolls sideways (a visit's text is never squeezed to nothing).

        A day's doctor needs :data:`DAY_COLUMN`. A week's date needs its heading whole,
        and no less than :data:`WEEK_COLUMN`: "Mon, 15 Jun", or "Mon 15" where seven of
        those do not fit (the range's title names the month). A date without hours or
        visits (the weekend) takes only its heading's width, so the working days' names
        get the rest instead of an empty Saturday and Sunday taking two sevenths.
        """
        columns = self._model.columnCount()
        header = self.horizontalHeader()
        room = self.viewport().width()
        closed: dict[int, int] = {}
        if self._model.week:
            shut = [c for c in range(columns) if self._model.is_closed(c)]
            if len(shut) == columns:
                shut = []  # nothing open: the days share the width alike
            for brief in (False, True):
                self._model.set_brief_headers(brief)
                heads = [header.sectionSizeFromContents(c).width() for c in range(columns)]
                closed = {c: max(heads[c], CLOSED_DAY_COLUMN) for c in shut}
                least = max([WEEK_COLUMN] + [h for c, h in enumerate(heads) if c not in closed])
                if (columns - len(closed)) * least + sum(closed.values()) <= room:
                    break
        else:
            least = DAY_COLUMN
        header.setMinimumSectionSize(min([least, NARROWEST_COLUMN, *closed.values()]))
        open_columns = [c for c in range(columns) if c not in closed]
        fits = bool(columns) and len(open_columns) * least + sum(closed.values()) <= room
        if fits and not closed:
            if header.sectionResizeMode(0) != QHeaderView.ResizeMode.Stretch:
                header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            return
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(least)
        # The open days share what the closed ones leave (the first few a pixel more).
        share, extra = least, 0
        if fits and open_columns:
            share, extra = divmod(room - sum(closed.values()), len(open_columns))
        for column in range(columns):
            if column in closed:
                header.resizeSection(column, closed[column])
        for n, column in enumerate(open_columns):
            header.resizeSection(column, share + (1 if n < extra else 0))

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
            self.open_current_menu()
            event.accept()
            return
        if index.isValid() and event.key() == Qt.Key.Key_Delete:
            self.delete_requested.emit(index.row(), index.column())
            event.accept()
            return
        super().keyPressEvent(event)

    def open_current_menu(self) -> None:
        """The menu key and Shift+F10 open the menu of the cell under the cursor, placed
        on that cell (the signal's point is in the viewport's coordinates)."""
        index = self.currentIndex()
        if index.isValid():
            self.customContextMenuRequested.emit(self.visualRect(index).center())

    def event(self, event: QEvent) -> bool:
        # On X11 the menu key arrives first as a keyboard context-menu event whose point
        # is in the view's coordinates (header included): it would name the cell a row
        # below. A keyboard request always means the cell under the cursor.
        if (
            event.type() == QEvent.Type.ContextMenu
            and isinstance(event, QContextMenuEvent)
            and event.reason() == QContextMenuEvent.Reason.Keyboard
        ):
            self.open_current_menu()
            event.accept()
            return True
        return super().event(event)

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
            self.drop_allowed = index.isValid() and self._can_drop(index.row(), index.column())
            self.viewport().setCursor(
                Qt.CursorShape.ClosedHandCursor
                if self.drop_allowed
                else Qt.CursorShape.ForbiddenCursor
            )
            self.viewport().update()
        event.accept()

    def _can_drop(self, row: int, column: int) -> bool:
        """Free time, or the dragged visit's own cells (the service still decides)."""
        cell = self._model.cell(row, column)
        if cell.kind == "free":
            return True
        dragged = self._press[2] if self._press is not None else None
        return (
            dragged is not None
            and cell.block is not None
            and (cell.block.appointment_id == dragged.appointment_id)
        )

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
            self._paint_cursor(painter)
            if self.drag_target is not None:
                rect = self.visualRect(self._model.index(*self.drag_target))
                if self.drop_allowed:
                    painter.setPen(QPen(QColor("#1f77b4"), 2, Qt.PenStyle.DashLine))
                else:
                    painter.setPen(QPen(NOW_LINE, 3))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
            y = self.now_line_y()
            if y is not None:
                painter.setPen(QPen(NOW_LINE, 2))
                painter.drawLine(0, y, self.viewport().width(), y)
        finally:
            painter.end()

    def _paint_cursor(self, painter: QPainter) -> None:
        """The current cell: a 2px frame in the palette's highlight, lined inside with the
        base colour so it reads on a blue visit as on white free time."""
        index = self.currentIndex()
        if not index.isValid():
            return
        rect = self.visualRect(index)
        # The application's palette: the style sheet gives a table a pale selection colour.
        palette = QApplication.palette()
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
        painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 1))
        painter.drawRect(rect.adjusted(2, 2, -3, -3))

    def now_line_y(self) -> int | None:
        """Where the current-time line is drawn (viewport y), or None (for tests)."""
        if self.now is None or not self._model.rowCount():
            return None
        offset = self._model.now_offset(self.now)
        if offset is None:
            return None
        row = min(int(offset), self._model.rowCount() - 1)
        return self.rowViewportPosition(row) + int((offset - row) * self.rowHeight(row))
