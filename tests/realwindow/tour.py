"""Every screen in a real X11 window, on the demo clinic: nothing a person needs is cut off.

Run by ``test_real_window.py`` inside Xvfb with a window manager (openbox), real fonts
and Qt's ``xcb`` plugin, once per screen size. Each test opens screens the way a person
does (the application's window, signed in per role) and fails on a cut-off key column,
label, button or chart text, or on a window larger than the screen. The pictures go to
``HMS_REALWINDOW_SHOTS`` when it is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.people import accounts, departments, doctors
from hms_desktop.services.records.stats import StatsService
from hms_desktop.services.scheduling import availability, booking, patient_flow, waitlist
from hms_desktop.ui.admin.doctor_form import DoctorFormDialog
from hms_desktop.ui.admin.patient_form import PatientFormDialog
from hms_desktop.ui.booking.booking_dialog import BookingDialog, BookingTarget
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
from hms_desktop.ui.exports.export_dialog import ExportDialog
from hms_desktop.ui.shell.app_window import AppWindow
from hms_desktop.ui.shell.main_window import MainWindow
from hms_desktop.ui.shell.settings_dialog import SettingsDialog
from hms_desktop.ui.shell.sign_in import DemoAccount
from tests.conftest import START, make_clinic
from tests.realwindow.elision import columns_cut_off, off_screen, unreadable

WAIT = 30_000
SHOTS = Path(os.environ["HMS_REALWINDOW_SHOTS"]) if "HMS_REALWINDOW_SHOTS" in os.environ else None

Demo = tuple[Clinic, demo_data.DemoSummary]

pytestmark = pytest.mark.realwindow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Demo]:
    """The demo clinic (as ``hms-desktop --demo`` builds it), once for all screens."""
    path = tmp_path_factory.mktemp("demo") / "clinic.sqlite3"
    shutil.copyfile(sqlite_template, path)
    clinic = make_clinic(f"sqlite:///{path}", FakeClock(START))
    summary = demo_data.generate(clinic, seed=1, doctors=12, patients=300)
    yield clinic, summary
    clinic.close()


class Tour:
    """Opens screens, collects what is unreadable, saves pictures."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.found: list[str] = []

    def look(self, window: QWidget, name: str, screen: str) -> None:
        QApplication.processEvents()
        self.found += [f"[{screen}] {p}" for p in unreadable(window) + off_screen(window)]
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            assert window.grab().save(str(SHOTS / f"{name}.png"))

    def show(self, window: QWidget) -> None:
        with self.qtbot.waitExposed(window, timeout=WAIT):
            window.show()
        self.qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)

    def wait(self, condition: Callable[[], object]) -> None:
        self.qtbot.waitUntil(lambda: bool(condition()), timeout=WAIT)

    def verdict(self) -> None:
        if self.found:
            size = QApplication.primaryScreen().size().toTuple()
            report = "\n".join(self.found)
            pytest.fail(
                f"{len(self.found)} unreadable on a {size} screen:\n{report}", pytrace=False
            )


@pytest.fixture
def tour(qtbot: QtBot, styled: QApplication) -> Tour:
    return Tour(qtbot)


def _signed_in(
    tour: Tour, clinic: Clinic, summary: demo_data.DemoSummary, role: str, stats: StatsService
) -> tuple[AppWindow, MainWindow, Operations]:
    """The application's window, signed in as the demo account of ``role``."""
    ops = Operations()
    shell = AppWindow(ops)
    tour.qtbot.addWidget(shell)
    username = next(a.username for a in summary.accounts if a.role == role)
    actor = accounts.login(clinic, username, summary.password)
    workspace = MainWindow(clinic, actor, stats)
    shell.show_workspace(workspace)
    tour.show(shell)
    return shell, workspace, ops


def _close(tour: Tour, shell: AppWindow, workspace: MainWindow, ops: Operations) -> None:
    tour.wait(lambda: not workspace.ops.busy and not ops.busy)
    shell.close()
    workspace.ops.shutdown()
    ops.shutdown()


def test_the_session_is_a_real_one(tour: Tour) -> None:
    """X11 with a window manager's frame and fonts from the system, not offscreen."""
    assert QGuiApplication.platformName() == "xcb"
    assert QFontDatabase.families(), "no fonts: install fonts-dejavu-core"
    probe = QWidget()
    probe.resize(300, 200)
    tour.show(probe)
    tour.wait(lambda: probe.frameGeometry().height() > probe.geometry().height())
    probe.close()


