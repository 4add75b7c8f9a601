"""A patient's full medical history: every treated visit, and the selected one in full."""

from __future__ import annotations

import html
import itertools
import logging

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QSplitter,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.policy import CareRelationshipRequiredError
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentVersionRow
from hms_desktop.services.scheduling.booking import VISIT_LABELS
from hms_desktop.services.views import HistoryRow
from hms_desktop.ui.common.dates import when_text
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, muted_label, title_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import Column, RowTableModel

log = logging.getLogger(__name__)


def start_history_export(
    parent: QWidget, clinic: Clinic, actor: Actor, ops: Operations, patient_id: int
) -> None:
    """Open the export dialog for a patient's full history.

    Imported when asked for: openpyxl and the dialog stay out of the tabs' start-up.
    """
    from hms_desktop.ui.exports.export_dialog import export_history

    export_history(parent, clinic, actor, ops, patient_id)


def history_columns() -> list[Column[HistoryRow]]:
    """The history table's columns, newest visit first in the view."""
    return [
        Column("Date", lambda r: r.date),
        Column("Time", lambda r: r.time),
        Column("Doctor", lambda r: r.doctor),
        Column("Department", lambda r: r.department),
        Column("Visit type", lambda r: VISIT_LABELS.get(r.visit_type, r.visit_type)),
        Column("Diagnosis", lambda r: r.diagnosis, tooltip=lambda r: r.diagnosis),
        Column("Prescription", lambda r: r.prescription, tooltip=lambda r: r.prescription),
        # An amended record says so; its earlier versions show in the detail pane.
        Column(
            "Amended", lambda r: f"amended ({r.earlier_versions}×)" if r.earlier_versions else ""
        ),
    ]


_FIELDS = (
    ("Symptoms", "symptoms"),
    ("Diagnosis", "diagnosis"),
    ("Treatment given", "treatment_given"),
    ("Prescription", "prescription"),
    ("Notes", "notes"),
)


def versions_html(versions: list[TreatmentVersionRow]) -> str:
    """The earlier versions of an amended record: who wrote each, who replaced it and
    when, and each changed field's old and new value."""
    parts = ["<h4>Earlier versions</h4>"]
    for old, new in itertools.pairwise(versions):
        when = f"{old.replaced_at:%Y-%m-%d %H:%M} UTC" if old.replaced_at else ""
        parts.append(
            f"<p><b>Version {old.version}</b> by {html.escape(old.written_by or 'unknown')}, "
            f"replaced by {html.escape(old.replaced_by)} on {when}</p><ul>"
        )
        for label, name in _FIELDS:
            before, after = getattr(old, name), getattr(new, name)
            if before != after:
                parts.append(
                    f"<li>{label}: <s>{html.escape(before) or '—'}</s> → "
                    f"{html.escape(after) or '—'}</li>"
                )
        parts.append("</ul>")
    return "".join(parts)


def visit_html(row: HistoryRow) -> str:
    """The full record of one visit, for the detail pane."""
    parts = [
        f"<h3>{html.escape(when_text(row.date, row.time))}</h3>",
        f"<p>{html.escape(row.doctor)} · {html.escape(row.department)} · "
        f"{html.escape(VISIT_LABELS.get(row.visit_type, row.visit_type))}</p>",
    ]
    for label, value in (
        ("Symptoms", row.symptoms),
        ("Diagnosis", row.diagnosis),
        ("Treatment given", row.treatment_given),
        ("Prescription", row.prescription),
        ("Notes", row.notes),
    ):
        text = html.escape(value).replace("\n", "<br>") if value else "<i>—</i>"
        parts.append(f"<p><b>{label}</b><br>{text}</p>")
    return "".join(parts)


