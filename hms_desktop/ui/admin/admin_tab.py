"""The Admin tab: a side bar of pages for the front desk and the administrator.

Pages load when first shown, and reload when the clinic announces a change that
concerns them (a booking, a registration, a new doctor...). The Jobs page shows
the background jobs and the outbox; the Audit log page is for administrators only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHBoxLayout, QListView, QStackedWidget, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.admin.admin_pages import DepartmentsPage, DoctorsPage, ListPage, PatientsPage
from hms_desktop.ui.admin.appointments_view import AppointmentsPage
from hms_desktop.ui.admin.dashboard import DashboardPage
from hms_desktop.ui.common.operations import Operations

if TYPE_CHECKING:
    from hms_desktop.jobs.scheduler import ClinicScheduler
    from hms_desktop.ui.admin.patient_form import PatientFormDialog

#: Which change topics each page shows.
PAGE_TOPICS = {
    "appointments": {"appointments", "patients", "doctors", "treatments"},
    "patients": {"patients"},
    "doctors": {"doctors", "departments"},
    "departments": {"departments", "doctors"},
}


class AdminTab(QWidget):
    """Dashboard, appointments, patients, doctors, departments, jobs (and the audit log)."""

    status_message = Signal(str)
    PAGES: tuple[str, ...] = ("dashboard", "appointments", "patients", "doctors", "departments")
    TITLES: tuple[str, ...] = ("Dashboard", "Appointments", "Patients", "Doctors", "Departments")

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        stats: StatsService,
        parent: QWidget | None = None,
        *,
        scheduler: ClinicScheduler | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops, self._scheduler = clinic, actor, ops, scheduler
        self.dashboard = DashboardPage(clinic, actor, ops, stats, self)
        self.appointments = AppointmentsPage(clinic, actor, ops, self)
        self.patients = PatientsPage(clinic, actor, ops, self)
        self.doctors = DoctorsPage(clinic, actor, ops, self)
        self.departments = DepartmentsPage(clinic, actor, ops, self)
        # The Jobs and Audit log pages are built when first opened: their code (and the
        # scheduler library) stays out of the window's start-up.
        self.jobs: Any = None
        self._pages: list[QWidget] = [
            self.dashboard,
            self.appointments,
            self.patients,
            self.doctors,
            self.departments,
            QWidget(self),
        ]
        self.PAGES = (*type(self).PAGES, "jobs")
        self.TITLES = (*type(self).TITLES, "Jobs")
        self.audit: Any = None
        self.users: Any = None
        if actor.is_admin:  # the audit log is for administrators only (the service checks too)
            self._pages.append(QWidget(self))
            self.PAGES = (*self.PAGES, "audit")
            self.TITLES = (*self.TITLES, "Audit log")
            self._pages.append(QWidget(self))  # accounts: administrators only, too
            self.PAGES = (*self.PAGES, "users")
            self.TITLES = (*self.TITLES, "Users")
        self._stale: set[str] = set()
        self.stack = QStackedWidget(self)
        nav_model = QStandardItemModel(self)
        for number, (page, title) in enumerate(zip(self._pages, self.TITLES, strict=True), 1):
            self.stack.addWidget(page)
            item = QStandardItem(title)
            item.setEditable(False)
            item.setToolTip(f"{title} (Alt+{number})")
            nav_model.appendRow(item)
            if isinstance(page, ListPage):
                page.status_message.connect(self.status_message)
        self.nav = QListView(self)
        self.nav.setObjectName("sideNav")
        self.nav.setModel(nav_model)
        self.nav.setFixedWidth(180)
        self.nav.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.nav.selectionModel().currentChanged.connect(self._on_nav)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        # Alt+1..5 are the main window's View menu actions (one owner per key, or Qt runs none).
        self._shown = False
        self.show_page("dashboard")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:
            # The first figures load once the window is up, so building it stays quick.
            self._shown = True
            QTimer.singleShot(0, self, self._load_current)  # dropped if the tab is deleted
        elif self.current_page in self._stale:
            # Back from another tab where something changed (a booking on the Patient
            # tab, say): the page on screen shows it now, not after F5.
            QTimer.singleShot(0, self, self._load_current)

    def show_page(self, name: str) -> None:
        """Switch to a page ("dashboard", "appointments", ...), loading it if needed."""
        row = self.PAGES.index(name)
        self.nav.selectionModel().setCurrentIndex(
            self.nav.model().index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    @property
    def current_page(self) -> str:
        return self.PAGES[self.stack.currentIndex()]

    @Slot(QModelIndex, QModelIndex)
    def _on_nav(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        self.stack.setCurrentIndex(current.row())
        if self._shown:
            self._load_current()

    def _load_current(self) -> None:
        if not self.isVisible():
            return  # the window closed before this queued load ran
        name = self.current_page
        page = self._pages[self.stack.currentIndex()]
        if name == "dashboard":
            self._stale.discard(name)
            self.dashboard.load()
        elif isinstance(page, ListPage) and (not page.loaded_once or name in self._stale):
            self._stale.discard(name)
            page.refresh()
        elif name in ("jobs", "audit", "users"):
            built = self._build_extra(name)
            if built is not None:  # later visits reload on F5 or on a job's event
                built.refresh()

    def refresh(self) -> None:
        """Reload the page on screen (F5); the dashboard computes its figures again."""
        if self.current_page == "dashboard":
            self.dashboard.load(refresh=True)
        else:
            page = self._pages[self.stack.currentIndex()]
            page.refresh()  # type: ignore[attr-defined]

    def _build_extra(self, name: str) -> Any:
        """The Jobs, Audit log or Users page, built on first use (None once built before)."""
        index = self.PAGES.index(name)
        if name == "jobs" and self.jobs is None:
            from hms_desktop.ui.admin.jobs_panel import JobsPanel

            self.jobs = JobsPanel(self._clinic, self._actor, self._ops, self._scheduler, self)
            self.jobs.open_patient_requested.connect(self.open_patient)
            return self._swap_page(index, self.jobs)
        if name == "audit" and self.audit is None:
            from hms_desktop.ui.admin.audit_view import AuditLogView

            self.audit = AuditLogView(self._clinic, self._actor, self._ops, self)
            return self._swap_page(index, self.audit)
        if name == "users" and self.users is None:
            from hms_desktop.ui.admin.users_page import UsersPage

            self.users = UsersPage(self._clinic, self._actor, self._ops, self)
            self.users.status_message.connect(self.status_message)
            return self._swap_page(index, self.users)
        return None

    def _swap_page(self, index: int, page: QWidget) -> QWidget:
        placeholder = self._pages[index]
        self._pages[index] = page
        self.stack.insertWidget(index, page)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.stack.setCurrentIndex(index)
        return page

    def on_job_event(self, event: object) -> None:
        """A background job reported (the window's job bridge): the Jobs page shows it."""
        if self.jobs is not None:
            self.jobs.on_job_event(event)

    def on_changes(self, topics: frozenset[str]) -> None:
        """Data changed: reload what is on screen, mark the other pages stale."""
        for name, watched in PAGE_TOPICS.items():
            if watched & topics:
                if name == self.current_page and self.isVisible():
                    page = self._pages[self.PAGES.index(name)]
                    assert isinstance(page, ListPage)
                    page.refresh()
                else:
                    self._stale.add(name)
        if self.isVisible() and self.current_page == "dashboard":
            self.dashboard.load()  # the cache was emptied by the write if it mattered
        else:
            self._stale.add("dashboard")  # loaded when it is next shown

    # --- actions the main window's shortcuts reach ------------------------------------------
    def new_patient(self) -> PatientFormDialog:
        """The Patients page's Register patient…: the list then shows the new patient."""
        self.show_page("patients")
        return self.patients.on_register()

    def open_patient(self, patient_id: int) -> None:
        """Show the Patients page with ``patient_id`` found and its record open to edit."""
        self.show_page("patients")
        self.patients.open_patient(patient_id)

    def find_patient(self) -> None:
        """Ctrl+F: search the audit log while it is shown, else find a patient."""
        if self.current_page == "audit" and self.audit is not None:
            self.audit.focus_search()
            return
        self.show_page("patients")
        self.patients.focus_search()
