"""The audit log, for an administrator: who did what to which record, newest first.

Filters (free text, user, kind of action, a date range) narrow the list; every
change reloads it in the background after a short pause in typing. The log itself
can only be read here: nothing in the application changes or deletes an entry.
"""

from __future__ import annotations

import json
from datetime import date, tzinfo

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety import audit
from hms_desktop.services.safety.audit import AuditRow
from hms_desktop.ui.common.dates import date_edit, moment_text
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, muted_label, title_label
from hms_desktop.ui.common.operations import OpContext, Operations, user_message
from hms_desktop.ui.common.table_models import Column, RowTableModel

#: The newest entries shown at most; narrower filters find older ones.
ROW_LIMIT = 1000
EMPTY_TEXT = "No audit entries match the filters."
DETAIL_SEPARATOR = "  ·  "
#: Typing pauses this long before the list reloads.
RELOAD_DELAY_MS = 300

ACTION_CHOICES = (
    ("All actions", ""),
    ("Log-ins", "login"),
    ("Patients", "patient."),
    ("Appointments", "appointment."),
    ("Treatments", "treatment."),
    ("History views and exports", "history."),
    ("Appointment exports", "appointments."),
    ("User accounts", "user."),
    ("Backups and restores", "database."),
)


def details_text(details: str) -> str:
    """An entry's JSON details as "key: value" pairs (the raw text when it is not JSON)."""
    if not details:
        return ""
    try:
        data = json.loads(details)
    except ValueError:
        return details
    if not isinstance(data, dict):
        return details
    return DETAIL_SEPARATOR.join(f"{key}: {_plain(value)}" for key, value in data.items())


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def audit_columns(tz: tzinfo) -> tuple[Column[AuditRow], ...]:
    """The table's columns; times (stored in UTC) read in the clinic's zone, to the second."""
    return (
        Column("When", lambda r: r.at, text=lambda r: moment_text(r.at.astimezone(tz))),
        *_COLUMNS,
    )


_COLUMNS: tuple[Column[AuditRow], ...] = (
    Column("User", lambda r: r.actor),
    Column("Action", lambda r: r.action),
    Column("Record", lambda r: f"{r.entity} {r.entity_id}" if r.entity_id else r.entity),
    Column("Patient", lambda r: r.patient_id, align_right=True),
    Column(
        "Details",
        lambda r: details_text(r.details),
        tooltip=lambda r: details_text(r.details).replace(DETAIL_SEPARATOR, "\n"),
    ),
)


