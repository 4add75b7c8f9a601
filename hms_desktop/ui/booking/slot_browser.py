"""Departments, their doctors, and their free slots up to the booking horizon, side by side."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QVBoxLayout, QWidget

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import departments, doctors
from hms_desktop.services.scheduling import availability
from hms_desktop.services.views import DepartmentRow, DoctorRow, Slot
from hms_desktop.ui.booking.slot_picker import SlotPicker
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, action_button, title_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import Column, RowTableModel

#: Above and below a department name wrapped onto more lines than a row's usual height holds.
WRAPPED_ROW_PADDING = 8


def _department_tip(row: DepartmentRow) -> str:
    count = f"{row.doctor_count} doctor{'s' if row.doctor_count != 1 else ''}"
    return f"{count} · {row.description}" if row.description else count


@dataclass(frozen=True)
class DoctorChoice:
    """A line of the doctors list; ``doctor`` is None for "all doctors of the department"."""

    doctor: DoctorRow | None
    free: int

    @property
    def name(self) -> str:
        return self.doctor.full_name if self.doctor else "All doctors"


class SlotBrowser(QWidget):
    """Pick a department, optionally a doctor, then a slot; ``book_requested`` asks to book it."""

    book_requested = Signal(object, object)  # Slot, DoctorRow
    departments_loaded = Signal()
    slots_loaded = Signal()

    def __init__(
        self, clinic: Clinic, ops: Operations, book_action: QAction, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._ops = clinic, ops
        self._generation = 0
        #: The department load whose doctors and slots are shown.
        self._shown_generation = 0
        self._slots: list[Slot] = []
        self._doctors: dict[int, DoctorRow] = {}
        self.departments_model: RowTableModel[DepartmentRow] = RowTableModel(
            [
                # The name alone: beside the doctors and the finder a 1024-pixel window
                # has no room for a count too (the doctors are listed beside it anyway).
                Column("Department", lambda d: d.name, tooltip=_department_tip),
            ],
            self,
        )
        self.departments = EmptyStateTable(self.departments_model, "Loading departments…", self)
        self.departments.view.setAccessibleName("Departments")
        self.departments.stretch_column(0)
        # A long name ("Physical Medicine and Rehabilitation") wraps onto a second line of
        # its row rather than being cut to "Physical Medicine and Reh…".
        self.departments.view.setWordWrap(True)
        self.departments.view.setTextElideMode(Qt.TextElideMode.ElideNone)
        # By pixels: by rows, a taller last row stayed cut at the bottom of the list.
        self.departments.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Measured once the view has its new width (a resize reaches the columns after
        # the viewport's own event).
        self._fit_rows_later = QTimer(self)
        self._fit_rows_later.setSingleShot(True)
        self._fit_rows_later.setInterval(0)
        self._fit_rows_later.timeout.connect(self._fit_department_rows)
        self.departments_model.modelReset.connect(self._fit_rows_later.start)
        self.departments.view.viewport().installEventFilter(self)
        self.departments.view.selectionModel().currentRowChanged.connect(self._load_department)
        self.doctors_model: RowTableModel[DoctorChoice] = RowTableModel(
            [
                Column(
                    "Doctor",
                    lambda c: c.name,
                    tooltip=lambda c: c.doctor.qualification if c.doctor else "",
                ),
                Column("Free slots", lambda c: c.free, align_right=True),
            ],
            self,
        )
        self.doctors = EmptyStateTable(self.doctors_model, "Choose a department.", self)
        self.doctors.view.setAccessibleName("Doctors")
        self.doctors.stretch_column(0)
        self.doctors.grow_to_contents()
        self.doctors.view.selectionModel().currentRowChanged.connect(self._show_slots)
        self.slot_picker = SlotPicker(self, empty_text="Choose a department to see free slots.")
        self.slot_picker.slot_chosen.connect(lambda _slot: book_action.trigger())
        self.book_button = action_button(book_action, self)

        def column(title: str, widget: QWidget, stretch: int) -> QVBoxLayout:
            box = QVBoxLayout()
            box.setSpacing(SPACING)
            box.addWidget(title_label(title, self, size_delta=2))
            box.addWidget(widget, stretch)
            return box

        slots_box = column("Free slots", self.slot_picker, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.book_button)
        slots_box.addLayout(actions)
        # Departments and doctors side by side above the slots: beside the slots they took
        # the width the patient finder needs next to them (name, born, phone) at 1024 px.
        choose = QHBoxLayout()
        choose.setSpacing(SPACING * 2)
        choose.addLayout(column("Departments", self.departments, 1), 1)
        choose.addLayout(column("Doctors", self.doctors, 1), 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING * 2)
        layout.addLayout(choose, 1)
        layout.addLayout(slots_box, 2)

    # --- API ---------------------------------------------------------------------------------
    def focus_chain(self) -> list[QWidget]:
        """Its widgets in keyboard order (the owner sets the order once it is laid out)."""
        picker = self.slot_picker
        return [
            self.departments.view,
            self.doctors.view,
            picker.day_filter,
            picker.table.view,
            self.book_button,
        ]

    def refresh(self) -> None:
        """Reload the departments (and then the chosen department's slots)."""
        clinic = self._clinic
        self._ops.run(
            lambda ctx: departments.list_departments(clinic),
            label="Loading departments",
            on_success=self._on_departments,
            on_failure=self._on_failed,
        )

    def reload_slots(self) -> None:
        """Reload the chosen department's doctors and free slots."""
        self._load_department()

    def current_slot(self) -> Slot | None:
        """The selected free slot, or None."""
        return self.slot_picker.current_slot()

    def doctor_of(self, slot: Slot) -> DoctorRow | None:
        """The doctor offering ``slot``."""
        return self._doctors.get(slot.doctor_id)

    def current_department(self) -> DepartmentRow | None:
        """The department whose doctors and slots are shown, or None."""
        return self._current_department()

    def is_loading(self) -> bool:
        """True while the doctors and slots shown are not yet the chosen department's."""
        return self._shown_generation != self._generation

    def select_department(self, name: str) -> bool:
        """Choose the department called ``name``; False if there is none."""
        for i, row in enumerate(self.departments_model.rows):
            if row.name == name:
                self.departments.view.setCurrentIndex(self.departments_model.index(i, 0))
                return True
        return False

    def select_doctor(self, doctor_id: int | None) -> bool:
        """Choose a doctor (None: all doctors of the department); False if not listed."""
        for i, choice in enumerate(self.doctors_model.rows):
            if (choice.doctor.id if choice.doctor else None) == doctor_id:
                self.doctors.view.setCurrentIndex(self.doctors_model.index(i, 0))
                return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.departments.view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_rows_later.start()
        return super().eventFilter(watched, event)

    def _fit_department_rows(self) -> None:
        """A name wrapped onto more lines gets a row tall enough for them; the others keep
        the usual height (so as many departments show as before in the little room)."""
        view = self.departments.view
        usual = view.verticalHeader().defaultSectionSize()
        for row in range(self.departments_model.rowCount()):
            view.setRowHeight(row, max(usual, view.sizeHintForRow(row) + WRAPPED_ROW_PADDING))
        # The chosen one wholly in view at its new height, once the view has laid the
        # new heights out (on its own zero timer, started by the first change above).
        QTimer.singleShot(0, self, self._show_current_department)

    def _show_current_department(self) -> None:
        view = self.departments.view
        if view.currentIndex().isValid():
            view.scrollTo(view.currentIndex())

    # --- loading -------------------------------------------------------------------------------
    def _on_departments(self, rows: list[DepartmentRow]) -> None:
        keep = self._current_department()
        self.departments.set_empty_text("No departments yet. An administrator adds them.")
        self.departments_model.set_rows(rows)
        index = next((i for i, r in enumerate(rows) if keep and r.id == keep.id), 0)
        if rows:
            # setCurrentIndex on an unchanged row emits nothing, so load explicitly.
            self.departments.view.setCurrentIndex(self.departments_model.index(index, 0))
            self._load_department()
        self.departments_loaded.emit()

    def _current_department(self) -> DepartmentRow | None:
        return self.departments_model.row_at(self.departments.view.currentIndex().row())

    def _load_department(self) -> None:
        dept = self._current_department()
        if dept is None:
            return
        self._generation += 1
        generation, clinic, dept_id = self._generation, self._clinic, dept.id
        self.slot_picker.set_empty_text("Loading free slots…")
        self._ops.run(
            lambda ctx: (
                generation,
                doctors.list_doctors(clinic, department_id=dept_id, include_blacklisted=False),
                availability.free_slots_by_department(clinic, dept_id),
            ),
            label="Loading free slots",
            on_success=self._on_department,
            on_failure=self._on_failed,
        )

    def _on_department(self, result: tuple[int, list[DoctorRow], list[Slot]]) -> None:
        generation, doctor_rows, slots = result
        if generation != self._generation:
            return  # the user moved on to another department
        self._shown_generation = generation
        keep = self.doctors_model.row_at(self.doctors.view.currentIndex().row())
        keep_id = keep.doctor.id if keep and keep.doctor else None
        self._doctors = {d.id: d for d in doctor_rows}
        self._slots = slots
        choices = [DoctorChoice(None, len(slots))] if doctor_rows else []
        choices += [DoctorChoice(d, sum(s.doctor_id == d.id for s in slots)) for d in doctor_rows]
        self.doctors.set_empty_text("No doctor of this department takes bookings.")
        self.doctors_model.set_rows(choices)
        if not self.select_doctor(keep_id):
            self.select_doctor(None)
        self._show_slots()
        self.slots_loaded.emit()

    def _on_failed(self, err: BaseException) -> None:
        self._shown_generation = self._generation  # the failure is the latest answer
        self.slot_picker.clear(field_message(err)[1])

    def _show_slots(self) -> None:
        choice = self.doctors_model.row_at(self.doctors.view.currentIndex().row())
        doctor = choice.doctor if choice else None
        shown = [s for s in self._slots if doctor is None or s.doctor_id == doctor.id]
        who = doctor.full_name if doctor else "this department"
        self.slot_picker.set_empty_text(f"No free slots for {who} up to the booking horizon.")
        self.slot_picker.set_slots(
            shown, {i: d.full_name for i, d in self._doctors.items()}, self._clinic.today()
        )
