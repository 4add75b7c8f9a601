"""resources_dir() finds resources/ from the checkout and inside a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hms_desktop.resources_path import resources_dir
from tests.packaging.paths import ROOT


def test_finds_the_checkout_resources_folder() -> None:
    found = resources_dir()
    assert found == ROOT / "resources"
    assert found.is_absolute()
    assert (found / "icons" / "hms-desktop.svg").is_file()


def test_finds_the_bundled_folder_when_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"


def test_a_bundle_without_resources_names_the_missing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "resources").replace("\\", r"\\")):
        resources_dir()
