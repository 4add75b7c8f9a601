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