class HistoryView(QWidget):
    """Shows one patient's history; :meth:`show_patient` loads it in the background."""

    loaded = Signal()
    #: The selected record's versions are on screen (how many, the current one included).
    versions_shown = Signal(int)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._patient_id: int | None = None
        self._generation = 0
        self.model: RowTableModel[HistoryRow] = RowTableModel(history_columns(), self)
        self.table = EmptyStateTable(
            self.model,
            "Choose an appointment and press Patient history to see it here.",
            self,
            sortable=True,
        )
        self.table.view.setAccessibleName("Treatments")
        self.table.set_column_widths({0: 110, 1: 70, 2: 170, 3: 170, 4: 120, 5: 220})
        self.table.view.selectionModel().currentRowChanged.connect(self._show_detail)
        self.detail = QTextBrowser(self)
        self.detail.setAccessibleName("Visit details")
        self.detail.setPlaceholderText("Select a visit to read its full record.")
        self.title = title_label("Patient history", self, size_delta=2)
        self.subtitle = muted_label("", self)

        self.export_action = QAction("&Export Full History…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.export_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.export_action.setToolTip(
            "Export this patient's full history to CSV, Excel, FHIR (JSON) or a printable PDF"
        )
        self.export_action.triggered.connect(self.export)
        self.export_action.setEnabled(False)
        self.addAction(self.export_action)
        # A doctor without a care relationship opens the records only with a typed reason.
        self.emergency_action = QAction("E&mergency access…", self)
        self.emergency_action.setToolTip("Open this patient's records with a reason (audited)")
        self.emergency_action.triggered.connect(self.ask_emergency_reason)
        self.emergency_action.setVisible(False)
        emergency_button = QToolButton(self)
        emergency_button.setDefaultAction(self.emergency_action)
        self._reason = ""
        self.reason_dialog: QInputDialog | None = None
        export_button = QToolButton(self)
        export_button.setDefaultAction(self.export_action)
        export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        header = QHBoxLayout()
        header.setSpacing(SPACING)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        header.addWidget(emergency_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(export_button, 0, Qt.AlignmentFlag.AlignBottom)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([280, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)

    @property
    def patient_id(self) -> int | None:
        """The patient shown, or None."""
        return self._patient_id

    #: The row whose earlier versions were last asked for (not twice for one showing).
    _versions_for: HistoryRow | None = None

    def show_patient(self, patient_id: int, patient_name: str) -> None:
        """Load and show ``patient_id``'s full history (audited by the service)."""
        if patient_id != self._patient_id:
            self._reason = ""  # emergency access is asked for per patient
            # Nothing of the last patient stays on screen under this one's name (not
            # while this one loads, nor when this one is refused).
            self._clear_rows("Loading…")
        self.emergency_action.setVisible(False)
        self._patient_id = patient_id
        self._generation += 1
        generation = self._generation
        self.title.setText(f"History of {patient_name}")
        self.subtitle.setText(f"Patient #{patient_id} · loading…")
        self.export_action.setEnabled(True)
        clinic, actor, reason = self._clinic, self._actor, self._reason
        self._ops.run(
            lambda ctx: (
                generation,
                records.patient_history(clinic, actor, patient_id, emergency_reason=reason),
            ),
            label="Loading the history",
            on_success=self._on_loaded,
            on_failure=self._on_failed,
        )

    def refresh(self) -> None:
        """Load the shown patient's history again."""
        if self._patient_id is not None:
            name = self.title.text().removeprefix("History of ")
            self.show_patient(self._patient_id, name)

    def export(self) -> None:
        """Open the export dialog for the shown patient's full history."""
        if self._patient_id is not None:
            start_history_export(self, self._clinic, self._actor, self._ops, self._patient_id)

    def _on_loaded(self, result: tuple[int, list[HistoryRow]]) -> None:
        generation, rows = result
        if generation != self._generation:
            return  # another patient was chosen meanwhile
        self.table.set_empty_text("No treatments recorded for this patient yet.")
        self._versions_for = None
        self.model.set_rows(list(reversed(rows)))  # newest first: what a doctor reads first
        count = len(rows)
        self.subtitle.setText(
            f"Patient #{self._patient_id} · {count} treated visit{'s' if count != 1 else ''}"
            + (" · opened by emergency access (audited)" if self._reason else "")
        )
        if rows:
            self.table.select_row(0)
        # A reset model may leave the current row "unchanged" (no signal): draw it here.
        self._show_detail()
        self.loaded.emit()

    def _clear_rows(self, empty_text: str) -> None:
        self._versions_for = None
        self.model.set_rows([])
        self.detail.clear()
        self.table.set_empty_text(empty_text)

    def _on_failed(self, err: BaseException) -> None:
        self._clear_rows(field_message(err)[1])
        self.subtitle.setText("")
        # A reason refused (too short) is asked for again, not sent again at each refresh.
        reason_refused = bool(self._reason) and isinstance(err, ValidationError)
        if reason_refused:
            self._reason = ""
        self.emergency_action.setVisible(
            isinstance(err, CareRelationshipRequiredError) or reason_refused
        )
        self.loaded.emit()

    def ask_emergency_reason(self) -> QInputDialog:
        """Ask why the records must be opened; with a reason, load them (audited)."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Emergency access")
        dialog.setLabelText(
            "Why must you open this patient's records now? The reason is kept in the audit "
            "log and shown to the administrator."
        )
        dialog.textValueSelected.connect(self._on_reason)
        dialog.finished.connect(dialog.deleteLater)
        self.reason_dialog = dialog
        dialog.open()
        return dialog

    def _on_reason(self, reason: str) -> None:
        self.reason_dialog = None
        if self._patient_id is not None and reason.strip():
            self._reason = reason
            self.refresh()

    def _show_detail(self) -> None:
        row = self.model.row_at(self.table.current_row())
        if row is None:
            self.detail.clear()
            return
        self.detail.setHtml(visit_html(row))
        # Once per row shown: the selection signal and the reload both land here, and each
        # read of the versions is a record view (audited, under emergency access too).
        if row.earlier_versions and row is not self._versions_for:
            self._versions_for = row
            self._load_versions(row)

    def _load_versions(self, row: HistoryRow) -> None:
        clinic, actor, reason = self._clinic, self._actor, self._reason
        appointment_id = row.appointment_id
        self._ops.run(
            lambda _ctx: records.treatment_versions(
                clinic, actor, appointment_id, emergency_reason=reason
            ),
            label="Loading earlier versions",
            on_success=lambda versions: self._on_versions(row, versions),
            on_failure=lambda _err: None,  # the current version is shown all the same
        )

    def _on_versions(self, row: HistoryRow, versions: list[TreatmentVersionRow]) -> None:
        if not shiboken6.isValid(self.table.view):
            return  # the view closed while they loaded
        if self.model.row_at(self.table.current_row()) is row:  # still the one selected
            self.detail.setHtml(visit_html(row) + versions_html(versions))
            self.versions_shown.emit(len(versions))
