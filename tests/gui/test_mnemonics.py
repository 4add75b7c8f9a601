"""Every Alt+letter on screen reaches one thing: no two visible mnemonics share a letter.

Two widgets (or a widget and a menu) on one letter make Qt take turns between them,
so a receptionist's Alt+F opens the finder one time and the File menu the next. For
each role, tab and page, the visible buttons, buddied labels, tab bars and the menu
bar are checked together.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QMenuBar,
    QTabBar,
    QTabWidget,
    QWidget,
)

from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.people import accounts
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.shell.main_window import MainWindow

MNEMONIC = re.compile(r"&([^&\s])")


def _texts(widget: QWidget) -> list[str]:
    if isinstance(widget, QTabBar):
        return [widget.tabText(i) for i in range(widget.count()) if widget.isTabEnabled(i)]
    if isinstance(widget, QMenuBar):
        # Every menu in the bar, hidden ones too: Qt keeps a hidden menu's Alt+letter
        # live, so the Patient tab's hidden "Boo&king" took turns with the Desk's
        # "Chec&k in" (Alt+K only moved the focus).
        return [a.text() for a in widget.actions()]
    if isinstance(widget, QLabel):
        return [widget.text()] if widget.buddy() is not None else []
    if isinstance(widget, QAbstractButton):
        return [widget.text()]
    if isinstance(widget, QGroupBox):
        return [widget.title()]
    return []


def clashes(window: QWidget) -> dict[str, list[str]]:
    """Letters claimed by more than one visible mnemonic in ``window``."""
    seen: dict[str, list[str]] = defaultdict(list)
    kinds = (QAbstractButton, QLabel, QTabBar, QMenuBar, QGroupBox)
    for kind in kinds:
        for widget in window.findChildren(kind):
            if not widget.isVisibleTo(window):
                continue
            for text in _texts(widget):
                match = MNEMONIC.search(text.replace("&&", ""))
                if match:
                    seen[match.group(1).lower()].append(text)
    return {letter: texts for letter, texts in seen.items() if len(texts) > 1}


def lost_mnemonics(window: QWidget) -> list[str]:
    """Buttons in ``window`` whose "&" letter does nothing: a button has one shortcut, and
    ``setShortcut(Ctrl+S)`` replaces the Alt+letter its text shows (see ``add_key``)."""
    lost = []
    for button in window.findChildren(QAbstractButton):
        text = button.text().replace("&&", "")
        if MNEMONIC.search(text) and button.shortcut() != QKeySequence.mnemonic(text):
            lost.append(button.text())
    return lost


def _pages(window: MainWindow) -> list[tuple[str, dict[str, list[str]]]]:
    found = []
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        tab = window.tabs.currentWidget()
        name = window.tabs.tabText(index)
        if tab is window.patient_tab and window.actor.is_staff:
            tab.set_patient_id(1, "A patient")  # staff see the pages once one is chosen
        QApplication.processEvents()
        if hasattr(tab, "PAGES"):
            for page in tab.PAGES:
                tab.show_page(page)
                QApplication.processEvents()
                found.append((f"{name}/{page}", clashes(window)))
            continue
        inner = tab.findChild(QTabWidget)
        if inner is None:
            found.append((name, clashes(window)))
            continue
        for page in range(inner.count()):
            inner.setCurrentIndex(page)
            QApplication.processEvents()
            found.append((f"{name}/{inner.tabText(page)}", clashes(window)))
    return found


@pytest.mark.parametrize("role", ["admin", "receptionist", "doctor", "patient"])
def test_no_two_visible_mnemonics_share_a_letter(qtbot, sqlite_clinic, role) -> None:
    summary = demo_data.generate(sqlite_clinic, seed=1, doctors=4, patients=30)
    account = next(a for a in summary.accounts if a.role == role)
    actor = accounts.login(sqlite_clinic, account.username, summary.password)
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, actor, stats)
    qtbot.addWidget(window)
    window.show()
    try:
        found = _pages(window)
        assert len(found) >= 3  # the walk reached the pages
        assert {where: c for where, c in found if c} == {}
        assert lost_mnemonics(window) == []  # every page was built by the walk
    finally:
        window.close()
        qtbot.waitUntil(lambda: not window.ops.busy, timeout=20_000)
        stats.close()


def test_the_check_sees_a_clash(qtbot) -> None:
    from PySide6.QtWidgets import QMainWindow, QPushButton

    window = QMainWindow()
    qtbot.addWidget(window)
    window.menuBar().addMenu("&File")
    window.setCentralWidget(QPushButton("&Find patient"))
    window.show()
    assert clashes(window) == {"f": ["&Find patient", "&File"]} or clashes(window) == {
        "f": ["&File", "&Find patient"]
    }


def _dialogs(clinic, ops, stats):  # type: ignore[no-untyped-def]
    """Every dialog of the application, built on the demo clinic (name, dialog)."""
    from hms_desktop.services.actor import SYSTEM, Actor
    from hms_desktop.services.people import departments, doctors, patients
    from hms_desktop.services.scheduling import booking
    from hms_desktop.ui.admin.appointments_view import RescheduleDialog
    from hms_desktop.ui.admin.doctor_form import DepartmentDialog, DoctorFormDialog
    from hms_desktop.ui.admin.patient_form import PatientFormDialog
    from hms_desktop.ui.booking.booking_dialog import BookingDialog, BookingTarget
    from hms_desktop.ui.booking.waitlist_dialogs import WaitlistRequestDialog, WalkInDialog
    from hms_desktop.ui.doctor.report_viewer import ReportViewer
    from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
    from hms_desktop.ui.exports.export_dialog import ExportDialog
    from hms_desktop.ui.shell.first_run import FirstRunDialog
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    doctor_rows = doctors.list_doctors(clinic)
    department_rows = departments.list_departments(clinic)
    patient = patients.search_patients(clinic, SYSTEM, "", limit=1)[0]
    visit = booking.list_appointments(clinic, SYSTEM, limit=1)[0]
    target = BookingTarget(
        patient.id, patient.full_name, visit.doctor_id, visit.doctor, "", date(1980, 1, 1)
    )
    return [
        ("booking", BookingDialog(clinic, SYSTEM, ops, target)),
        ("reschedule", BookingDialog(clinic, SYSTEM, ops, target, appointment=visit)),
        ("desk reschedule", RescheduleDialog(clinic, SYSTEM, ops, visit, doctor_rows)),
        ("treatment", TreatmentDialog(clinic, SYSTEM, ops, visit)),
        ("new doctor", DoctorFormDialog(clinic, SYSTEM, ops, department_rows)),
        ("edit doctor", DoctorFormDialog(clinic, SYSTEM, ops, department_rows, doctor_rows[0])),
        ("department", DepartmentDialog(clinic, SYSTEM, ops, department_rows[0])),
        ("new patient", PatientFormDialog(clinic, SYSTEM, ops)),
        ("edit patient", PatientFormDialog(clinic, SYSTEM, ops, patient)),
        ("self-register", PatientFormDialog(clinic, None, ops, self_register=True)),
        ("history export", ExportDialog(None, clinic, SYSTEM, ops, kind="history",
                                        patient_id=patient.id)),
        ("appointments export", ExportDialog(None, clinic, SYSTEM, ops, kind="appointments")),
        ("report", ReportViewer("<h1>Report</h1>", "Monthly report")),
        ("waitlist request", WaitlistRequestDialog(clinic, SYSTEM, ops)),
        ("walk-in", WalkInDialog(clinic, SYSTEM, ops)),
        ("first run", FirstRunDialog(clinic, ops)),
        # An administrator's: this PC's settings and the clinic's (the most fields).
        ("settings", SettingsDialog(clinic, Actor(None, "boss", "admin"), stats, ops)),
    ]  # fmt: skip


def test_no_dialog_has_two_mnemonics_on_one_letter(qtbot, sqlite_clinic) -> None:
    from hms_desktop.ui.common.operations import Operations

    demo_data.generate(sqlite_clinic, seed=1, doctors=4, patients=30)
    ops = Operations()
    stats = StatsService(sqlite_clinic)
    found = {}
    lost: dict[str, list[str]] = {}
    try:
        dialogs = _dialogs(sqlite_clinic, ops, stats)
        assert len(dialogs) >= 15
        for name, dialog in dialogs:
            qtbot.addWidget(dialog)
            dialog.show()
            qtbot.waitUntil(lambda: not ops.busy, timeout=20_000)
            QApplication.processEvents()
            found[name] = clashes(dialog)
            lost[name] = lost_mnemonics(dialog)
            dialog.close()
    finally:
        qtbot.waitUntil(lambda: not ops.busy, timeout=20_000)
        assert ops.shutdown()
        stats.close()
    assert {name: c for name, c in found.items() if c} == {}
    assert {name: texts for name, texts in lost.items() if texts} == {}


def test_every_question_has_a_letter_per_answer(qtbot) -> None:
    """Cancel visit / Keep it (and any yes/no the app asks) answer with one letter each."""
    from PySide6.QtCore import Qt

    from hms_desktop.ui.common.messages import confirm, with_mnemonics

    assert with_mnemonics(["Cancel visit", "Keep it"]) == ["&Cancel visit", "&Keep it"]
    assert with_mnemonics(["Mark no-show", "Keep it"]) == ["&Mark no-show", "&Keep it"]
    assert with_mnemonics(["Cancel", "Close"]) == ["&Cancel", "C&lose"]
    assert with_mnemonics(["&Book", "Not now"]) == ["&Book", "&Not now"]
    assert with_mnemonics(["Keep", "Keep it"]) == ["&Keep", "Keep &it"]

    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    answered: list[str] = []
    box = confirm(parent, "Cancel visit", "Cancel?", lambda: answered.append("yes"),
                  yes_text="Cancel visit")  # fmt: skip
    qtbot.waitExposed(box)
    letters = [MNEMONIC.search(b.text()).group(1).lower() for b in box.buttons()]
    assert sorted(letters) == ["c", "k"]
    qtbot.keyClick(box, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: answered == ["yes"])


def _menu_clashes(menu) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    seen: dict[str, list[str]] = defaultdict(list)
    for action in menu.actions():
        match = MNEMONIC.search(action.text().replace("&&", ""))
        if match and action.isVisible():
            seen[match.group(1).lower()].append(action.text())
        elif action.text() and not action.isSeparator():
            seen["(none)"].append(action.text())
    return {letter: texts for letter, texts in seen.items() if len(texts) > 1 or letter == "(none)"}


def test_the_books_menus_and_repeat_dialog_have_one_letter_each(qtbot, sqlite_clinic) -> None:
    from datetime import time, timedelta

    from hms_desktop.services.actor import SYSTEM
    from hms_desktop.services.scheduling import booking, series
    from hms_desktop.ui.booking.book.repeat_dialog import RepeatDialog
    from hms_desktop.ui.booking.book.view import BookView
    from hms_desktop.ui.common.operations import Operations
    from tests import factories as f

    w = f.world(sqlite_clinic)
    booking.book(sqlite_clinic, SYSTEM, patient_id=w.patient_id, doctor_id=w.doctor_id,
                 day=w.day, at="09:00")  # fmt: skip
    series.book_series(sqlite_clinic, SYSTEM, patient_id=w.other_patient_id,
                       doctor_id=w.doctor_id, dates=[w.day, w.day + timedelta(weeks=1)],
                       at="10:00")  # fmt: skip
    ops = Operations()
    view = BookView(sqlite_clinic, f.RECEPTION, ops)
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            view.set_date(w.day)
        m = view.model
        found = {}
        for at in (time(9, 0), time(10, 0), time(11, 0)):  # a visit, a series' visit, free
            menu = view.acts.context_menu(m.row_for(at), 0)
            found[f"menu {at}"] = _menu_clashes(menu)
            menu.deleteLater()
        block = m.cell(m.row_for(time(9, 0)), 0).block
        assert block is not None
        dialog = RepeatDialog(sqlite_clinic, f.RECEPTION, block, w.day)
        qtbot.addWidget(dialog)
        dialog.show()
        found["repeat"] = clashes(dialog)
        shown = [b for b in dialog.findChildren(QAbstractButton) if b.isVisibleTo(dialog)]
        labelled = [b.text() for b in shown if b.text()]
        assert all("&" in t for t in labelled if t != "Cancel"), labelled
        assert {name: c for name, c in found.items() if c} == {}
    finally:
        qtbot.waitUntil(lambda: not ops.busy, timeout=20_000)
        assert ops.shutdown()


def test_on_the_desk_alt_k_checks_in_and_alt_p_opens_the_patients_menu(
    qtbot, sqlite_clinic
) -> None:
    """The letters on the Desk do what their labels say, pressed for real: a hidden menu
    (the Patient tab's "Boo&king") once made Alt+K only move the focus to Check in."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMenu

    from hms_desktop.services.scheduling import booking
    from tests import factories as f

    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today)
    booking.book(sqlite_clinic, f.RECEPTION, patient_id=world.patient_id,
                 doctor_id=world.doctor_id, day=today, at="10:00")  # fmt: skip
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, f.RECEPTION, stats)
    qtbot.addWidget(window)
    window.show()
    try:
        desk = window.desk_tab
        window.tabs.setCurrentWidget(desk)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=20_000)
        qtbot.waitUntil(lambda: len(desk.expected_model.rows) == 1, timeout=20_000)
        desk.focus_first()
        assert clashes(window) == {}

        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda: len(desk.waiting_model.rows) == 1, timeout=20_000)
        assert desk.confirmation.text().startswith("José Núñez checked in for 10:00")

        desk.focus_first()
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
        shown = [m for m in window.menuBar().findChildren(QMenu) if m.isVisible()]
        assert [m.title() for m in shown] == ["&Patients"]
        shown[0].close()
    finally:
        window.close()
        qtbot.waitUntil(lambda: not window.ops.busy, timeout=20_000)
        stats.close()
