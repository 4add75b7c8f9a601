"""Generic Qt table models over plain rows (the services' frozen dataclasses).

``RowTableModel`` holds a list of rows and a column spec. ``PagedTableModel``
holds none up front: it asks a fetch function for one page at a time as the view
scrolls (``canFetchMore``/``fetchMore``), so a million-row table opens at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from hms_desktop.errors import HmsError
from hms_desktop.ui.common.dates import day_text, moment_text, time_text
from hms_desktop.ui.common.operations import Operations

Row = TypeVar("Row")
Index = QModelIndex | QPersistentModelIndex

#: A role for the raw row object behind a table row.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
#: A role for the value to sort by (numbers and dates sort as such, not as text).
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
MUTED_COLOUR = "#8a94a6"


def display(value: Any) -> str:
    """How a value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else ""
    if isinstance(value, datetime):
        return moment_text(value.astimezone())
    if isinstance(value, date):
        return day_text(value)
    if isinstance(value, time):
        return time_text(value)
    return str(value)


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: its header and how to read its value from a row."""

    header: str
    value: Callable[[Row], Any]
    #: Optional text for the cell (defaults to :func:`display` of the value).
    text: Callable[[Row], str] | None = None
    align_right: bool = False
    tooltip: Callable[[Row], str] | None = None


class RowTableModel(QAbstractTableModel, Generic[Row]):
    """A read-only table of rows; replace them with :meth:`set_rows`."""

    def __init__(
        self,
        columns: Sequence[Column[Row]],
        parent: Any = None,
        *,
        muted: Callable[[Row], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[Row] = []
        #: Rows for which this is true read grey (blacklisted people, cancelled visits).
        self._muted = muted

    # --- Qt overrides -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row) if column.text else display(column.value(row))
        if role == SORT_ROLE:
            value = column.value(row)
            return value if isinstance(value, int | float) else display(value).casefold()
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self._muted is not None and self._muted(row):
            return QColor(MUTED_COLOUR)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            return self._columns[section].header
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        return None

    # --- API ------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def rows(self) -> list[Row]:
        return list(self._rows)


def sort_filter_proxy(model: RowTableModel[Any], parent: Any = None) -> QSortFilterProxyModel:
    """A proxy that sorts by :data:`SORT_ROLE` and filters on any column, ignoring case."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    return proxy


def source_row(view_index: QModelIndex | QPersistentModelIndex) -> Any:
    """The row object behind an index of a model or of a proxy over one."""
    return view_index.data(ROW_ROLE) if view_index.isValid() else None


class PagedTableModel(RowTableModel[Row]):
    """Rows arrive a page at a time as the view scrolls.

    ``fetch(offset, limit)`` returns the next rows. Without ``ops`` it runs on the
    UI thread, so it must be a fast, indexed page query (a few ms). With ``ops``
    (an :class:`~hms_desktop.ui.common.operations.Operations`) each page is read on a
    worker thread and inserted when it arrives, so a slow page never freezes the
    window; :attr:`loading_changed` tells the screen, and a page that arrives
    after :meth:`reload` (a new filter) is dropped. A page that fails stops the
    paging and is reported by :attr:`fetch_failed`.
    """

    fetch_failed = Signal(object)  # the exception
    loading_changed = Signal(bool)

    def __init__(
        self,
        columns: Sequence[Column[Row]],
        fetch: Callable[[int, int], Sequence[Row]],
        *,
        page_size: int = 200,
        parent: Any = None,
        muted: Callable[[Row], bool] | None = None,
        ops: Operations | None = None,
    ) -> None:
        super().__init__(columns, parent, muted=muted)
        self._fetch = fetch
        self._page = page_size
        self._exhausted = False
        self._ops = ops
        self._loading = False
        #: Bumped by reload, so a page of an older filter is recognised and dropped.
        self._generation = 0

    @property
    def loading(self) -> bool:
        """A page is being read on a worker thread."""
        return self._loading

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    def reload(self, fetch: Callable[[int, int], Sequence[Row]] | None = None) -> None:
        """Start over (new filter): drop all rows and load the first page."""
        if fetch is not None:
            self._fetch = fetch
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._exhausted = False
        self.endResetModel()
        self._set_loading(False)
        self.fetchMore(QModelIndex())

    def clear(self) -> None:
        """No rows, and none to fetch, until the next :meth:`reload` (a page in flight is
        dropped)."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._exhausted = True
        self.endResetModel()
        self._set_loading(False)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted or self._loading:
            return
        if self._ops is None:
            try:
                page = list(self._fetch(len(self._rows), self._page))
            except HmsError as err:
                # A locked or unreachable database: stop paging and let the screen say so.
                self._on_failed(self._generation, err)
                return
            self._on_page(self._generation, page)
            return
        fetch, offset, size = self._fetch, len(self._rows), self._page
        self._set_loading(True)
        self._ops.run(
            lambda _ctx: list(fetch(offset, size)),
            label="Load rows",
            on_success=functools.partial(self._on_page, self._generation),
            on_failure=functools.partial(self._on_failed, self._generation),
        )

    def _on_page(self, generation: int, page: list[Row]) -> None:
        if generation != self._generation:
            return  # the filter changed while this page was read
        self._set_loading(False)
        if len(page) < self._page:
            self._exhausted = True
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()

    def _on_failed(self, generation: int, err: BaseException) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        self._exhausted = True
        self.fetch_failed.emit(err)
