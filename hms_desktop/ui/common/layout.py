"""Arranging a page: titles, muted text, tables with an empty state, actions as buttons, page margins."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.ui.common.table_models import SORT_ROLE


def make_table(parent: QWidget | None = None, *, stretch_last: bool = True) -> QTableView:
    """A read-only, row-selecting table view with the application's look."""
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(28)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(stretch_last)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view


#: Words in a column title that make it a key column: who (with the year of birth and the
#: phone number that tell two of one name apart), when, which one, what state.
KEY_COLUMN_WORDS = frozenset(
    {"id", "date", "day", "time", "when", "patient", "doctor", "status", "name", "born", "phone"}
)
#: Rows measured when a key column sizes to its text: the loaded pages, never a million.
MEASURED_ROWS = 400


def is_key_column(title: str) -> bool:
    """True for a column a person must read whole (ID, date, time, patient, doctor, status,
    born, phone)."""
    return any(word in KEY_COLUMN_WORDS for word in re.findall(r"[a-z]+", title.lower()))


def fit_key_columns(view: QTableView) -> set[int]:
    """Size ``view``'s key columns to their widest text and header; return their numbers.

    Real fonts differ from PC to PC (and from the offscreen tests'): a fixed width that
    fits here cuts "2026-12-07" to "2026-12-…" there. Stretched columns keep stretching;
    the other columns keep their widths and take what is left.
    """
    model, header = view.model(), view.horizontalHeader()
    header.setResizeContentsPrecision(MEASURED_ROWS)
    keys = set()
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        stretched = header.sectionResizeMode(column) == QHeaderView.ResizeMode.Stretch
        if is_key_column(title) and not stretched:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
            keys.add(column)
    return keys


def show_after(view: QTableView, column: int, after: int) -> None:
    """Show ``column`` right after ``after`` (on screen only: the model keeps its order)."""
    header = view.horizontalHeader()
    target = header.visualIndex(after) + 1
    if header.visualIndex(column) < target:
        target -= 1  # moving right: the sections in between shift left
    header.moveSection(header.visualIndex(column), target)


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("pageTitle")
    return label


MUTED_COLOR = QColor("#5f6368")


#: Margins and spacing used by every page of the two tabs, so they line up.
PAGE_MARGIN = 12


SPACING = 8


def title_label(
    text: str, parent: QWidget | None = None, *, size_delta: int = 4, page: bool = False
) -> QLabel:
    """A bold section title, or the page's title (styled like the other tabs')."""
    label = QLabel(text, parent)
    label.setObjectName("pageTitle" if page else "sectionTitle")
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSize(font.pointSize() + size_delta)
    label.setFont(font)
    return label


def muted_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """Grey explanatory text (hints, subtitles)."""
    label = QLabel(text, parent)
    label.setObjectName("muted")
    label.setWordWrap(True)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, MUTED_COLOR)
    label.setPalette(palette)
    return label


