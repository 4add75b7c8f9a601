"""A table of free slots to pick one from, with the day and time shown as the desk reads them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from hms_desktop.services.views import Slot
from hms_desktop.ui.common.dates import day_text, time_text
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable
from hms_desktop.ui.common.table_models import Column, RowTableModel


@dataclass(frozen=True)
class SlotRow:
    """A free slot with the doctor's name, as one line of the picker."""

    slot: Slot
    doctor: str


def slot_columns(today: Callable[[], date | None] = lambda: None) -> list[Column[SlotRow]]:
    """Day, time and doctor; ``today`` names today and tomorrow as such."""
    return [
        Column("Day", lambda r: r.slot.date, text=lambda r: day_text(r.slot.date, today())),
        Column(
            "Time",
            lambda r: r.slot.time,
            text=lambda r: f"{time_text(r.slot.time)}–{time_text(r.slot.end_time)}",
        ),
        Column("Doctor", lambda r: r.doctor),
    ]


class SlotPicker(QWidget):
    """Free slots in a table, with a day filter. Emits ``slot_chosen`` on Enter/double-click."""

    #: A slot was activated (Enter or double-click): the owner books it.
    slot_chosen = Signal(object)
    #: The selection changed (``None`` when nothing is selected).
    selection_changed = Signal(object)

    ALL_DAYS = "All days"

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        empty_text: str = "No free slots up to the booking horizon.",
        show_doctor: bool = True,
    ) -> None:
        super().__init__(parent)
        self._all: list[SlotRow] = []
        self._empty_text = empty_text
        self._today: date | None = None
        self.model: RowTableModel[SlotRow] = RowTableModel(slot_columns(lambda: self._today), self)
        self.day_filter = QComboBox(self)
        self.day_filter.setAccessibleName("Day")
        self.day_filter.setMinimumContentsLength(16)
        self.day_filter.addItem(self.ALL_DAYS, None)
        self.day_filter.currentIndexChanged.connect(self._apply_filter)
        self.table = EmptyStateTable(self.model, empty_text, self)
        self.table.view.setAccessibleName("Free slots")
        self.table.set_column_widths({0: 150, 1: 100})
        if not show_doctor:
            self.table.view.hideColumn(2)
        else:
            self.table.stretch_column(2)  # the doctor's whole name, not "Dr. Sebastián M…"
            self.table.grow_to_contents()  # and never squeezed below it by its neighbours
        self.table.activated.connect(self._on_activated)
        self.table.view.installEventFilter(self)
        self.table.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.count_label = QLabel(self)

        top = QHBoxLayout()
        top.setSpacing(SPACING)
        day_label = QLabel("&Day:", self)
        day_label.setBuddy(self.day_filter)
        top.addWidget(day_label)
        top.addWidget(self.day_filter)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    # --- API ---------------------------------------------------------------------------
    def set_slots(
        self, slots: Sequence[Slot], doctor_names: Mapping[int, str], today: date | None = None
    ) -> None:
        """Show ``slots``; keep the chosen day and the selected slot when they still exist."""
        kept = self.current_slot()
        day = self.day_filter.currentData()
        self._today = today
        self._all = [
            SlotRow(s, doctor_names.get(s.doctor_id, f"Doctor {s.doctor_id}")) for s in slots
        ]
        days = sorted({r.slot.date for r in self._all})
        self.day_filter.blockSignals(True)
        self.day_filter.clear()
        self.day_filter.addItem(self.ALL_DAYS, None)
        for d in days:
            self.day_filter.addItem(day_text(d, today), d)
        index = self.day_filter.findData(day) if day is not None else 0
        self.day_filter.setCurrentIndex(max(0, index))
        self.day_filter.blockSignals(False)
        self._apply_filter()
        if kept is not None:
            self.select_slot(kept)

    def clear(self, empty_text: str | None = None) -> None:
        """Show no slots, with ``empty_text`` (or the default) in their place."""
        self.table.set_empty_text(empty_text or self._empty_text)
        self.set_slots([], {})

    def set_empty_text(self, text: str) -> None:
        """The sentence shown while no slot is listed."""
        self._empty_text = text
        self.table.set_empty_text(text)

    def current_slot(self) -> Slot | None:
        """The selected slot, or None."""
        row = self.model.row_at(self.table.selected_row())
        return row.slot if row is not None else None

    def select_slot(self, slot: Slot) -> bool:
        """Select ``slot`` if it is listed (switching the day filter to "All days" if needed)."""
        for attempt in range(2):
            for i, row in enumerate(self.model.rows):
                if row.slot == slot:
                    self.table.select_row(i)
                    return True
            if attempt == 0 and self.day_filter.currentIndex() != 0:
                self.day_filter.setCurrentIndex(0)
        return False

    def select_near(self, slot: Slot) -> bool:
        """Select ``slot`` if listed, else the slot that took its place (the first listed
        from its start on), else the last one before it: after a booking the cursor stays
        where the person was. False when nothing is listed."""
        rows = self.model.rows
        if not rows:
            return False
        start = (slot.date, slot.time)
        near = next((i for i, r in enumerate(rows) if r.slot == slot), None)
        if near is None:
            near = next(
                (i for i, r in enumerate(rows) if (r.slot.date, r.slot.time) >= start),
                len(rows) - 1,
            )
        self.table.select_row(near)
        return True

    def select_first(self) -> None:
        """Show all days and select the first slot (none if there is none)."""
        self.clear_selection()
        self.table.select_row(0)

    def clear_selection(self) -> None:
        """Show all days with no slot selected (nor a keyboard row to select on arrival)."""
        self.day_filter.setCurrentIndex(0)
        self.table.view.selectionModel().clear()

    def focus_first(self) -> None:
        """Put the keyboard on the list, with a slot selected (the first, if none was)."""
        self._select_on_focus()
        self.table.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def slots(self) -> list[Slot]:
        """Every slot given, whatever the day filter shows."""
        return [r.slot for r in self._all]

    # --- slots -------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        day = self.day_filter.currentData()
        rows = [r for r in self._all if day is None or r.slot.date == day]
        self.model.set_rows(rows)
        self.count_label.setText(
            f"{len(rows)} free slot{'s' if len(rows) != 1 else ''}" if self._all else ""
        )
        self.selection_changed.emit(None)

    def _on_activated(self, index: QModelIndex) -> None:
        # Enter acts on the row it was pressed on, selected or not (a focused, unselected
        # first row used to do nothing).
        row = self.table.row_of(index)
        if row >= 0 and row != self.table.selected_row():
            self.table.select_row(row)
        slot = self.current_slot()
        if slot is not None:
            self.slot_chosen.emit(slot)

    def _select_on_focus(self) -> None:
        if self.table.selected_row() < 0 and self.model.rowCount():
            current = self.table.current_row()
            self.table.select_row(current if current >= 0 else 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The keyboard arriving on the list selects the row it lands on, so the first Down
        # goes to the second slot and Enter books the one shown selected: Qt's own focus
        # handling makes the first row current without selecting it.
        if (
            watched is self.table.view
            and event.type() == QEvent.Type.FocusIn
            and isinstance(event, QFocusEvent)
            and event.reason() != Qt.FocusReason.MouseFocusReason
        ):
            self._select_on_focus()
        return super().eventFilter(watched, event)

    def _on_selection(self) -> None:
        self.selection_changed.emit(self.current_slot())
