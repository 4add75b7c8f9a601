"""What the appointment book's tests share: a book of two doctors tomorrow, real events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import StatsService
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f

WAIT = 10_000


@contextmanager
def shown_window(
    qtbot: QtBot, clinic: Clinic, size: tuple[int, int] = (1024, 768)
) -> Iterator[MainWindow]:
    """The front desk's main window on screen and active, closed and its work waited for
    afterwards."""
    stats = StatsService(clinic)
    shown = MainWindow(clinic, f.RECEPTION, stats)
    qtbot.addWidget(shown)
    shown.resize(*size)
    shown.show()
    with qtbot.waitActive(shown):
        shown.activateWindow()
    try:
        yield shown
    finally:
        shown.close()
        qtbot.waitUntil(lambda: not shown.ops.busy, timeout=WAIT)
        stats.close()


@pytest.fixture
def ops(qtbot: QtBot, sqlite_clinic: Clinic) -> Iterator[Operations]:
    helper = Operations()
    yield helper
    qtbot.waitUntil(lambda: not helper.busy, timeout=WAIT)
    assert helper.shutdown()


@pytest.fixture
def world(sqlite_clinic: Clinic) -> f.World:
    return f.world(sqlite_clinic)


def tomorrows_book(qtbot: QtBot, clinic: Clinic, ops: Operations, world: f.World) -> BookView:
    """The front desk's book on screen, showing tomorrow (both doctors 09:00-12:00)."""
    widget = BookView(clinic, f.RECEPTION, ops)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    qtbot.waitExposed(widget)
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.controls.next_button.click()
    assert widget.day == world.day
    return widget


@pytest.fixture
def view(qtbot: QtBot, sqlite_clinic: Clinic, ops: Operations, world: f.World) -> BookView:
    return tomorrows_book(qtbot, sqlite_clinic, ops, world)


def reload(qtbot: QtBot, view: BookView, change: Callable[[], object] | None = None) -> None:
    """Do ``change`` (or reload) and wait until the book shows what it read."""
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        (change or view.load)()


def asked(qtbot: QtBot, view: BookView) -> QMessageBox:
    """The question the book shows, once it is up (it may wait for a read on a worker)."""

    def shown() -> list[QMessageBox]:
        return [b for b in view.findChildren(QMessageBox) if b.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=WAIT)
    [box] = shown()
    assert view.acts.active_dialog is box
    return box


def book_at(clinic: Clinic, w: f.World, at: str, patient: int, doctor: int | None = None) -> int:
    return booking.book(
        clinic, SYSTEM, patient_id=patient, doctor_id=doctor or w.doctor_id, day=w.day, at=at,
        reason="Knee",
    )  # fmt: skip


def center(view: BookView, row: int, column: int) -> QPoint:
    return view.table.visualRect(view.model.index(row, column)).center()


def drag(view: BookView, start: QPoint, end: QPoint) -> None:
    port = view.table.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    QTest.mouseMove(port, end)
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