def test_sign_in(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    ops = Operations()
    shell = AppWindow(ops)
    tour.qtbot.addWidget(shell)
    tour.show(shell)
    shell.show_sign_in_ready(
        clinic, [DemoAccount(a.username, summary.password, a.role) for a in summary.accounts[:6]]
    )
    tour.look(shell, "login", "sign-in")
    shell.close()
    ops.shutdown()
    tour.verdict()


def test_admin_pages(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "admin", stats)
    admin = window.admin_tab
    tour.wait(lambda: admin.dashboard.result is not None and not window.ops.busy)
    tour.look(shell, "admin", "Admin > Dashboard")
    for page in admin.PAGES[1:]:
        admin.show_page(page)
        tour.wait(lambda: not window.ops.busy)
        if page == "appointments":
            tour.wait(lambda: admin.appointments.model.rowCount() > 0)
            admin.appointments.table.selectRow(2)
        if page == "jobs":
            tour.wait(lambda: admin.jobs is not None)
        tour.wait(lambda: not window.ops.busy)
        tour.look(shell, f"admin_{page}", f"Admin > {page}")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_patient_tab_pages_and_slot_browser(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "receptionist", stats)
    window.tabs.setCurrentWidget(window.patient_tab)
    tab = window.patient_tab
    picker = tab.picker
    picker.search.setText("a")
    tour.wait(lambda: picker.model.rowCount() > 0)
    # Choosing is explicit (Enter on a result), so the pages below show that patient.
    picker.results.view.setFocus()
    picker.results.view.setCurrentIndex(picker.model.index(0, 0))
    with tour.qtbot.waitSignal(picker.patient_chosen, timeout=WAIT):
        tour.qtbot.keyClick(picker.results.view, Qt.Key.Key_Return)
    assert tab.patient is not None
    tour.wait(lambda: tab.browser.departments_model.rowCount() > 0)
    tab.browser.select_department(tab.browser.departments_model.rows[0].name)
    tour.wait(lambda: tab.browser.slot_picker.model.rowCount() > 0)
    tour.wait(lambda: not window.ops.busy)
    tour.look(shell, "patient", "Patient > Book a visit")
    for number, name in enumerate(("upcoming", "past", "profile"), 1):
        tab.pages.setCurrentIndex(number)
        tour.wait(lambda: not window.ops.busy)
        tour.look(shell, f"patient_{name}", f"Patient > {name}")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_doctor_tab_pages(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "doctor", stats)
    tab = window.doctor_tab
    tour.wait(lambda: tab.rows and tab.book.model.blocks() and not window.ops.busy)
    tour.look(shell, "doctor", "Doctor > Appointments (today's book)")
    # The doctor's own book over the next 7 days: the README's week view.
    tab.week_button.click()
    tour.wait(lambda: tab.book.model.columnCount() == 7 and not window.ops.busy)
    tour.wait(lambda: not tab.book.is_loading() and tab.book.model.blocks())
    tour.look(shell, "doctor_week", "Doctor > Appointments (next 7 days)")
    # All seven days side by side, their dates whole (Saturday and Sunday were off the edge).
    tour.found += [f"[Doctor > next 7 days] {p}" for p in columns_cut_off(tab.book.table)]
    tab.today_button.click()
    tour.wait(lambda: tab.book.model.columnCount() == 1 and not window.ops.busy)
    assert tab.select_appointment(tab.rows[0].id)
    for number, name in enumerate(("history", "availability", "reports"), 1):
        if name == "history":
            tab.show_history()
        else:
            tab.pages.setCurrentIndex(number)
        tour.wait(lambda: not window.ops.busy)
        tour.look(shell, f"doctor_{name}", f"Doctor > {name}")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_book_day_of_a_department(tour: Tour, demo: Demo) -> None:
    """The receptionist's book: one department's doctors side by side, tomorrow."""
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "receptionist", stats)
    window.tabs.setCurrentWidget(window.book_tab)
    book = window.book_tab
    tour.wait(lambda: not window.ops.busy)
    sizes = {
        i: len(doctors.list_doctors(clinic, department_id=book.controls.department.itemData(i)))
        for i in range(1, book.controls.department.count())
    }
    book.controls.department.setCurrentIndex(max(sizes, key=lambda i: sizes[i]))
    book.set_date(clinic.today() + timedelta(days=1))
    tour.wait(lambda: not window.ops.busy and not book.is_loading() and book.model.blocks())
    book.table.setFocus()
    tour.look(shell, "book_day", "Book (a department's day)")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_desk_tab(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    desk = Actor(user_id=None, username="desk", role="receptionist")
    today = clinic.today()
    expected = patient_flow.expected_today(clinic, desk)
    assert len(expected) >= 2, "the demo clinic has visits later today"
    patient_flow.check_in(clinic, desk, expected[0].id)
    waitlist.add(
        clinic, desk, patient_id=expected[1].patient_id, doctor_id=expected[1].doctor_id,
        days="mon,tue,wed,thu,fri", between="08:00-12:00", until=today + timedelta(days=30),
    )  # fmt: skip
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "receptionist", stats)
    window.tabs.setCurrentWidget(window.desk_tab)
    panel = window.desk_tab
    tour.wait(lambda: panel.waiting_model.rowCount() > 0 and panel.offers_model.rowCount() > 0)
    tour.wait(lambda: not window.ops.busy)
    tour.look(shell, "desk", "Desk")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_a_long_status_message_ends_in_an_ellipsis_and_fits(tour: Tour, demo: Demo) -> None:
    """The status bar used to cut a long message at "who is signed in", mid-word."""
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "receptionist", stats)
    tour.wait(lambda: not window.ops.busy)
    long = (
        "Booked Maria Kowalski-Wiśniewska (#12345, born 1983) with Dr. Ada Lovelace, "
        "Tomorrow, Tue, 16 Jun at 09:30; the confirmation with its calendar invitation "
        "goes to maria.kowalski@example.org."
    )
    window.show_message(long)
    bar = window.status
    shown = bar.currentMessage()
    assert bar.fontMetrics().horizontalAdvance(shown) <= bar.room()
    assert shown == long or (shown.endswith("…") and long.startswith(shown[:-1]))
    assert bar.toolTip() == ("" if shown == long else long)
    window.show_message("Profile saved.")
    assert bar.currentMessage() == "Profile saved."
    window.show_message(long)
    tour.look(shell, "status_long_message", "status bar")
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()


