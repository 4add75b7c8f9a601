"""The Admin tab: a side bar of pages for the front desk and the administrator.

Pages load when first shown, and reload when the clinic announces a change that
concerns them (a booking, a registration, a new doctor...).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHBoxLayout, QListView, QStackedWidget, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.stats import StatsService
from hms_desktop.ui.admin_pages import DepartmentsPage, DoctorsPage, ListPage, PatientsPage
from hms_desktop.ui.appointments_view import AppointmentsPage
from hms_desktop.ui.dashboard import DashboardPage
from hms_desktop.ui.operations import Operations

#: Which change topics each page shows.
PAGE_TOPICS = {
    "appointments": {"appointments", "patients", "doctors", "treatments"},
    "patients": {"patients"},
    "doctors": {"doctors", "departments"},
    "departments": {"departments", "doctors"},
}


class AdminTab(QWidget):
    """Dashboard, appointments, patients, doctors and departments."""

    status_message = Signal(str)
    PAGES = ("dashboard", "appointments", "patients", "doctors", "departments")
    TITLES = ("Dashboard", "Appointments", "Patients", "Doctors", "Departments")

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        stats: StatsService,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.dashboard = DashboardPage(clinic, actor, ops, stats, self)
        self.appointments = AppointmentsPage(clinic, actor, ops, self)
        self.patients = PatientsPage(clinic, actor, ops, self)
        self.doctors = DoctorsPage(clinic, actor, ops, self)
        self.departments = DepartmentsPage(clinic, actor, ops, self)
        self._pages: list[QWidget] = [
            self.dashboard,
            self.appointments,
            self.patients,
            self.doctors,
            self.departments,
        ]
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
            QTimer.singleShot(0, self._load_current)

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
            self.dashboard.load()
        elif isinstance(page, ListPage) and (not page.loaded_once or name in self._stale):
            self._stale.discard(name)
            page.refresh()

    def refresh(self) -> None:
        """Reload the page on screen (F5); the dashboard computes its figures again."""
        if self.current_page == "dashboard":
            self.dashboard.load(refresh=True)
        else:
            page = self._pages[self.stack.currentIndex()]
            assert isinstance(page, ListPage)
            page.refresh()

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
        if self.current_page == "dashboard" and self.isVisible():
            self.dashboard.load()  # the cache was emptied by the write if it mattered

    # --- actions the main window's shortcuts reach ------------------------------------------
    def new_patient(self) -> None:
        self.show_page("patients")
        self.patients.on_register()

    def find_patient(self) -> None:
        self.show_page("patients")
        self.patients.focus_search()
