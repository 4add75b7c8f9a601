"""Find a patient as you type (by name, surname, id or phone) so the desk can act for them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.dates import birth_text
from hms_desktop.ui.common.forms import TypingGoesToSearch
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, title_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.patient_text import patient_text
from hms_desktop.ui.common.table_models import Column, RowTableModel

#: Typing pauses this long before a search runs, so fast typists cause one query, not ten.
SEARCH_DELAY_MS = 200
RESULT_LIMIT = 50
TYPE_TO_SEARCH = "Type a name, ID or phone number to find a patient."
#: The line under a finder while nobody is chosen.
NONE_CHOSEN = "Chosen: nobody yet"


def patient_columns() -> list[Column[PatientRow]]:
    """Name (contact details as tooltip), year of birth, phone and id: two patients of one
    name are told apart at a glance."""
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
            tooltip=lambda p: birth_text(p.date_of_birth) if p.date_of_birth else "",
        ),
        Column("Phone", lambda p: p.phone),
        Column("ID", lambda p: p.id, align_right=True),
    ]


class PatientPicker(QWidget):
    """A search field over a result list.

    Choosing is explicit: Enter in the field takes the first result (with
    ``enter_takes_first=False``, as in a dialog with more to fill in, it only moves to
    the first result), Enter or a click on a row takes that row; arrow keys only move
    the highlight. Letters typed while the
    list has the focus go on into the search field (no type-ahead in the list, which
    would silently switch to whichever name starts with them).
    """

    #: A patient was chosen: (PatientRow, from_search_field: Enter in the field chose it).
    patient_chosen = Signal(object, bool)
    #: The person edited the search: what is on screen no longer answers who is chosen.
    choice_dropped = Signal()
    #: A search finished and its results are shown.
    results_shown = Signal()

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        parent: QWidget | None = None,
        *,
        enter_takes_first: bool = True,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._enter_takes_first = enter_takes_first
        self._generation = 0
        #: The search whose results are on screen (behind ``_generation`` while one runs).
        self._shown_generation = 0
        #: Enter ("choose") or Down ("highlight") came while a search was pending: do it
        #: to the first result of the answer, not of the list still on screen.
        self._when_shown: str | None = None
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Name, ID or phone…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find patient")
        self.search.textChanged.connect(self._on_text_changed)
        self.search.textEdited.connect(lambda _text: self.choice_dropped.emit())
        self.search.returnPressed.connect(self._on_enter_in_field)
        self.search.installEventFilter(self)
        self.model: RowTableModel[PatientRow] = RowTableModel(patient_columns(), self)
        # Nothing is searched until the person types (or the owner runs a search).
        self.results = EmptyStateTable(self.model, TYPE_TO_SEARCH, self)
        self.results.view.setAccessibleName("Patients found")
        self.results.stretch_column(0)
        # The phone number sizes to its text: a cut number tells nobody apart.
        self.results.set_column_widths({1: 64, 3: 56})
        # No type-ahead in the list: the letters go on into the search.
        TypingGoesToSearch(self.results.view, self.search).typed.connect(self.choice_dropped)
        self.results.activated.connect(self._choose_index)
        self.results.view.clicked.connect(self._choose_index)
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
        self.results.set_empty_text("Searching…")  # true now: a search is running
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
        """The highlighted result (not necessarily chosen), or None."""
        return self.model.row_at(self.results.view.currentIndex().row())

    def focus_search(self) -> None:
        """The cursor in the search field with its text selected, ready to type over."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

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
                    self.results.select_row(i)
        pending, self._when_shown = self._when_shown, None
        if pending == "choose":
            self._choose_first()
        elif pending == "highlight":
            self._highlight_first()
        self.results_shown.emit()

    def _on_failed(self, err: BaseException) -> None:
        self._when_shown = None
        self._shown_generation = self._generation  # the failure is the latest answer
        self.model.set_rows([])
        self.results.set_empty_text(field_message(err)[1])
        self.results_shown.emit()

    def _choose_index(self, index: QModelIndex) -> None:
        row = self.model.row_at(self.results.row_of(index))
        if row is not None:
            self.patient_chosen.emit(row, False)

    def search_pending(self) -> bool:
        """True while the list on screen is not yet the answer to the field's text."""
        return self._timer.isActive() or self._shown_generation != self._generation

    def _wait_for_answer(self, then: str) -> bool:
        """True if the list on screen answers an older text: ``then`` runs on the answer."""
        if not self.search_pending():
            return False
        # Choosing from the old list would pick the wrong patient: search now instead.
        self._when_shown = then
        if self._timer.isActive():
            self.run_search()
        return True

    def _on_enter_in_field(self) -> None:
        if self._enter_takes_first:
            self._choose_first()
        else:
            self._highlight_first()

    def _choose_first(self) -> None:
        if self._wait_for_answer("choose") or not self.model.rowCount():
            return
        self.results.select_row(0)
        self.patient_chosen.emit(self.model.rows[0], True)

    def _highlight_first(self) -> None:
        if self._wait_for_answer("highlight") or not self.model.rowCount():
            return
        self.results.select_row(0)
        self.results.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down walks into the results, like a combo box (highlighting, not choosing).
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and (self.model.rowCount() or self.search_pending())
        ):
            self._highlight_first()
            return True
        return super().eventFilter(watched, event)


class ChosenPatientLabel(QLabel):
    """The line under a finder that says whom the dialog will act for: "Chosen: Anna
    Hoffmann (born 1987, #42)", or "Chosen: nobody yet". Wire it to the picker's
    ``patient_chosen`` and ``choice_dropped`` (or call :meth:`show_patient`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(NONE_CHOSEN, parent)
        self.setObjectName("chosenPatient")

    def show_patient(self, row: PatientRow | None) -> None:
        """Name ``row`` (year of birth and number too, for namesakes); None: nobody."""
        self.setText(
            f"Chosen: {patient_text(row.full_name, row.id, row.date_of_birth)}"
            if row is not None
            else NONE_CHOSEN
        )
