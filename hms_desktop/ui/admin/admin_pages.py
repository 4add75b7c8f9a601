"""The Admin tab's lists: doctors, departments and patients.

Each page is a table over plain service rows with a small action bar; every
write goes through a form dialog or a service call on the operation helper, and
the page reloads when the clinic announces a change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import departments, doctors, patients
from hms_desktop.services.views import DepartmentRow, DoctorRow, PatientRow
from hms_desktop.ui.admin.doctor_form import DepartmentDialog, DoctorFormDialog
from hms_desktop.ui.admin.patient_form import GENDER_LABELS, PatientFormDialog
from hms_desktop.ui.common.forms import SearchBox, TypingGoesToSearch
from hms_desktop.ui.common.layout import fit_key_columns, heading, make_table, show_after
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import (
    Column,
    PagedTableModel,
    RowTableModel,
    sort_filter_proxy,
    source_row,
)


class ListPage(QWidget):
    """A title, an action bar, a filter box and a table. Subclasses fill the model."""

    #: Shown in the main window's status bar.
    status_message = Signal(str)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, title: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.ops = clinic, actor, ops
        self.loaded_once = False
        self.table: QTableView = make_table(self)
        self.table.doubleClicked.connect(lambda _index: self.on_activate())
        self.table.activated.connect(lambda _index: self.on_activate())
        self.bar = QHBoxLayout()
        self.bar.setSpacing(8)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("muted")
        top = QHBoxLayout()
        top.addWidget(heading(title, self))
        top.addStretch(1)
        top.addWidget(self.count_label)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(20, 16, 20, 16)
        self.layout_.setSpacing(10)
        self.layout_.addLayout(top)
        self.layout_.addLayout(self.bar)
        self.layout_.addWidget(self.table, 1)

    def add_button(self, text: str, slot: Callable[[], object], tip: str = "") -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        self.bar.addWidget(button)
        return button

    def selected(self) -> Any:
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isSelected(index):
            return None
        return source_row(index)

    def refresh(self) -> None:
        """Reload the rows from the services."""
        raise NotImplementedError

    def on_activate(self) -> None:
        """Enter or double-click on a row (edit, by default)."""

    def _failed(self, label: str, err: BaseException) -> None:
        show_error(self, label, err)

    def run(self, label: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self.ops.run(
            lambda _ctx: work(),
            label=label,
            on_success=done,
            on_failure=functools.partial(self._failed, label),
        )

    def toggle_blacklist(
        self, label: str, set_blacklisted: Callable[[Clinic, Actor, int, bool], None]
    ) -> None:
        """Blacklist the selected doctor or patient, or reinstate one (it is reversible)."""
        row = self.selected()
        if row is None:
            return
        clinic, actor, flag = self.clinic, self.actor, not row.blacklisted
        word = "blacklisted" if flag else "reinstated"
        self.run(
            label,
            lambda: set_blacklisted(clinic, actor, row.id, flag),
            lambda _r: self.status_message.emit(f"{row.full_name} {word}."),
        )


class DoctorsPage(ListPage):
    """Doctors with their department and log-in; add, edit, blacklist or reinstate."""

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(clinic, actor, ops, "Doctors", parent)
        self.model: RowTableModel[DoctorRow] = RowTableModel(
            [
                Column("ID", lambda d: d.id, align_right=True),
                Column("Name", lambda d: d.full_name),
                Column("Department", lambda d: d.department),
                Column("Qualification", lambda d: d.qualification),
                Column("Email", lambda d: d.email),
                Column("Phone", lambda d: d.phone),
                Column("Log-in", lambda d: d.username),
                Column("Status", lambda d: "Blacklisted" if d.blacklisted else "Active"),
            ],
            self,
            muted=lambda d: d.blacklisted,
        )
        self.proxy = sort_filter_proxy(self.model, self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        # Phone numbers whole, and the last columns (Log-in, Status) on screen at 1280.
        for column, width in enumerate((52, 180, 140, 120, 170, 150, 100)):
            self.table.setColumnWidth(column, width)
        fit_key_columns(self.table)
        show_after(self.table, 7, 1)  # Status beside the name: on screen in a narrow window
        show_after(self.table, 5, 7)  # and the phone number whole beside it, at 1024 too
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # by name, as Patients
        self.filter = SearchBox("Filter doctors by any column", self, delay_ms=80)
        self.filter.search.connect(self.proxy.setFilterFixedString)
        self.add_button("&Add doctor…", self.on_add, "Add a doctor with a log-in account")
        self.edit_button = self.add_button("&Edit…", self.on_activate)
        self.blacklist_button = self.add_button("&Blacklist", self.on_blacklist)
        self.bar.addStretch(1)
        self.bar.addWidget(self.filter, 1)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._departments: list[DepartmentRow] = []
        self._on_selection()

    def refresh(self) -> None:
        clinic = self.clinic
        self.run(
            "Load doctors",
            lambda: (doctors.list_doctors(clinic), departments.list_departments(clinic)),
            self._on_loaded,
        )

    def _on_loaded(self, value: tuple[list[DoctorRow], list[DepartmentRow]]) -> None:
        rows, self._departments = value
        self.model.set_rows(rows)
        self.loaded_once = True
        self.count_label.setText(f"{len(rows)} doctors")
        self._on_selection()

    @Slot()
    def _on_selection(self, *_args: QItemSelection) -> None:
        row = self.selected()
        self.edit_button.setEnabled(row is not None)
        self.blacklist_button.setEnabled(row is not None)
        self.blacklist_button.setText(
            "&Reinstate" if row is not None and row.blacklisted else "&Blacklist"
        )

    def on_add(self) -> None:
        self._open(None)

    def on_activate(self) -> None:
        row = self.selected()
        if row is not None:
            self._open(row)

    def _open(self, row: DoctorRow | None) -> None:
        dialog = DoctorFormDialog(self.clinic, self.actor, self.ops, self._departments, row, self)
        dialog.saved.connect(lambda _id: self.status_message.emit("Doctor saved."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def on_blacklist(self) -> None:
        self.toggle_blacklist("Blacklist doctor", doctors.set_blacklisted)


class DepartmentsPage(ListPage):
    """Departments with how many doctors take bookings in each; add or rename."""

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(clinic, actor, ops, "Departments", parent)
        self.model: RowTableModel[DepartmentRow] = RowTableModel(
            [
                Column("Name", lambda d: d.name),
                Column("Doctors", lambda d: d.doctor_count, align_right=True),
                Column("Description", lambda d: " ".join(d.description.split())),
            ],
            self,
        )
        self.proxy = sort_filter_proxy(self.model, self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 90)
        fit_key_columns(self.table)
        self.add_button("&Add department…", lambda: self._open(None))
        self.rename_button = self.add_button("Re&name…", self.on_activate)
        self.bar.addStretch(1)

    def refresh(self) -> None:
        clinic = self.clinic
        self.run("Load departments", lambda: departments.list_departments(clinic), self._on_loaded)

    def _on_loaded(self, rows: list[DepartmentRow]) -> None:
        self.model.set_rows(rows)
        self.loaded_once = True
        self.count_label.setText(f"{len(rows)} departments")

    def on_activate(self) -> None:
        row = self.selected()
        if row is not None:
            self._open(row)

    def _open(self, row: DepartmentRow | None) -> None:
        dialog = DepartmentDialog(self.clinic, self.actor, self.ops, row, self)
        dialog.saved.connect(lambda _id: self.status_message.emit("Department saved."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()


PATIENT_COLUMNS: list[Column[PatientRow]] = [
    Column("ID", lambda p: p.id, align_right=True),
    Column("Name", lambda p: p.full_name),
    Column("Born", lambda p: p.date_of_birth),
    Column("Gender", lambda p: GENDER_LABELS.get(p.gender, p.gender) if p.gender else ""),
    Column("Phone", lambda p: p.phone),
    Column("Email", lambda p: p.email),
    Column("Status", lambda p: "Blacklisted" if p.blacklisted else ""),
]


class PatientsPage(ListPage):
    """Search as you type by name, surname, id or phone; register, edit, blacklist."""

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(clinic, actor, ops, "Patients", parent)
        self.search = SearchBox("Find a patient by name, ID or phone (Ctrl+F)", self, delay_ms=150)
        self.search.search.connect(lambda _text: self.refresh())
        TypingGoesToSearch(self.table, self.search)  # no type-ahead switching the patient
        self.model: PagedTableModel[PatientRow] = PagedTableModel(
            PATIENT_COLUMNS, self._fetch, page_size=100, parent=self, muted=lambda p: p.blacklisted
        )
        self.model.fetch_failed.connect(lambda err: show_error(self, "Search patients", err))
        # Rows come back in name order from an indexed query; the table keeps that order.
        self.table.setModel(self.model)
        # Who (name, born, phone) sizes to its text; the email, last, starts narrow and
        # stretches over what is left, so at 1024 pixels the list does not scroll sideways.
        for column, width in enumerate((70, 240, 100, 80, 150, 100)):
            self.table.setColumnWidth(column, width)
        fit_key_columns(self.table)
        show_after(self.table, 6, 1)  # "Blacklisted" beside the name, never off screen
        self.add_button("&Register patient…", self.on_register, "Register a new patient (Ctrl+N)")
        self.edit_button = self.add_button("&Edit…", self.on_activate)
        self.blacklist_button = self.add_button("&Blacklist", self.on_blacklist)
        self.bar.addStretch(1)
        self.bar.addWidget(self.search, 2)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._on_selection()

    def _fetch(self, offset: int, limit: int) -> list[PatientRow]:
        return patients.search_patients(
            self.clinic, self.actor, self.search.text(), limit=limit, offset=offset
        )

    def refresh(self) -> None:
        self.model.reload()
        self.loaded_once = True
        n = self.model.rowCount()
        more = "+" if self.model.canFetchMore() else ""
        text = self.search.text().strip()
        self.count_label.setText(
            f"{n}{more} matching “{text}”" if text else f"{n}{more} patients, by name"
        )
        self._on_selection()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot()
    def _on_selection(self, *_args: QItemSelection) -> None:
        row = self.selected()
        self.edit_button.setEnabled(row is not None)
        self.blacklist_button.setEnabled(row is not None)
        self.blacklist_button.setText(
            "&Reinstate" if row is not None and row.blacklisted else "&Blacklist"
        )

    def on_register(self) -> PatientFormDialog:
        dialog = PatientFormDialog(self.clinic, self.actor, self.ops, None, parent=self)
        dialog.saved.connect(self._on_registered)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_registered(self, patient_id: int) -> None:
        self.status_message.emit(f"Patient {patient_id} registered.")
        # Show the new patient at once: search by their id.
        self.search.setText(str(patient_id))
        self.refresh()

    def open_patient(self, patient_id: int) -> None:
        """Find ``patient_id`` in the list and open their record to edit (from the Jobs page,
        to fix an address)."""
        self.search.setText(str(patient_id))
        self.refresh()
        clinic, actor = self.clinic, self.actor
        self.run(
            "Open patient", lambda: patients.get_patient(clinic, actor, patient_id), self._edit
        )

    def on_activate(self) -> None:
        row: PatientRow | None = self.selected()
        if row is None:
            return
        clinic, actor = self.clinic, self.actor
        # The search rows lack the log-in name; fetch the full profile first.
        self.run("Open patient", lambda: patients.get_patient(clinic, actor, row.id), self._edit)

    def _edit(self, row: PatientRow) -> None:
        dialog = PatientFormDialog(self.clinic, self.actor, self.ops, row, parent=self)
        dialog.saved.connect(lambda _id: self.status_message.emit("Patient saved."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def on_blacklist(self) -> None:
        self.toggle_blacklist("Blacklist patient", patients.set_blacklisted)
