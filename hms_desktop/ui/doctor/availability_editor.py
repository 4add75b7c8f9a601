"""A doctor's availability for today and the next six days: add and remove time windows.

Changes are drafts until saved; each changed day is then saved with
``services.availability.set_day``, which owns the rules (no overlap, no window
shorter than a slot, no removing booked time). Its message is shown next to
the day's windows and the draft is kept so the doctor can fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import availability
from hms_desktop.services.views import AvailabilityWindow
from hms_desktop.ui.common.dates import day_text, time_text
from hms_desktop.ui.common.forms import ErrorLabel
from hms_desktop.ui.common.layout import (
    SPACING,
    EmptyStateTable,
    add_key,
    muted_label,
    title_label,
)
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import Column, RowTableModel
from hms_desktop.ui.common.time_field import TimeField

Window = tuple[time, time]


@dataclass(frozen=True)
class DayRow:
    day: date
    windows: tuple[Window, ...]
    changed: bool


@dataclass(frozen=True)
class WindowRow:
    start: time
    end: time
    slots: int


@dataclass
class SaveOutcome:
    """What a save did: days saved, and the first day the service refused (with why)."""

    saved: list[date] = field(default_factory=list)
    failed_day: date | None = None
    error: HmsError | None = None


def _py_time(value: QTime) -> time:
    return time(value.hour(), value.minute())


def _windows_text(windows: tuple[Window, ...]) -> str:
    return ", ".join(f"{time_text(s)}–{time_text(e)}" for s, e in windows) or "Not available"


class AvailabilityEditor(QWidget):
    """Seven days on the left, the chosen day's windows on the right, one Save for all."""

    loaded = Signal()
    #: A save finished: True when every changed day was saved.
    save_finished = Signal(bool)

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        doctor_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._doctor_id = doctor_id
        self._saved: dict[date, tuple[Window, ...]] = {}
        self._draft: dict[date, tuple[Window, ...]] = {}
        self._days: list[date] = []
        self._shown_day: date | None = None
        self._busy = False

        self.days_model: RowTableModel[DayRow] = RowTableModel(
            [
                Column("Day", lambda r: r.day, text=lambda r: day_text(r.day, clinic.today())),
                Column("Hours", lambda r: _windows_text(r.windows)),
                Column("Changes", lambda r: "Not saved yet" if r.changed else ""),
            ],
            self,
        )
        self.days_table = EmptyStateTable(self.days_model, "Loading…", self)
        self.days_table.view.setAccessibleName("Days")
        self.days_table.stretch_column(1)
        self.days_table.view.selectionModel().currentRowChanged.connect(self._on_day_changed)

        slot_minutes = clinic.settings.slot_minutes
        self.windows_model: RowTableModel[WindowRow] = RowTableModel(
            [
                Column("From", lambda r: r.start),
                Column("To", lambda r: r.end),
                Column(
                    "Slots", lambda r: r.slots, text=lambda r: f"{r.slots} × {slot_minutes} min"
                ),
            ],
            self,
        )
        self.windows_table = EmptyStateTable(
            self.windows_model, "Not available on this day. Add a time window below.", self
        )
        self.windows_table.view.setAccessibleName("Time windows")
        self.windows_table.stretch_column(2)
        self.day_title = title_label("", self, size_delta=2)
        # Both error lines keep their room while empty: the From/To row and the buttons
        # must not move under the mouse when a message appears.
        self.day_error = ErrorLabel(self, reserve=True)

        self.start_edit = TimeField(QTime(9, 0), self)
        self.end_edit = TimeField(QTime(12, 0), self)
        for edit, name in ((self.start_edit, "From"), (self.end_edit, "To")):
            edit.setMinimumWidth(96)
            edit.setAccessibleName(name)
            edit.timeChanged.connect(self._validate_new_window)
        self.add_button = QPushButton("A&dd window", self)
        self.add_button.clicked.connect(self.add_window)
        self.remove_button = QPushButton("Re&move window", self)
        self.remove_button.setToolTip("Remove the selected window (Delete)")
        self.remove_button.clicked.connect(self.remove_window)
        # Delete as an action of its own: a button's setShortcut would replace its Alt+M.
        self.remove_action = QAction("Remove window", self)
        self.remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.remove_action.triggered.connect(self.remove_button.click)
        self.addAction(self.remove_action)
        self.new_window_error = ErrorLabel(self, reserve=True)

        self.save_button = QPushButton("&Save changes", self)
        add_key(self.save_button, QKeySequence.StandardKey.Save)
        self.save_button.setToolTip("Save every changed day (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("R&evert", self)
        self.revert_button.clicked.connect(self.revert)
        self.status_label = muted_label("", self)

        left = QVBoxLayout()
        left.setSpacing(SPACING)
        left.addWidget(title_label("Next 7 days", self, size_delta=2))
        left.addWidget(self.days_table, 1)
        add_row = QHBoxLayout()
        add_row.setSpacing(SPACING)
        from_label = QLabel("Fr&om", self)
        from_label.setBuddy(self.start_edit)
        to_label = QLabel("&To", self)
        to_label.setBuddy(self.end_edit)
        for w in (from_label, self.start_edit, to_label, self.end_edit, self.add_button):
            add_row.addWidget(w)
        # Sized from the text at the final font, so a narrow column never clips them.
        for label in (from_label, to_label):
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(label.text()) + 4)
        add_row.addStretch(1)
        add_row.addWidget(self.remove_button)
        right = QVBoxLayout()
        right.setSpacing(SPACING)
        right.addWidget(self.day_title)
        right.addWidget(self.windows_table, 1)
        right.addWidget(self.day_error)
        right.addLayout(add_row)
        right.addWidget(self.new_window_error)
        columns = QHBoxLayout()
        columns.setSpacing(SPACING * 3)
        columns.addLayout(left, 5)
        columns.addLayout(right, 4)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.revert_button)
        bottom.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addLayout(columns, 1)
        layout.addLayout(bottom)

        self.setTabOrder(self.days_table.view, self.windows_table.view)
        self.setTabOrder(self.windows_table.view, self.start_edit)
        self.setTabOrder(self.start_edit, self.end_edit)
        self.setTabOrder(self.end_edit, self.add_button)
        self.setTabOrder(self.add_button, self.remove_button)
        self.setTabOrder(self.remove_button, self.revert_button)
        self.setTabOrder(self.revert_button, self.save_button)
        self._update_buttons()

    # --- API ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the saved windows (drafts are dropped)."""
        clinic, doctor_id = self._clinic, self._doctor_id
        self._ops.run(
            lambda ctx: (
                availability.week_ahead(clinic),
                availability.get_windows(clinic, doctor_id),
            ),
            label="Loading availability",
            on_success=self._on_loaded,
            on_failure=self._on_load_failed,
        )

    def current_day(self) -> date | None:
        """The day being edited, or None before the first load."""
        row = self.days_model.row_at(self.days_table.view.currentIndex().row())
        return row.day if row is not None else None

    def select_day(self, day: date) -> None:
        """Edit ``day`` (one of the seven shown)."""
        if day in self._days:
            row = self._days.index(day)
            self.days_table.view.setCurrentIndex(self.days_model.index(row, 0))

    def windows_of(self, day: date) -> tuple[Window, ...]:
        """The draft windows of ``day`` (what the editor shows)."""
        return self._draft.get(day, ())

    def is_dirty(self) -> bool:
        """True when a day has changes not saved yet."""
        return any(self._draft.get(d, ()) != self._saved.get(d, ()) for d in self._days)

    def add_window(self) -> None:
        """Add the From-To window to the chosen day's draft (checked by the service on save)."""
        day = self.current_day()
        if day is None or not self._validate_new_window():
            return
        window = (_py_time(self.start_edit.time()), _py_time(self.end_edit.time()))
        self._draft[day] = tuple(sorted((*self._draft.get(day, ()), window)))
        self.day_error.clear_message()
        self._show()

    def remove_window(self) -> None:
        """Drop the selected window from the chosen day's draft."""
        day = self.current_day()
        row = self.windows_model.row_at(self.windows_table.selected_row())
        if day is None or row is None:
            return
        self._draft[day] = tuple(w for w in self._draft.get(day, ()) if w != (row.start, row.end))
        self.day_error.clear_message()
        self._show()

    def revert(self) -> None:
        """Forget every unsaved change."""
        self._draft = dict(self._saved)
        self.day_error.clear_message()
        self._show()

    def save(self) -> None:
        """Save every changed day in date order; stop at the first one the service refuses."""
        if self._busy or not self.is_dirty():
            return
        changes = [
            (d, self._draft.get(d, ()))
            for d in self._days
            if self._draft.get(d, ()) != self._saved.get(d, ())
        ]
        clinic, actor, doctor_id = self._clinic, self._actor, self._doctor_id

        def work(_ctx: object) -> SaveOutcome:
            outcome = SaveOutcome()
            for day, windows in changes:
                try:
                    availability.set_day(clinic, actor, doctor_id, day, list(windows))
                except HmsError as err:
                    outcome.failed_day, outcome.error = day, err
                    break
                outcome.saved.append(day)
            return outcome

        self._busy = True
        self.status_label.setText("Saving…")
        self._update_buttons()
        self._ops.run(
            work,
            label="Saving availability",
            on_success=self._on_saved,
            on_failure=self._on_save_failed,
        )

    # --- callbacks ---------------------------------------------------------------------------
    def _on_loaded(self, result: tuple[list[date], list[AvailabilityWindow]]) -> None:
        days, windows = result
        keep = self.current_day()
        self._days = days
        grouped: dict[date, list[Window]] = {d: [] for d in days}
        for w in windows:
            grouped.setdefault(w.date, []).append((w.start_time, w.end_time))
        self._saved = {d: tuple(sorted(ws)) for d, ws in grouped.items()}
        self._draft = dict(self._saved)
        self.status_label.setText("")
        self._show()
        self.select_day(keep if keep in days else days[0])
        self.loaded.emit()

    def _on_load_failed(self, err: BaseException) -> None:
        self.days_table.set_empty_text(field_message(err)[1])
        self.loaded.emit()

    def _on_saved(self, outcome: SaveOutcome) -> None:
        self._busy = False
        for day in outcome.saved:
            self._saved[day] = self._draft.get(day, ())
        if outcome.error is not None and outcome.failed_day is not None:
            self.select_day(outcome.failed_day)
            self.day_error.show_message(outcome.error.message)
            self.status_label.setText(
                f"{day_text(outcome.failed_day)} was not saved; fix it and save again."
            )
        else:
            self.status_label.setText("All changes saved.")
        self._show()
        self.save_finished.emit(outcome.error is None)

    def _on_save_failed(self, err: BaseException) -> None:
        self._busy = False
        self.day_error.show_message(field_message(err)[1])
        self.status_label.setText("Nothing was saved.")
        self._update_buttons()
        self.save_finished.emit(False)

    def _on_day_changed(self) -> None:
        # Redrawing the table re-selects the same day; only a real move clears the message.
        if self.current_day() != self._shown_day:
            self.day_error.clear_message()
        self._show_day()

    # --- display -----------------------------------------------------------------------------
    def _show(self) -> None:
        """Redraw both tables from the drafts, keeping the chosen day."""
        keep = self.current_day()
        self.days_model.set_rows(
            [
                DayRow(d, self._draft.get(d, ()), self._draft.get(d, ()) != self._saved.get(d, ()))
                for d in self._days
            ]
        )
        if keep is not None:
            self.select_day(keep)
        self._show_day()

    def _show_day(self) -> None:
        day = self.current_day()
        self._shown_day = day
        minutes = self._clinic.settings.slot_minutes
        self.day_title.setText(day_text(day, self._clinic.today()) if day else "")
        self.windows_model.set_rows(
            [
                WindowRow(s, e, len(list(availability.slot_starts(s, e, minutes))))
                for s, e in (self._draft.get(day, ()) if day else ())
            ]
        )
        if self.windows_model.rowCount():
            # A window is always selected, so "Remove window" acts on something visible.
            self.windows_table.select_row(0)
        self._update_buttons()

    def _validate_new_window(self) -> bool:
        start, end = self.start_edit.time(), self.end_edit.time()
        ok = start < end
        self.new_window_error.show_message("" if ok else "The window must end after it starts.")
        self._update_buttons()
        return ok

    def _update_buttons(self) -> None:
        day_chosen = self.current_day() is not None
        valid = self.start_edit.time() < self.end_edit.time()
        self.add_button.setEnabled(day_chosen and valid and not self._busy)
        self.remove_button.setEnabled(self.windows_model.rowCount() > 0 and not self._busy)
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty and not self._busy)
        self.revert_button.setEnabled(dirty and not self._busy)
        if dirty and not self._busy and not self.day_error.text():
            self.status_label.setText("Unsaved changes.")
        elif not dirty and self.status_label.text() == "Unsaved changes.":
            self.status_label.setText("")  # reverted, or changed back by hand
