"""The real-window tier: its tests are marked ``realwindow`` and use the GUI tests' guards."""

from __future__ import annotations

import pytest

from tests.gui.conftest import _no_leftover_threads_or_windows, styled

__all__ = ["_no_leftover_threads_or_windows", "styled"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.realwindow)
