"""The export dialog: choose format and file, watch progress, cancel, open the result.

The export itself runs in :func:`hms_desktop.services.files.exports` on a worker thread
started by :class:`~hms_desktop.ui.common.operations.Operations`; the dialog only reads
its own fields, hands plain values to the worker, and reacts to the operation's
signals on the UI thread. Closing the dialog while an export runs cancels it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports, record_exports
from hms_desktop.services.files.exports import ExportResult
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling.booking import AppointmentFilter
from hms_desktop.ui.common.dates import file_date
from hms_desktop.ui.common.operations import Op, OpContext, Operations, user_message
from hms_desktop.ui.exports.export_filters import AppointmentFilterFields
from hms_desktop.ui.exports.export_options import ExportOptions
from hms_desktop.ui.exports.export_progress import ExportProgressPanel
from hms_desktop.ui.exports.history_pdf import write_history_pdf

Kind = Literal["history", "appointments"]
FORMAT_CHOICES = (("csv", "CSV (.csv)"), ("xlsx", "Excel workbook (.xlsx)"))
#: Only a patient's history leaves as a FHIR bundle or a printable PDF.
HISTORY_FORMAT_CHOICES = (
    *FORMAT_CHOICES,
    ("fhir", "FHIR R4 bundle, for another clinic's system (.json)"),
    ("pdf", "Printable PDF (.pdf)"),
)
FILE_FILTERS = {
    "csv": "CSV files (*.csv)",
    "xlsx": "Excel workbooks (*.xlsx)",
    "fhir": "FHIR JSON (*.json)",
    "pdf": "PDF files (*.pdf)",
}
SUFFIXES = {"csv": ".csv", "xlsx": ".xlsx", "fhir": ".json", "pdf": ".pdf"}


class ExportDialog(QDialog):
    """Export a patient's history (``kind="history"``) or an appointment list."""

    #: The file is complete at its place (an :class:`ExportResult`).
    export_finished = Signal(object)
    #: The export failed; the message shown to the user.
    export_failed = Signal(str)
    #: The user cancelled; nothing was written.
    export_cancelled = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        *,
        kind: Kind,
        patient_id: int | None = None,
        flt: AppointmentFilter | None = None,
    ) -> None:
        super().__init__(parent)
        if kind == "history" and patient_id is None:
            raise ValueError("a history export needs a patient id")
        self._clinic = clinic
        self._actor = actor
        self._ops = ops
        self._kind: Kind = kind
        self._patient_id = patient_id
        self._flt = flt or AppointmentFilter()
        self._op: Op | None = None
        self._default_path = ""
        self._export_dir = clinic.pc.effective_export_dir  # there, or the home folder
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export full history" if kind == "history" else "Export appointments")
        self.setMinimumWidth(520)
        self._build()
        self._set_default_path()
        if self.filters is not None:
            self.filters.load_choices()
        else:
            self._load_patient_name()

    # --- building ---------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        title = QLabel(self.windowTitle(), self)
        font = QFont(title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 3)
        title.setFont(font)
        layout.addWidget(title)
        if self._kind == "history":
            intro = (
                f"Every recorded treatment of patient P{self._patient_id}, oldest first: "
                "doctor, date and time, visit type, symptoms, diagnosis, treatment, prescription, "
                "notes. As a spreadsheet, a printable PDF, or a FHIR bundle another clinic's "
                "system can import."
            )
        else:
            intro = "The appointments in a date range, by date and time, for the front desk."
        self.about_label = about = QLabel(intro, self)
        about.setWordWrap(True)
        about.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(about)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._inputs: list[QWidget] = []
        self.filters: AppointmentFilterFields | None = None
        if self._kind == "appointments":
            self.filters = AppointmentFilterFields(
                form, self, self._clinic, self._ops, self._flt, self.show_error
            )
            self.filters.from_edit.dateChanged.connect(self._set_default_path)
            self.filters.to_edit.dateChanged.connect(self._set_default_path)
            self._inputs += self.filters.widgets
        #: The front desk exports a history only at the patient's own request, stated here
        #: (the service refuses it otherwise and audits the reason).
        self.request_edit: QLineEdit | None = None
        if self._kind == "history" and policy.needs_patient_request(self._actor):
            self.request_edit = QLineEdit(self)
            self.request_edit.setObjectName("patientRequest")
            self.request_edit.setPlaceholderText("e.g. the patient asked for a copy at the desk")
            request_label = QLabel("Patient's &request:", self)
            request_label.setBuddy(self.request_edit)
            form.addRow(request_label, self.request_edit)
            self._inputs.append(self.request_edit)
        self.format_combo = QComboBox(self)
        choices = HISTORY_FORMAT_CHOICES if self._kind == "history" else FORMAT_CHOICES
        for code, label in choices:
            self.format_combo.addItem(label, code)
        self.format_combo.currentIndexChanged.connect(self.on_format_changed)
        form.addRow("&Format:", self.format_combo)
        self.options = ExportOptions(form, self, self._clinic, history=self._kind == "history")
        self.options.follow_format(self.fmt)
        self.path_edit = QLineEdit(self)
        self.path_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton("&Browse…", self)
        self.browse_button.clicked.connect(self.on_browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        save_label = QLabel("&Save to:", self)
        save_label.setBuddy(self.path_edit)
        form.addRow(save_label, path_row)
        self._inputs += [self.format_combo, self.path_edit, self.browse_button]
        self._inputs += self.options.widgets
        layout.addLayout(form)

        self.error_label = QLabel(self)
        self.error_label.setObjectName("exportError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.panel = ExportProgressPanel(self, self.show_error)
        # The tests and callers reach these through the dialog.
        self.status_label = self.panel.status_label
        self.open_file_button = self.panel.open_file_button
        self.open_folder_button = self.panel.open_folder_button
        layout.addWidget(self.panel)
        layout.addStretch(1)

        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton(
            "&Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.on_export)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)

    def _load_patient_name(self) -> None:
        clinic, actor, patient_id = self._clinic, self._actor, self._patient_id
        assert patient_id is not None

        def load(_ctx: OpContext) -> str:
            return patients.get_patient(clinic, actor, patient_id).full_name

        def show(name: str) -> None:
            self.about_label.setText(
                self.about_label.text().replace(f"patient P{patient_id}", f"{name} (P{patient_id})")
            )

        # A refusal is shown when exporting; until then the id alone will do.
        self._ops.run(
            load, label="Loading the patient", on_success=show, on_failure=lambda _e: None
        )

    # --- the file --------------------------------------------------------------------

    @property
    def fmt(self) -> str:
        return str(self.format_combo.currentData())

    def default_file_name(self) -> str:
        """``history-P123-2026-06-15.csv`` or ``appointments-2026-06-01-to-2026-06-30.xlsx``."""
        if self._kind == "history":
            stem = f"P{self._patient_id}-{file_date(self._clinic.today())}"
        else:
            assert self.filters is not None
            stem = f"{file_date(self.filters.date_from)}-to-{file_date(self.filters.date_to)}"
        return f"{self._kind}-{stem}{SUFFIXES[self.fmt]}"

    def _set_default_path(self) -> None:
        # Follow the dates and format only while the user has not typed a path of their own.
        default = str(self._export_dir / self.default_file_name())
        if self.path_edit.text().strip() in ("", self._default_path):
            self.path_edit.setText(default)
        self._default_path = default

    def on_format_changed(self, _index: int) -> None:
        self.options.follow_format(self.fmt)
        text = self.path_edit.text().strip()
        if not text:
            return
        path = Path(text)
        if path.suffix.lower() in SUFFIXES.values():
            was_default = text == self._default_path
            self.path_edit.setText(str(path.with_suffix(SUFFIXES[self.fmt])))
            if was_default:
                self._default_path = self.path_edit.text()

    def on_browse(self) -> None:
        """Ask for the file in a save dialog (window-modal; the answer arrives by signal)."""
        start = self.path_edit.text().strip() or str(self._export_dir / self.default_file_name())
        chooser = QFileDialog(self, "Export to", start)
        chooser.setObjectName("exportFileChooser")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setFileMode(QFileDialog.FileMode.AnyFile)
        chooser.setNameFilters(
            [
                FILE_FILTERS[str(self.format_combo.itemData(i))]
                for i in range(self.format_combo.count())
            ]
        )
        chooser.selectNameFilter(FILE_FILTERS[self.fmt])
        chooser.selectFile(start)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.fileSelected.connect(
            lambda name: self.on_file_chosen(name, chooser.selectedNameFilter())
        )
        chooser.open()

    def on_file_chosen(self, name: str, name_filter: str) -> None:
        """Take the chosen file; its filter (CSV or Excel) sets the format."""
        if not name:
            return
        fmt = next((code for code, flt in FILE_FILTERS.items() if flt == name_filter), self.fmt)
        self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))
        path = Path(name)
        if path.suffix.lower() != SUFFIXES[fmt]:
            path = path.with_name(path.name + SUFFIXES[fmt])
        self.path_edit.setText(str(path))

    def target_path(self) -> Path | None:
        """The file to write, or None after showing what to fix."""
        text = self.path_edit.text().strip()
        if not text:
            self.show_error("Choose where to save the file.")
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self._export_dir / path
        if path.is_dir() or text.endswith(("/", "\\")):
            self.show_error(f"{path} is a folder. Add a file name to save the export in it.")
            return None
        suffix, wanted = path.suffix.lower(), SUFFIXES[self.fmt]
        if suffix in SUFFIXES.values() and suffix != wanted:
            self.show_error(
                f"The file name ends in {suffix} but the format is {self.fmt.upper()}; "
                "change one of them."
            )
            return None
        if suffix != wanted:
            path = path.with_name(path.name + wanted)
            self.path_edit.setText(str(path))
        return path

    # --- running ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._op is not None

    @property
    def current_op(self) -> Op | None:
        """The running export's operation (its signals report progress and the outcome)."""
        return self._op

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def _job(self, path: Path) -> Callable[[OpContext], ExportResult]:
        """The work for the worker thread, bound to plain values read from the fields now."""
        call: Callable[..., ExportResult]
        fmt, delimiter = self.fmt, self.options.delimiter
        request = self.request_edit.text() if self.request_edit else ""
        if self.filters is None:
            assert self._patient_id is not None
            document = record_exports.document_format(path, fmt)
            if document is not None:
                # A bundle or a PDF is one short write: no per-row progress or cancel.
                export = partial(
                    record_exports.export_record, self._clinic, self._actor, self._patient_id,
                    path, document, all_visits=self.options.include_all_visits,
                    render_pdf=write_history_pdf,
                    patient_request=request,
                )  # fmt: skip
                return lambda _ctx: export()
            call = partial(
                exports.export_history, self._clinic, self._actor, self._patient_id, path, fmt,
                delimiter=delimiter, all_visits=self.options.include_all_visits,
                patient_request=request,
            )  # fmt: skip
        else:
            flt = self.filters.value()
            call = partial(
                exports.export_appointments, self._clinic, self._actor, flt, path, fmt,
                delimiter=delimiter,
            )  # fmt: skip

        def run(ctx: OpContext) -> ExportResult:
            return call(progress=ctx.report, should_cancel=lambda: ctx.cancelled)

        return run

    def on_export(self) -> None:
        if self.running:
            return
        self.show_error("")
        if self.request_edit is not None and not self.request_edit.text().strip():
            # Said here, with what to do, before the service's refusal (it says only why).
            self.show_error(
                "Type the patient's request first (who asked, and how): the front desk "
                "exports a history only at the patient's own request."
            )
            self.request_edit.setFocus()
            return
        path = self.target_path()
        if path is None:
            return
        if path.exists() and not self._confirm_replace(path):
            return
        self._set_running(True)
        self.panel.start()
        self._op = self._ops.run(
            self._job(path),
            label=self.windowTitle(),
            on_success=self.on_export_succeeded,
            on_failure=self.on_export_failed,
            on_progress=self.on_progress,
            on_cancelled=self.on_export_cancelled,
        )

    def _confirm_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace file?",
            f"{path.name} already exists in {path.parent}. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _set_running(self, running: bool) -> None:
        for widget in self._inputs:
            widget.setEnabled(not running)
        if not running:
            self.options.follow_format(self.fmt)
        self.export_button.setEnabled(not running)
        self.close_button.setEnabled(True)
        self.close_button.setText("Cancel" if running else "Close")
        if running:
            self.close_button.setFocus()

    def on_progress(self, done: int, total: int, _text: str = "") -> None:
        self.panel.show_progress(done, total)

    def on_export_succeeded(self, result: ExportResult) -> None:
        self._op = None
        self._set_running(False)
        if self.fmt == "csv":
            self.options.remember()
        self.panel.show_done(result)
        self.export_finished.emit(result)

    def on_export_failed(self, err: BaseException) -> None:
        self._op = None
        self._set_running(False)
        self.panel.clear()
        message = user_message(err)
        self.show_error(message)
        self.export_failed.emit(message)

    def on_export_cancelled(self) -> None:
        self._op = None
        self._set_running(False)
        self.panel.show_cancelled()
        self.export_cancelled.emit()

    def cancel_export(self) -> None:
        """Ask the running export to stop; the dialog stays until it has."""
        if self._op is not None:
            self._op.cancel()
            self.close_button.setEnabled(False)
            self.close_button.setText("Cancelling…")
            self.panel.show_cancelling()

    @property
    def export_result(self) -> ExportResult | None:
        """The last export completed in this dialog, or None."""
        return self.panel.result

    # --- closing ---------------------------------------------------------------------

    def reject(self) -> None:
        # Escape or Cancel while exporting stops the export instead of hiding it.
        if self.running:
            self.cancel_export()
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            self.cancel_export()
            event.ignore()
            return
        super().closeEvent(event)


def _open_dialog(dialog: ExportDialog) -> None:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()


def export_history(
    parent: QWidget, clinic: Clinic, actor: Actor, ops: Operations, patient_id: int
) -> None:
    """Open the dialog that exports a patient's full history (window-modal, returns at once).

    The service checks access: a patient may export only their own history, a
    doctor only their patients'; a refusal is shown in the dialog.
    """
    _open_dialog(ExportDialog(parent, clinic, actor, ops, kind="history", patient_id=patient_id))


def export_appointments(
    parent: QWidget,
    clinic: Clinic,
    actor: Actor,
    ops: Operations,
    flt: AppointmentFilter | None = None,
) -> None:
    """Open the dialog that exports appointments (date range, doctor, department, status).

    ``flt`` pre-fills the fields (e.g. from the list the user is looking at). Only
    the front desk and administrators may export; others see the refusal.
    """
    _open_dialog(ExportDialog(parent, clinic, actor, ops, kind="appointments", flt=flt))
