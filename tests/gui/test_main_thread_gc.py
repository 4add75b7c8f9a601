"""Cycles are collected on the UI thread, from a timer, never by a worker's allocation."""

from __future__ import annotations

import gc

from hms_desktop.ui.common.main_thread_gc import MainThreadGarbageCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_moves_to_the_ui_thread_and_back(qtbot) -> None:
    was_enabled = gc.isenabled()
    collector = MainThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()  # a worker's allocation can no longer trigger it
        for _ in range(gc.get_threshold()[0] + 10):
            _Cycle()  # garbage that only the cycle collector frees
        qtbot.waitUntil(lambda: collector.collections > 0, timeout=5000)
        assert gc.get_count()[0] < gc.get_threshold()[0]
    finally:
        collector.stop()
    assert gc.isenabled()
    if not was_enabled:
        gc.disable()
