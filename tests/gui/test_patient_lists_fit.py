"""Who a patient is stays readable in a 1024x768 window: name, year of birth and phone whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f
from tests.realwindow.elision import columns_cut_off, unreadable

WAIT = 20_000


@pytest.fixture
def boss(sqlite_clinic: Clinic) -> Actor:
    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    return accounts.login(sqlite_clinic, "boss", f.PASSWORD)


@pytest.fixture
def window(
    qtbot: QtBot, styled: QApplication, sqlite_clinic: Clinic, boss: Actor
) -> Iterator[MainWindow]:
    """The main window at 1024x768, with a long name, a birth date and a long phone number."""
    f.world(sqlite_clinic)
    f.patient(
        sqlite_clinic,
        "Oliver Fitzgerald-Hughes",
        date_of_birth=date(1987, 12, 30),
        phone="+49 30 12345678",
    )
    stats = StatsService(sqlite_clinic)
    shown = MainWindow(sqlite_clinic, boss, stats)
    qtbot.addWidget(shown)
    shown.resize(1024, 768)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()
    stats.close()


def test_admin_patients_show_born_and_phone_whole_without_scrolling_sideways(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.admin_tab.show_page("patients")
    page = window.admin_tab.patients
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=WAIT)
    assert window.width() == 1024
    assert unreadable(window) == []  # "Born" ("Wed, 30 Dec 1987") was cut at 100 px
    assert columns_cut_off(page.table) == []


def test_the_patient_tab_shows_name_born_and_phone_whole_beside_a_patients_pages(
    qtbot: QtBot, window: MainWindow, sqlite_clinic: Clinic
) -> None:
    window.tabs.setCurrentWidget(window.patient_tab)
    tab = window.patient_tab
    picker = tab.picker
    qtbot.waitUntil(lambda: picker.model.rowCount() == 3, timeout=WAIT)
    oliver = next(r for r in picker.model.rows if r.full_name == "Oliver Fitzgerald-Hughes")
    tab.set_patient(oliver)  # the patient's pages beside the list must not squeeze it
    qtbot.waitUntil(lambda: tab.browser.slot_picker.model.rowCount() > 0, timeout=WAIT)
    for page in range(tab.pages.count()):
        tab.pages.setCurrentIndex(page)
        assert window.width() == 1024
        assert unreadable(window) == [], tab.pages.tabText(page)
        assert columns_cut_off(picker.results.view) == []


def test_the_patient_tab_shows_long_department_names_whole_at_1024(
    qtbot: QtBot, window: MainWindow, sqlite_clinic: Clinic
) -> None:
    """QA: at 1024x768 department names were cut ("Physical Medicine and Reh…") beside
    the doctors and the patient finder; a tooltip is not enough for the main text."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QStyleOptionViewItem

    long_names = ["Obstetrics and Gynaecology", "Physical Medicine and Rehabilitation"]
    for name in long_names:  # a doctor's long name widens the doctors beside them
        f.doctor(
            sqlite_clinic, f.department(sqlite_clinic, name), "Dr. Konstantin Bergmann-Schwarz"
        )
    window.patient_tab.refresh()
    qtbot.keySequence(window, "Ctrl+3")
    tab = window.patient_tab
    assert window.tabs.currentWidget() is tab
    qtbot.keySequence(window, "Ctrl+F")
    qtbot.keyClicks(QApplication.focusWidget(), "Fitzgerald")
    qtbot.waitUntil(lambda: len(tab.picker.model.rows) == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: not tab.picker.search_pending(), timeout=WAIT)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.patient is not None, timeout=WAIT)
    departments = tab.browser.departments
    model, view = tab.browser.departments_model, departments.view
    qtbot.waitUntil(lambda: {*long_names} <= {d.name for d in model.rows}, timeout=WAIT)
    # Down the departments to the last (its doctor listed beside it), as the desk would.
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert tab.browser.current_department().name == long_names[1]  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: (
            [c.name for c in tab.browser.doctors_model.rows][1:]
            == ["Dr. Konstantin Bergmann-Schwarz"]
        ),
        timeout=WAIT,
    )
    QApplication.processEvents()
    assert window.width() == 1024
    width = view.horizontalHeader().sectionSize(0)
    metrics = view.fontMetrics()
    for row, department in enumerate(model.rows):
        index = model.index(row, 0)
        # On one line: the width the delegate asks for (text and the style's padding).
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.widget = view  # the style sheet's padding counts only with the widget
        option.font = view.font()
        one_line = view.itemDelegateForIndex(index).sizeHint(option, index).width()
        if one_line <= width:
            continue
        # Wrapped at words: each word whole within the cell, every line within the row.
        assert view.wordWrap(), f"{department.name!r} needs {one_line}px of {width}"
        padding = one_line - metrics.horizontalAdvance(department.name)
        widest = max(metrics.horizontalAdvance(w) for w in department.name.split())
        assert widest + padding <= width, department.name
        assert view.sizeHintForRow(row) <= view.rowHeight(row), f"{department.name!r} cut below"
        assert view.textElideMode() == Qt.TextElideMode.ElideNone
    assert unreadable(window) == []
