"""One current patient at the desk: chosen on the Patient tab, the Book tab books for them.

QA: a receptionist found the patient on the Patient tab, went to the Book tab and had
to find them again. The window, with real keys, on a real SQLite clinic.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.common.patient_text import patient_text
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f
from tests.gui.book_support import shown_window

WAIT = 20_000


@pytest.fixture
def world(sqlite_clinic: Clinic) -> f.World:
    return f.world(sqlite_clinic)


@pytest.fixture
def window(qtbot: QtBot, sqlite_clinic: Clinic, world: f.World) -> Iterator[MainWindow]:
    with shown_window(qtbot, sqlite_clinic) as shown:
        yield shown


def _choose_on_patient_tab(qtbot: QtBot, window: MainWindow, text: str, patient_id: int) -> None:
    """Ctrl+3 (the Patient tab), Ctrl+F, the search, Enter."""
    tab = window.patient_tab
    qtbot.keySequence(window, "Ctrl+3")
    assert window.tabs.currentWidget() is tab
    qtbot.keySequence(window, "Ctrl+F")
    qtbot.keyClicks(QApplication.focusWidget(), text)
    qtbot.waitUntil(lambda: [p.id for p in tab.picker.model.rows] == [patient_id], timeout=WAIT)
    qtbot.waitUntil(lambda: not tab.picker.search_pending(), timeout=WAIT)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.patient is not None and tab.patient.id == patient_id, timeout=WAIT)


def test_the_patient_chosen_on_the_patient_tab_is_the_one_the_book_books_for(
    qtbot: QtBot, window: MainWindow, sqlite_clinic: Clinic, world: f.World
) -> None:
    book = window.book_tab
    assert book.controls.patient_label.text() == "Patient: none chosen"
    _choose_on_patient_tab(qtbot, window, str(world.patient_id), world.patient_id)

    # Ctrl+1 is Admin, Ctrl+2 the Book: the keyboard lands on its grid.
    qtbot.keySequence(window, "Ctrl+2")
    assert window.tabs.currentWidget() is book
    who = patient_text("José Núñez", world.patient_id)
    # Shown clearly (bold, whole at 1024 px; the tooltip says where); still changeable.
    label = book.controls.patient_label
    assert label.text() == f"Patient: {who}" and label.font().bold()
    assert label.toolTip().startswith("Chosen on the Patient tab")
    assert label.width() >= label.sizeHint().width()
    assert book.controls.patient_button.text().replace("&", "") == "Change patient…"
    qtbot.waitUntil(lambda: not book.is_loading(), timeout=WAIT)
    with qtbot.waitSignal(book.loaded, timeout=WAIT):
        qtbot.keyClick(book.table, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert book.day == world.day
    assert book.select(world.doctor_id, world.day, time(9, 30))
    with qtbot.waitSignal(book.loaded, timeout=WAIT):
        qtbot.keyClick(book.table, Qt.Key.Key_Return)
    # Booked for her at once: nobody was asked for with the finder.
    assert book.acts.patient_dialog is None
    assert book.confirmation.text().startswith(f"Booked {who} with Dr. Ada Lovelace")
    [visit] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert (visit.patient_id, visit.doctor_id, visit.time) == (
        world.patient_id,
        world.doctor_id,
        time(9, 30),
    )

    # Another patient chosen on the Patient tab: the book follows.
    _choose_on_patient_tab(qtbot, window, str(world.other_patient_id), world.other_patient_id)
    qtbot.keySequence(window, "Ctrl+2")
    assert book.acts.patient is not None and book.acts.patient.id == world.other_patient_id
    assert book.controls.patient_label.text().startswith(
        f"Patient: {patient_text('Anna Smith', world.other_patient_id)}"
    )
