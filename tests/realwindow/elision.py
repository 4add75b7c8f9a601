"""What a person cannot read in a real window: cut-off key columns and labels, oversized windows.

Text widths come from the widgets' own fonts (``QFontMetrics``) and, for table cells,
from the view's delegate and style (which add the style sheet's padding), so the
verdict is the one a person sees on this display with its real fonts.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QGraphicsView,
    QLabel,
    QListView,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

#: Columns a person must be able to read whole: who (year of birth and phone number tell
#: namesakes apart), when, which, what state.
KEY_WORDS = frozenset(
    {"id", "#", "date", "day", "time", "when", "start", "patient", "doctor", "status", "name"}
    | {"born", "phone"}
)
#: QGraphicsTextItem::Type (PySide does not export it): chart titles and axis labels.
TEXT_ITEM = 8
#: Rows checked per table (the first screens' worth and more; the views are lazy).
MAX_ROWS = 200


def is_key_column(title: str) -> bool:
    """True for a column whose header names a key: ID, date, time, patient, doctor, status,
    born, phone."""
    return any(word in KEY_WORDS for word in re.findall(r"[a-z#]+", title.lower()))


def _where(widget: QWidget) -> str:
    names = []
    while widget is not None:
        names.append(widget.objectName() or type(widget).__name__)
        widget = widget.parentWidget()  # type: ignore[assignment]
    return "/".join(reversed(names[:4]))


def _cell_width(view: QAbstractItemView, index: QModelIndex) -> int:
    """The width the view's delegate asks for ``index`` (text, padding, icon)."""
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.widget = view  # the style sheet's item padding counts only with the widget
    option.font = view.font()
    return view.itemDelegateForIndex(index).sizeHint(option, index).width()


def _table_problems(view: QTableView) -> list[str]:
    model = view.model()
    header = view.horizontalHeader()
    found = []
    for column in range(model.columnCount()):
        if view.isColumnHidden(column):
            continue
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        if not is_key_column(title):
            continue
        width = header.sectionSize(column)
        room = view.viewport().width()
        if (
            view.horizontalScrollBar().value() == 0
            and header.sectionPosition(column) + width > room
        ):
            found.append(
                f"{_where(view)}: column {title!r} ends at "
                f"{header.sectionPosition(column) + width}px, past the {room}px the table shows"
            )
        if header.sectionSizeFromContents(column).width() > width:
            found.append(f"{_where(view)}: header {title!r} is cut off at {width}px")
        for row in range(min(model.rowCount(), MAX_ROWS)):
            index = model.index(row, column)
            text = index.data(Qt.ItemDataRole.DisplayRole)
            if text in (None, ""):
                continue
            need = _cell_width(view, index)
            if need > width:
                found.append(
                    f"{_where(view)}: column {title!r} is {width}px, {str(text)!r} needs {need}px"
                )
                break  # one example per column is enough to act on
    return found


def columns_cut_off(view: QTableView) -> list[str]:
    """Every column of ``view`` (e.g. a week's seven days) within the width it shows, without
    scrolling sideways, each heading whole."""
    model, header = view.model(), view.horizontalHeader()
    room = view.viewport().width()
    found = []
    if view.horizontalScrollBar().maximum() > 0:
        found.append(f"{_where(view)}: scrolls sideways ({room}px shown)")
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = header.sectionSize(column)
        if header.sectionPosition(column) + width > room:
            found.append(
                f"{_where(view)}: column {title!r} ends at "
                f"{header.sectionPosition(column) + width}px, past the {room}px the table shows"
            )
        if header.sectionSizeFromContents(column).width() > width:
            found.append(f"{_where(view)}: header {title!r} is cut off at {width}px")
    return found


def _list_problems(view: QListView) -> list[str]:
    model = view.model()
    width = view.viewport().width()
    for row in range(min(model.rowCount(), MAX_ROWS)):
        index = model.index(row, view.modelColumn())
        need = _cell_width(view, index)
        if need > width:
            text = index.data(Qt.ItemDataRole.DisplayRole)
            return [f"{_where(view)}: list row {text!r} needs {need}px of {width}px"]
    return []


def _label_problems(label: QLabel) -> list[str]:
    text = label.text()
    if not text or (label.pixmap() is not None and not label.pixmap().isNull()):
        return []
    if label.wordWrap():  # every line it wraps to must fit its height
        need = label.heightForWidth(label.width())
        if need > label.height():
            return [
                f"{_where(label)}: wrapped label {text!r} needs {need}px, has {label.height()}px"
            ]
        return []
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and re.search(r"<[a-zA-Z/][^>]*>", text)
    )
    if rich:
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        need = int(doc.idealWidth() + 0.999)
    else:
        shown = text  # a label shows "&" as such unless it has a buddy (a mnemonic)
        if label.buddy() is not None:
            shown = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
        metrics = label.fontMetrics()
        need = max(metrics.horizontalAdvance(line) for line in shown.splitlines() or [""])
    room = label.contentsRect().width() - 2 * label.margin() - max(label.indent(), 0)
    if need > room:
        return [f"{_where(label)}: label {text!r} needs {need}px, has {room}px"]
    return []


def _button_problems(button: QAbstractButton) -> list[str]:
    if not button.text():
        return []
    need = button.sizeHint().width()
    if need > button.width():
        return [
            f"{_where(button)}: button {button.text()!r} needs {need}px, has {button.width()}px"
        ]
    return []


def _chart_problems(view: QGraphicsView) -> list[str]:
    """Texts QtCharts cut to fit (a title, category labels): it draws them ending in "…"."""
    found = []
    for item in view.scene().items():
        # QtCharts' own text items reach Python as plain QGraphicsItems: find them by type.
        if item.type() == TEXT_ITEM:
            text = item.toGraphicsObject().toPlainText()  # a QObject: PySide finds its class
        else:
            continue
        if text.rstrip().endswith(("…", "...")) and item.isVisible():
            found.append(f"{_where(view)}: chart text cut to {text!r}")
    return found


def unreadable(window: QWidget) -> list[str]:
    """Every key column cell, header, label and button in ``window`` that is cut off."""
    for _ in range(3):  # lay out what just changed (a layout request can post another)
        QApplication.processEvents()
    found: list[str] = []
    for view in window.findChildren(QTableView):
        if view.isVisible() and view.model() is not None:
            found += _table_problems(view)
    for lst in window.findChildren(QListView):
        if lst.isVisible() and lst.model() is not None:
            found += _list_problems(lst)
    for label in window.findChildren(QLabel):
        if label.isVisible():
            found += _label_problems(label)
    for button in window.findChildren(QAbstractButton):
        if button.isVisible():
            found += _button_problems(button)
    for chart in window.findChildren(QGraphicsView):
        if chart.isVisible() and chart.metaObject().className() == "QChartView":
            found += _chart_problems(chart)
    return found


def off_screen(window: QWidget) -> list[str]:
    """The window (with its frame) where it does not fit the screen's available area."""
    screen = window.screen() or QApplication.primaryScreen()
    room = screen.availableGeometry()
    frame = window.frameGeometry()
    if frame.width() > room.width() or frame.height() > room.height():
        return [
            f"{window.windowTitle()!r} is {frame.width()}x{frame.height()} with its frame; "
            f"the screen has {room.width()}x{room.height()}"
        ]
    if not room.contains(frame):
        return [f"{window.windowTitle()!r} at {frame.getRect()} reaches off {room.getRect()}"]
    return []
