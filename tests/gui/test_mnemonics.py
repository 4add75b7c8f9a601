"""Every Alt+letter on screen reaches one thing: no two visible mnemonics share a letter.

Two widgets (or a widget and a menu) on one letter make Qt take turns between them,
so a receptionist's Alt+F opens the finder one time and the File menu the next. For
each role, tab and page, the visible buttons, buddied labels, tab bars and the menu
bar are checked together.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
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
        return [a.text() for a in widget.actions() if a.isVisible()]
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