def test_dialogs(tour: Tour, demo: Demo) -> None:
    clinic, summary = demo
    stats = StatsService(clinic)
    shell, window, ops = _signed_in(tour, clinic, summary, "admin", stats)
    actor = window.actor
    rows = booking.list_appointments(clinic, actor, booking.AppointmentFilter())
    visit = next(r for r in rows if r.status == "booked")
    slot = next(
        s
        for d in range(1, 7)
        for s in availability.free_slots(
            clinic, visit.doctor_id, clinic.today() + timedelta(days=d)
        )
    )
    target = BookingTarget(
        visit.patient_id, visit.patient, visit.doctor_id, visit.doctor, visit.department
    )
    dialog = BookingDialog(clinic, actor, ops, target, slot=slot, parent=shell)
    tour.show(dialog)
    tour.wait(lambda: dialog.slot_picker.current_slot() == slot)
    tour.look(dialog, "booking_dialog", "Booking dialog")
    dialog.reject()

    export = ExportDialog(shell, clinic, actor, ops, kind="appointments")
    tour.show(export)
    tour.look(export, "export_dialog", "Export dialog")
    export.reject()

    # An administrator's settings: this PC's and the clinic's (the longest form).
    boss = Actor(user_id=None, username="boss", role="admin")
    settings = SettingsDialog(clinic, boss, stats, ops, shell)
    tour.show(settings)
    tour.look(settings, "settings_dialog", "Settings")
    settings.reject()

    register = PatientFormDialog(clinic, actor, ops, parent=shell)
    tour.show(register)
    tour.look(register, "patient_form", "Register patient")
    register.reject()

    # Bad input, then Enter: every message under its field whole, the form on the screen.
    register = PatientFormDialog(clinic, actor, ops, parent=shell)
    tour.show(register)
    tour.qtbot.keyClicks(register.name, '=HYPERLINK("x")')
    tour.qtbot.keyClicks(register.birth, "31.02.1990")
    tour.qtbot.keyClicks(register.email, "anna@")
    tour.qtbot.keyClick(register.email, Qt.Key.Key_Return)
    tour.wait(lambda: register.field_error("email") and register.field_error("date_of_birth"))
    tour.look(register, "patient_form_errors", "Register patient with errors")
    register.done(0)  # typed: reject() would ask before discarding

    add_doctor = DoctorFormDialog(
        clinic, actor, ops, departments.list_departments(clinic), parent=shell
    )
    tour.show(add_doctor)
    tour.look(add_doctor, "doctor_form", "Add doctor")
    add_doctor.reject()

    done = next(r for r in rows if r.status == "completed")
    doctor = Actor(None, "doctor", "doctor", doctor_id=done.doctor_id, display_name=done.doctor)
    treatment = TreatmentDialog(clinic, doctor, ops, done, parent=shell)
    with tour.qtbot.waitSignal(treatment.loaded, timeout=WAIT):
        tour.show(treatment)
    tour.look(treatment, "treatment_dialog", "Treatment")
    treatment.reject()
    _close(tour, shell, window, ops)
    stats.close()
    tour.verdict()
