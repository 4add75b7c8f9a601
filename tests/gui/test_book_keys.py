"""The appointment book's keyboard and menus as QA met them: the menu key's cell, focus,
mnemonics and messages."""

from __future__ import annotations

from datetime import time, timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.dates import day_text
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f
from tests.gui.book_support import WAIT, book_at, ops, reload, view, world
from tests.gui.conftest import styled

__all__ = ["ops", "styled", "view", "world"]


def _platform_menu_key(view: BookView) -> None:
    """What X11 sends for the Menu key before the key itself: a keyboard context-menu
    event to the focus widget, at its cursor rectangle (the view's own coordinates)."""
    table = view.table
    pos = table.inputMethodQuery(Qt.InputMethodQuery.ImCursorRectangle).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, pos, table.mapToGlobal(pos))
    QApplication.sendEvent(table, event)


def _popup(qtbot: QtBot) -> QMenu:
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=WAIT)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def test_the_menu_key_opens_the_menu_of_the_cell_under_the_cursor(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    book_at(sqlite_clinic, world, "10:30", world.patient_id)
    book_at(sqlite_clinic, world, "11:00", world.other_patient_id)
    reload(qtbot, view)
    m = view.model
    half_past = m.index(m.row_for(time(10, 30)), 0)
    view.table.setFocus()
    view.table.setCurrentIndex(half_past)
    _platform_menu_key(view)
    menu = _popup(qtbot)
    cell = view.table.visualRect(half_past)
    assert cell.contains(view.table.viewport().mapFromGlobal(menu.pos()))
    QTest.keyClick(menu, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: isinstance(view.acts.active_dialog, QMessageBox), timeout=WAIT)
    box = view.acts.active_dialog
    assert isinstance(box, QMessageBox)
    # Who, with whom and when (QA: it named neither the day nor the doctor).
    assert box.text().startswith("Cancel José Núñez's visit with Dr. Ada Lovelace, ")
    assert (
        box.text().endswith(" at 10:30?")
        and day_text(world.day, sqlite_clinic.today()) in box.text()
    )
    box.close()
    assert view.table.currentIndex() == half_past

    # On free time the cursor stays where it is; the real key press (offscreen) too.
    nine = m.index(m.row_for(time(9, 0)), 1)
    view.table.setCurrentIndex(nine)
    _platform_menu_key(view)
    menu = _popup(qtbot)
    menu.close()
    assert view.table.currentIndex() == nine
    QTest.keyClick(view.table, Qt.Key.Key_Menu)
    menu = _popup(qtbot)
    assert view.table.visualRect(nine).contains(view.table.viewport().mapFromGlobal(menu.pos()))
    menu.close()
    assert view.table.currentIndex() == nine


def test_ctrl_number_to_the_book_puts_the_arrows_in_the_grid(
    qtbot: QtBot, sqlite_clinic: Clinic, world: f.World
) -> None:
    stats = StatsService(sqlite_clinic)
    win = MainWindow(sqlite_clinic, f.RECEPTION, stats)
    qtbot.addWidget(win)
    try:
        with qtbot.waitActive(win):
            win.show()
            win.activateWindow()
        win.tabs.setCurrentWidget(win.patient_tab)
        book = win.book_tab
        assert book is not None
        qtbot.waitUntil(lambda: book.model.rowCount() > 0 and not book.is_loading(), timeout=WAIT)
        number = win.tab_names().index("Book") + 1
        focus = QApplication.focusWidget()
        assert focus is not None
        QTest.keyClick(focus, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert win.tabs.currentWidget() is book
        assert QApplication.focusWidget() is book.table
        row = book.table.currentIndex().row()
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
        assert book.table.currentIndex().row() == row + 1
    finally:
        win.discard_unsaved_changes()
        win.close()
        qtbot.waitUntil(lambda: not win.ops.busy, timeout=WAIT)
        stats.close()


def test_the_week_names_its_doctor(qtbot: QtBot, view: BookView, world: f.World) -> None:
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(view.model.row_for(time(9, 0)), 1))
    week = view.controls.week
    assert week.text() == "&Week of one doctor"
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(week, Qt.MouseButton.LeftButton)
    assert view.model.week and week.text() == "&Week of Dr. Alan Turing"
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        qtbot.mouseClick(week, Qt.MouseButton.LeftButton)
    assert not view.model.week and week.text() == "&Week of one doctor"


def test_the_bar_clears_on_the_next_action_and_on_another_day(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    m, bar, table = view.model, view.confirmation, view.table
    book_at(sqlite_clinic, world, "10:00", world.other_patient_id)
    reload(qtbot, view)
    view.acts.set_patient(patients.get_patient(sqlite_clinic, SYSTEM, world.patient_id))
    table.setFocus()
    table.setCurrentIndex(m.index(m.row_for(time(9, 0)), 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(table, Qt.Key.Key_Return)
    assert bar.text().startswith("Booked José Núñez")
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.text().startswith("Undone:")
    # Enter on another visit (the next action): the "Undone" line goes.
    table.setCurrentIndex(m.index(m.row_for(time(10, 0)), 0))
    QTest.keyClick(table, Qt.Key.Key_Return)
    assert not bar.isVisible()
    details = view.acts.active_dialog
    assert isinstance(details, QMessageBox) and "Anna Smith" in details.text()
    QTest.keyClick(details, Qt.Key.Key_Escape)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=WAIT)
    # A booking's bar goes when the day changes.
    table.setCurrentIndex(m.index(m.row_for(time(9, 0)), 1))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(table, Qt.Key.Key_Return)
    assert bar.isVisible() and bar.text().startswith("Booked José Núñez")
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(table, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert view.day == world.day + timedelta(days=1) and not bar.isVisible()


def test_the_current_cell_has_a_clear_frame_on_free_time_and_on_a_visit(
    styled: QApplication, qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    # With the window's style sheet, whose table selection colour is pale.
    book_at(sqlite_clinic, world, "10:00", world.patient_id)
    reload(qtbot, view)
    m, table = view.model, view.table
    highlight = QApplication.palette().color(QPalette.ColorRole.Highlight).rgb()
    table.setFocus()
    for at in (time(9, 0), time(10, 0)):  # free, a visit
        table.setCurrentIndex(m.index(m.row_for(at), 0))
        QTest.keyClick(table, Qt.Key.Key_Down)
        QTest.keyClick(table, Qt.Key.Key_Up)
        rect = table.visualRect(table.currentIndex())
        image = table.viewport().grab().toImage()
        y = rect.center().y()
        assert image.pixelColor(rect.left() + 1, y).rgb() == highlight, at
        assert image.pixelColor(rect.right() - 1, y).rgb() == highlight, at
        assert image.pixelColor(rect.left() + 12, y).rgb() != highlight, at  # not filled
