"""Garbage collection on the UI thread only (after Anki's ``aqt.GarbageCollector``).

Python's cycle collector runs in whichever thread happens to allocate when a
threshold is crossed. When that is a worker (a demo clinic being built, an export)
and the cycle holds a Qt object that lives on the UI thread, the object is
destroyed from the wrong thread and a later event for it crashes the process
(seen: a segmentation fault in ``QObject::~QObject`` while Qt ran a deferred
delete). So the application turns automatic collection off and collects on the UI
thread, from a timer, with the same generation thresholds Python would use.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadGarbageCollector(QObject):
    """Turns automatic collection off and collects on this (the UI) thread instead."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self.collections = 0  #: how many times it collected (tests read it)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds."""
        count0, count1, count2 = gc.get_count()
        if count0 <= self._threshold[0]:
            return
        generation = 0
        if count1 > self._threshold[1]:
            generation = 2 if count2 > self._threshold[2] else 1
        gc.collect(generation)
        self.collections += 1

    def stop(self) -> None:
        """Collect once more and give collection back to Python (at exit)."""
        self._timer.stop()
        gc.collect()
        gc.enable()
