"""Small dialogs of the appointment book: choose a patient, and print or save a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import schedule
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.patient_picker import ChosenPatientLabel, PatientPicker
from hms_desktop.ui.exports.history_pdf import write_pdf_atomically

_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class PatientChoice(QDialog):
    """The patient finder in a dialog: type, Enter (or Down) to pick, Enter to take.

    An Enter that picks a patient (or a different one) only picks: the line under the
    list then says who it is, and the next Enter takes them. One Enter never both picks
    and books, so the desk always sees whom it books before it does.
    """

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Book for which patient?")
        self.setObjectName("bookPatientChoice")
        self.chosen: PatientRow | None = None
        #: Who was chosen when the Enter now being handled was pressed.
        self._chosen_before_enter: int | None = None
        self.picker = PatientPicker(clinic, actor, ops, self)
        self.picker.patient_chosen.connect(self._on_chosen)
        # Typing again: the list no longer shows the one chosen, so nobody stays chosen.
        self.picker.choice_dropped.connect(self._on_choice_dropped)
        for widget in (self.picker.search, self.picker.results.view):
            widget.installEventFilter(self)
        self.chosen_label = ChosenPatientLabel(self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("&Choose patient")
        self.ok.setEnabled(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.chosen_label)
        layout.addWidget(buttons)
        self.resize(520, 420)
        self.picker.setFocus()

    def _on_chosen(self, row: PatientRow) -> None:
        self.chosen = row
        self.chosen_label.show_patient(row)
        self.ok.setEnabled(True)
        self.ok.setDefault(True)

    def _on_choice_dropped(self) -> None:
        self.chosen = None
        self.chosen_label.show_patient(None)
        self.ok.setEnabled(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Seen before the finder handles the Enter; keyPressEvent gets it after (the
        # field and the list pass Enter on to the dialog).
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in _ENTER_KEYS
        ):
            self._chosen_before_enter = self.chosen.id if self.chosen else None
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _ENTER_KEYS and self.chosen is not None:
            chose_now = self.chosen.id != self._chosen_before_enter
            self._chosen_before_enter = self.chosen.id
            if chose_now:
                event.accept()  # this Enter picked them: the next one takes them
                return
        super().keyPressEvent(event)

    def accept(self) -> None:
        # Enter in the search field before any patient is picked only starts the search.
        if self.chosen is not None:
            super().accept()


def write_pdf(html: str, path: Path, *, title: str) -> None:
    """Write ``html`` to ``path`` as an A4 PDF; the file appears only when complete.

    Raises:
        OSError: the folder cannot be written.
    """
    document = QTextDocument()
    document.setHtml(html)
    write_pdf_atomically(path, document.print_, title)


def ask_series_cancel(parent: QWidget, text: str, on_yes: Callable[[bool], None]) -> QMessageBox:
    """Cancel one visit of a series or it and the later ones; ``on_yes(and_later)``."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Cancel visit", text, parent=parent)
    one = box.addButton("Cancel this visit", QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton("Cancel this and later visits", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)  # Enter must not cancel anything by accident
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished(_result: int) -> None:
        if box.clickedButton() in (one, later):
            on_yes(box.clickedButton() is later)

    box.finished.connect(finished)
    box.open()
    return box


def day_schedule_html(clinic: Clinic, actor: Actor, day: date, doctor_ids: list[int] | None) -> str:
    """The printable schedule of ``day`` (one doctor, some, or all).

    Raises:
        PermissionDeniedError: as the book.
    """
    rows = schedule.schedule_rows(clinic, actor, day, doctor_ids)
    return schedule.schedule_html(clinic, day, rows)


def show_conflicts(parent: QWidget, text: str, rows: list[tuple[str, str]]) -> QMessageBox:
    """Say that nothing changed and list each (when, why) that stood in the way."""
    listed = "\n".join(f"{when}: {why}" for when, why in rows)
    box = QMessageBox(QMessageBox.Icon.Information, "Not moved", f"{text}\n\n{listed}",
                      parent=parent)  # fmt: skip
    box.setObjectName("bookConflicts")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def visit_details(parent: QWidget, rows: list[tuple[str, str]]) -> QMessageBox:
    """A visit's details, read-only, in a small box (Enter or Esc closes it)."""
    text = "\n".join(f"{label}: {value}" for label, value in rows)
    box = QMessageBox(QMessageBox.Icon.NoIcon, "Visit", text, parent=parent)
    box.setObjectName("bookVisitDetails")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
