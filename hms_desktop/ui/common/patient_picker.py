"""Find a patient as you type (by name, surname, id or phone) so the desk can act for them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, title_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import Column, RowTableModel

#: Typing pauses this long before a search runs, so fast typists cause one query, not ten.
SEARCH_DELAY_MS = 200
RESULT_LIMIT = 50


def patient_columns() -> list[Column[PatientRow]]:
    """Name (contact details as tooltip), year of birth and id: two patients of one name
    are told apart at a glance."""
    return [
        Column(
            "Patient",
            lambda p: p.full_name,
            tooltip=lambda p: " · ".join(x for x in (p.phone, p.email) if x),
        ),
        Column(
            "Born",
            lambda p: p.date_of_birth,
            text=lambda p: f"{p.date_of_birth:%Y}" if p.date_of_birth else "",
            tooltip=lambda p: f"{p.date_of_birth:%d %B %Y}" if p.date_of_birth else "",
        ),
        Column("ID", lambda p: p.id, align_right=True),
    ]


class PatientPicker(QWidget):
    """A search field over a result list. ``patient_chosen`` fires when one is selected."""

    patient_chosen = Signal(object)  # PatientRow
    #: A search finished and its results are shown.
    results_shown = Signal()

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._generation = 0
        #: The search whose results are on screen (behind ``_generation`` while one runs).
        self._shown_generation = 0
        #: Enter or Down came while a search was pending: choose its first result.
        self._choose_when_shown = False
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Name, ID or phone…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find patient")
        self.search.textChanged.connect(self._on_text_changed)
        self.search.returnPressed.connect(self._choose_first)
        self.search.installEventFilter(self)
        self.model: RowTableModel[PatientRow] = RowTableModel(patient_columns(), self)
        self.results = EmptyStateTable(self.model, "Searching…", self)
        self.results.view.setAccessibleName("Patients found")
        self.results.stretch_column(0)
        self.results.set_column_widths({1: 64, 2: 56})
        self.results.view.selectionModel().currentRowChanged.connect(self._on_current)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.run_search)

        label = QLabel("F&ind patient", self)
        label.setBuddy(self.search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addWidget(title_label("Patients", self, size_delta=2))
        layout.addWidget(label)
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        self.setFocusProxy(self.search)

    def run_search(self) -> None:
        """Search now for the field's text (normally the typing timer calls this)."""
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        clinic, actor, text = self._clinic, self._actor, self.search.text()
        self._ops.run(
            lambda ctx: (
                generation,
                patients.search_patients(clinic, actor, text, limit=RESULT_LIMIT),
            ),
            label="Searching patients",
            on_success=self._on_results,
            on_failure=self._on_failed,
        )

    def current_patient(self) -> PatientRow | None:
        """The patient chosen in the results, or None."""
        return self.model.row_at(self.results.view.currentIndex().row())

    def _on_text_changed(self) -> None:
        self._timer.start()

    def _on_results(self, result: tuple[int, list[PatientRow]]) -> None:
        generation, rows = result
        if generation != self._generation:
            return  # the text changed again; a newer search is coming
        self._shown_generation = generation
        self.results.set_empty_text(
            f"No patient matches “{self.search.text().strip()}”."
            if self.search.text().strip()
            else "No patients registered yet."
        )
        keep = self.current_patient()
        self.model.set_rows(rows)
        if keep is not None:
            for i, row in enumerate(rows):
                if row.id == keep.id:
                    self.results.view.setCurrentIndex(self.model.index(i, 0))
        if self._choose_when_shown:
            self._choose_when_shown = False
            self._choose_first()
        self.results_shown.emit()

    def _on_failed(self, err: BaseException) -> None:
        self._choose_when_shown = False
        self._shown_generation = self._generation  # the failure is the latest answer
        self.model.set_rows([])
        self.results.set_empty_text(field_message(err)[1])
        self.results_shown.emit()

    def _on_current(self) -> None:
        row = self.current_patient()
        if row is not None:
            self.patient_chosen.emit(row)

    def search_pending(self) -> bool:
        """True while the list on screen is not yet the answer to the field's text."""
        return self._timer.isActive() or self._shown_generation != self._generation

    def _choose_first(self) -> None:
        if self.search_pending():
            # The list on screen answers an older text: choosing from it would pick the
            # wrong patient. Search now, and choose once the answer is shown.
            self._choose_when_shown = True
            if self._timer.isActive():
                self.run_search()
            return
        if self.model.rowCount():
            self.results.view.setCurrentIndex(self.model.index(0, 0))
            self.results.view.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down arrow in the search field walks into the results, like a combo box.
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and (self.model.rowCount() or self.search_pending())
        ):
            self._choose_first()
            return True
        return super().eventFilter(watched, event)
