"""Choose which doctors the book shows: a checkable list with a search, by keyboard.

Type to narrow the list, Down to reach it, Space to tick a doctor, Enter to show them.
The choice is this PC's preference (the settings file, never the clinic database):
each desk keeps the doctors it books for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop import config
from hms_desktop.errors import HmsError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import doctors
from hms_desktop.services.views import DoctorRow
from hms_desktop.ui.common.forms import TypingGoesToSearch
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING
from hms_desktop.ui.common.operations import user_message

if TYPE_CHECKING:
    from hms_desktop.ui.booking.book.view import BookView

log = logging.getLogger(__name__)


def remembered_doctors(clinic: Clinic) -> list[int] | None:
    """The doctors this PC's book shows (None: every doctor). A hand-edited value that
    is not a list of ids counts as none chosen."""
    text = clinic.pc.book_doctors.strip()
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()] or None
    except ValueError:
        return None


def remember_doctors(clinic: Clinic, doctor_ids: Sequence[int] | None) -> None:
    """Keep the choice for this PC (a failure to write the file only logs)."""
    text = ",".join(str(i) for i in doctor_ids) if doctor_ids else ""
    if text == clinic.pc.book_doctors:
        return
    clinic.pc = clinic.pc.replace(book_doctors=text)
    try:
        config.save_preferences(book_doctors=text)
    except (OSError, HmsError) as err:
        log.warning("could not remember the book's doctors: %s", err)


def chosen_text(doctor_ids: Sequence[int] | None) -> str:
    """What the toolbar button says."""
    if not doctor_ids:
        return "Do&ctors: all"
    return f"Do&ctors: {len(doctor_ids)} chosen"


class DoctorPicker(QDialog):
    """``chosen()`` after Accept: the ticked doctors' ids, or None for every doctor."""

    def __init__(
        self, rows: Sequence[DoctorRow], chosen: Sequence[int] | None, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Doctors in the book")
        self.setObjectName("bookDoctorPicker")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Find a doctor or department")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find a doctor")
        self.list = QListWidget(self)
        # Letters (and Backspace) go on into the search, as in the patient finder; Space
        # stays with the list, where it ticks the current doctor.
        TypingGoesToSearch(self.list, self.search, kept=(Qt.Key.Key_Space,))
        self.list.setAccessibleName("Doctors")
        ticked = set(chosen or ())
        for row in rows:
            item = QListWidgetItem(f"{row.full_name} — {row.department}", self.list)
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if row.id in ticked else Qt.CheckState.Unchecked
            )
        hint = QLabel("Type to narrow, Down to the list, Space ticks, Enter shows them.", self)
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Show these")
        self.all_button = QPushButton("Every doctor", self)
        buttons.addButton(self.all_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.all_button.clicked.connect(self.clear_ticks)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.search.textChanged.connect(self._narrow)
        self.search.returnPressed.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(420, 460)
        self.search.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Down in the search field goes to the first doctor shown.
        if event.key() == Qt.Key.Key_Down and self.search.hasFocus():
            self.list.setFocus()
            shown = self.shown_items()
            if shown and self.list.currentItem() not in shown:
                self.list.setCurrentItem(shown[0])
            return
        super().keyPressEvent(event)

    def _narrow(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def shown_items(self) -> list[QListWidgetItem]:
        """The doctors the search leaves in the list."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item for item in items if not item.isHidden()]

    def clear_ticks(self) -> None:
        """No doctor ticked: the book shows every doctor."""
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(Qt.CheckState.Unchecked)

    def chosen(self) -> list[int] | None:
        """The ticked doctors' ids in list order; None when none is ticked (every doctor)."""
        ids = [
            int(self.list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]
        return ids or None


def choose_for(view: BookView) -> None:
    """Ask which doctors to show (the list is read off the UI thread first)."""
    clinic = view.clinic
    view.ops.run(
        lambda _ctx: doctors.list_doctors(clinic),
        label="Load doctors",
        on_success=lambda rows: _open(view, rows),
        on_failure=lambda err: view.say(user_message(err)),
    )


def _open(view: BookView, rows: list[DoctorRow]) -> None:
    dialog = DoctorPicker(rows, view.doctor_ids, view)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    view.doctor_picker = dialog

    def done(result: int) -> None:
        view.doctor_picker = None
        if result == QDialog.DialogCode.Accepted:
            chosen = dialog.chosen()
            remember_doctors(view.clinic, chosen)
            view.set_doctors(chosen)
        view.table.setFocus()

    dialog.finished.connect(done)
    dialog.open()