class AuditLogView(QWidget):
    """The audit log with its filters. ``loaded`` carries the number of rows shown."""

    loaded = Signal(int)
    failed = Signal(str)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("auditLogView")
        self._clinic = clinic
        self._actor = actor
        self._ops = ops
        self._generation = 0  # a reload started later wins over an earlier one still running

        self.search_box = QLineEdit(self)
        self.search_box.setPlaceholderText("Search actions, users and details (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.user_box = QLineEdit(self)
        self.user_box.setPlaceholderText("User name")
        self.user_box.setClearButtonEnabled(True)
        self.action_box = QComboBox(self)
        for label, prefix in ACTION_CHOICES:
            self.action_box.addItem(label, prefix)
        self.dates_box = QCheckBox("&Between", self)
        self.date_from = date_edit(self)
        self.date_to = date_edit(self)
        # The service reads these as clinic-local days, so "today" is the clinic's too
        # (this PC's calendar may be on another day near midnight).
        clinic_today = clinic.today()
        today = QDate(clinic_today.year, clinic_today.month, clinic_today.day)
        for edit, start in ((self.date_from, today.addDays(-30)), (self.date_to, today)):
            edit.setDate(start)
            edit.setEnabled(False)
            edit.setMinimumWidth(130)
        self.refresh_button = QPushButton("&Refresh", self)
        self.refresh_button.setToolTip("Load the newest entries again (F5)")

        self.model: RowTableModel[AuditRow] = RowTableModel(audit_columns(clinic.settings.tz), self)
        self.table = EmptyStateTable(self.model, EMPTY_TEXT, self)
        self.table.set_column_widths({0: 150, 1: 110, 2: 170, 3: 130, 4: 70})
        self.status = muted_label("", self)
        self.status.setObjectName("auditStatus")

        filters = QGridLayout()
        filters.setHorizontalSpacing(SPACING)
        filters.setVerticalSpacing(SPACING // 2)
        search_label = QLabel("&Search:", self)
        search_label.setBuddy(self.search_box)
        user_label = QLabel("&User:", self)
        user_label.setBuddy(self.user_box)
        action_label = QLabel("&Action:", self)
        action_label.setBuddy(self.action_box)
        filters.addWidget(search_label, 0, 0)
        filters.addWidget(self.search_box, 0, 1, 1, 3)
        filters.addWidget(user_label, 0, 4)
        filters.addWidget(self.user_box, 0, 5)
        filters.addWidget(action_label, 1, 0)
        filters.addWidget(self.action_box, 1, 1)
        filters.addWidget(self.dates_box, 1, 2)
        filters.addWidget(self.date_from, 1, 3)
        and_label = QLabel("and", self)
        and_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        filters.addWidget(and_label, 1, 4)
        filters.addWidget(self.date_to, 1, 5, Qt.AlignmentFlag.AlignLeft)
        filters.addWidget(self.refresh_button, 1, 6)
        filters.setColumnStretch(1, 1)
        filters.setColumnStretch(5, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(SPACING)
        layout.addWidget(title_label("Audit log", self))
        layout.addWidget(
            muted_label(
                "Every view, change and export of patient data, every log-in and every "
                "backup. Entries cannot be changed or deleted.",
                self,
            )
        )
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.setTabOrder(self.search_box, self.user_box)
        self.setTabOrder(self.user_box, self.action_box)
        self.setTabOrder(self.action_box, self.dates_box)
        self.setTabOrder(self.dates_box, self.date_from)
        self.setTabOrder(self.date_from, self.date_to)
        self.setTabOrder(self.date_to, self.refresh_button)
        self.setTabOrder(self.refresh_button, self.table.view)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RELOAD_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        for line in (self.search_box, self.user_box):
            line.textChanged.connect(self._timer.start)
        self.action_box.currentIndexChanged.connect(self.refresh)
        self.dates_box.toggled.connect(self._on_dates_toggled)
        # The range can never be upside down: each end bounds the other.
        self.date_to.setMinimumDate(self.date_from.date())
        self.date_from.setMaximumDate(self.date_to.date())
        self.date_from.dateChanged.connect(self.date_to.setMinimumDate)
        self.date_to.dateChanged.connect(self.date_from.setMaximumDate)
        self.date_from.dateChanged.connect(self._timer.start)
        self.date_to.dateChanged.connect(self._timer.start)
        self.refresh_button.clicked.connect(self.refresh)
        # No shortcuts of its own: F5 and Ctrl+F belong to the main window (two owners of
        # one key make Qt run neither); the window's Refresh reaches refresh() here.

    # --- filters -------------------------------------------------------------------------
    def _on_dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.refresh()

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def date_range(self) -> tuple[date | None, date | None]:
        if not self.dates_box.isChecked():
            return None, None
        return self.date_from.date().toPython(), self.date_to.date().toPython()  # type: ignore[return-value]

    # --- loading -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Load the entries matching the filters, off the UI thread."""
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        clinic, actor = self._clinic, self._actor
        text, user = self.search_box.text(), self.user_box.text().strip()
        prefix = str(self.action_box.currentData() or "")
        date_from, date_to = self.date_range()

        def work(_ctx: OpContext) -> list[AuditRow]:
            return audit.list_entries(
                clinic,
                actor,
                text=text,
                actor_name=user,
                action_prefix=prefix,
                date_from=date_from,
                date_to=date_to,
                limit=ROW_LIMIT,
            )

        self.status.setText("Loading…")
        self._ops.run(
            work,
            label="Load the audit log",
            on_success=lambda rows: self._on_loaded(generation, rows),
            on_failure=lambda err: self._on_failed(generation, err),
        )

    def _on_loaded(self, generation: int, rows: list[AuditRow]) -> None:
        if generation != self._generation:
            return  # a newer filter is loading; its rows will come
        self.table.set_empty_text(EMPTY_TEXT)
        self.model.set_rows(rows)
        if len(rows) >= ROW_LIMIT:
            self.status.setText(
                f"The newest {ROW_LIMIT} entries; narrow the filters for older ones."
            )
        else:
            self.status.setText(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}")
        self.loaded.emit(len(rows))

    def _on_failed(self, generation: int, err: BaseException) -> None:
        if generation != self._generation:
            return
        self.model.set_rows([])
        message = user_message(err)
        self.status.setText(message)
        self.table.set_empty_text(message)
        self.failed.emit(message)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.model.rowCount() == 0 and self._generation == 0:
            self.refresh()
