"""GUI test guards: no QThread may outlive a test, and no top-level window may stay open.

After napari's ``_dangling_qthreads``: every ``QThread.start`` during a test is
recorded, and a thread still running at teardown fails the test (it would crash
the run later). A visible top-level widget left behind fails it too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QThread
from PySide6.QtWidgets import QApplication

from hms_desktop.ui.shell.style import apply_style


@pytest.fixture(autouse=True)
def _no_leftover_threads_or_windows(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if not {"qtbot", "qapp"} & set(request.fixturenames):
        yield
        return
    started: list[QThread] = []
    original_start = QThread.start

    def recording_start(self: QThread, *args: Any) -> None:
        started.append(self)
        original_start(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    app = QApplication.instance()
    assert app is not None
    # Let finished workers deliver their last signals and windows their close events.
    for _ in range(3):
        app.processEvents()
    running = []
    for thread in started:
        try:
            # A worker whose outcome was delivered may still be returning from run(): it
            # gets a moment to end. One still running after that is left over (and the
            # wait keeps the run from crashing by destroying it live).
            if thread.isRunning() and not thread.wait(2_000):
                running.append(repr(thread))
                thread.wait(10_000)
        except RuntimeError:  # already deleted by Qt: it had finished
            continue
    windows = [
        f"{type(w).__name__} {w.windowTitle()!r}"
        for w in QApplication.topLevelWidgets()
        if w.isVisible() and w.isWindow()
    ]
    for widget in QApplication.topLevelWidgets():  # do not let one failure cascade
        if widget.isVisible():
            widget.close()
    # Free this test's Qt objects now, while the application is alive: left to the
    # interpreter's final garbage collection, PySide 6.12 can crash the run at exit.
    gc.collect()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if running:
        pytest.fail(f"QThreads still running after the test: {running}")
    if windows:
        pytest.fail(f"top-level windows left open after the test: {windows}")


@pytest.fixture
def styled(qapp: QApplication) -> Iterator[QApplication]:
    """The application's own look for this test only."""
    style, palette, sheet, font = (
        qapp.style().name(),
        qapp.palette(),
        qapp.styleSheet(),
        qapp.font(),
    )
    apply_style(qapp)
    flash = qapp.cursorFlashTime()
    qapp.setCursorFlashTime(0)  # a blinking caret would make every picture differ
    yield qapp
    qapp.setCursorFlashTime(flash)
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setFont(font)
