"""Fixtures of the export tests: a clinic with a recorded history, and an output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from tests.exports.helpers import HistoryWorld, build_history


@pytest.fixture
def history(clinic: Clinic, clock: FakeClock) -> HistoryWorld:
    return build_history(clinic, clock)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def leftovers(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden ones included (a partial file would show here)."""
    return sorted(p.name for p in folder.iterdir())