class EmptyStateTable(QStackedWidget):
    """A table view that shows a sentence ("No appointments today") when it has no rows.

    With ``sortable`` a click on a header sorts (numbers and dates as such, via
    ``SORT_ROLE``) through a proxy; the row methods here always speak in rows of
    the source model, so callers never deal with the proxy.
    """

    activated = Signal(QModelIndex)

    def __init__(
        self,
        model: QAbstractItemModel,
        empty_text: str,
        parent: QWidget | None = None,
        *,
        sortable: bool = False,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self.proxy: QSortFilterProxyModel | None = None
        self.view = QTableView(self)
        if sortable:
            self.proxy = QSortFilterProxyModel(self)
            self.proxy.setSourceModel(model)
            self.proxy.setSortRole(SORT_ROLE)
            self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.view.setModel(self.proxy)
            # No column sorted at first: rows stay in the service's order until a click.
            self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            self.view.setSortingEnabled(True)
        else:
            self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        # Tab leaves the table (arrows move within it), so forms stay keyboard-navigable.
        self.view.setTabKeyNavigation(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.activated.connect(self.activated)
        self._key_columns = fit_key_columns(self.view)
        self.empty_label = muted_label(empty_text, self)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.empty_label.font())
        font.setPointSize(font.pointSize() + 1)
        self.empty_label.setFont(font)
        self.addWidget(self.view)
        self.addWidget(self.empty_label)
        for sig in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            sig.connect(self._update_state)
        self._update_state()

    def set_empty_text(self, text: str) -> None:
        """The sentence shown while the table is empty."""
        self.empty_label.setText(text)

    def set_column_widths(self, widths: Mapping[int, int]) -> None:
        """Start the given columns at these widths (the user may resize them); key columns
        (:func:`fit_key_columns`) keep sizing to their text."""
        header = self.view.horizontalHeader()
        for column, width in widths.items():
            if column in self._key_columns:
                continue
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(column, width)

    def grow_to_contents(self) -> None:
        """Stay at least as wide as the widest row of every column (a narrow list that sits
        beside others, where a layout's share would cut "Dr. Jürgen Mül…")."""

        def update() -> None:
            view, header = self.view, self.view.horizontalHeader()
            need = sum(
                max(view.sizeHintForColumn(c), header.sectionSizeHint(c))
                for c in range(self._model.columnCount())
                if not view.isColumnHidden(c)
            )
            scroll_bar = view.verticalScrollBar().sizeHint().width()
            self.setMinimumWidth(need + 2 * view.frameWidth() + scroll_bar)

        for sig in (self._model.modelReset, self._model.rowsInserted, self._model.dataChanged):
            sig.connect(update)
        update()

    def stretch_column(self, stretched: int) -> None:
        """Fit a narrow list: one column takes the free width, the others their content."""
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        for column in range(self._model.columnCount()):
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch
                if column == stretched
                else QHeaderView.ResizeMode.ResizeToContents,
            )

    def _update_state(self) -> None:
        # An empty table is replaced by its sentence; Tab then skips the hidden view.
        empty = self._model.rowCount() == 0
        self.setCurrentWidget(self.empty_label if empty else self.view)

    def is_showing_empty_state(self) -> bool:
        """True while the sentence, not the table, is shown."""
        return self.currentWidget() is self.empty_label

    # --- rows, always of the source model ------------------------------------------------------
    def _to_source(self, index: QModelIndex | QPersistentModelIndex) -> int:
        if not index.isValid():
            return -1
        return self.proxy.mapToSource(index).row() if self.proxy else index.row()

    def _to_view(self, row: int) -> QModelIndex:
        index = self._model.index(row, 0)
        return self.proxy.mapFromSource(index) if self.proxy else index

    def row_of(self, index: QModelIndex | QPersistentModelIndex) -> int:
        """The source row of a view index (e.g. one ``activated`` or ``clicked`` gives), or -1."""
        return self._to_source(index)

    def selected_row(self) -> int:
        """The selected source row, or -1."""
        rows = self.view.selectionModel().selectedRows()
        return self._to_source(rows[0]) if rows else -1

    def current_row(self) -> int:
        """The source row of the view's current index (the keyboard's row), or -1."""
        return self._to_source(self.view.currentIndex())

    def select_row(self, row: int) -> None:
        """Make source row ``row`` current and selected, and scroll to it."""
        if 0 <= row < self._model.rowCount():
            index = self._to_view(row)
            self.view.setCurrentIndex(index)
            self.view.selectRow(index.row())
            self.view.scrollTo(index)


def make_action(
    owner: QWidget, text: str, keys: str, slot: Callable[[], object], tip: str
) -> QAction:
    """An action with a shortcut, added to ``owner`` so the shortcut works while it is shown."""
    action = QAction(text, owner)
    action.setShortcut(QKeySequence(keys))
    action.setToolTip(f"{tip} ({QKeySequence(keys).toString()})" if keys else tip)
    action.triggered.connect(slot)
    owner.addAction(action)
    return action


def add_key(
    button: QAbstractButton, *keys: QKeySequence | QKeySequence.StandardKey | str
) -> QAction:
    """Let each of ``keys`` (Ctrl+S...) click ``button`` too, keeping the Alt+letter of its "&".

    A button has one shortcut, and its "&" letter is it: ``setShortcut`` would replace
    the mnemonic (Alt+D did nothing on "Save as P&DF" once Ctrl+S was set). An action on
    the button itself works while the button is shown and enabled, as its shortcut would.
    """
    action = QAction(button)
    action.setShortcuts([QKeySequence(key) for key in keys])
    action.triggered.connect(button.animateClick)
    button.addAction(action)
    return action


def action_button(action: QAction, parent: QWidget) -> QToolButton:
    """A text button that mirrors ``action`` (its text, enabled state and tooltip)."""
    button = QToolButton(parent)
    button.setDefaultAction(action)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setMinimumHeight(30)
    return button


def padded_page(widget: QWidget, parent: QWidget, *actions: QAction) -> QWidget:
    """A tab page: ``widget`` below the tab bar, with ``actions`` as buttons at the bottom right."""
    page = QWidget(parent)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, PAGE_MARGIN, 0, 0)
    layout.setSpacing(SPACING)
    layout.addWidget(widget, 1)
    if actions:
        row = QHBoxLayout()
        row.addStretch(1)
        for action in actions:
            row.addWidget(action_button(action, page))
        layout.addLayout(row)
    return page
