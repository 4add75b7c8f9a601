"""The start-up before the window: the log file (opened after the show, losing nothing) and --version."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hms_desktop.app import LogFile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HMS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test-log-file-{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_records_before_open_are_written_in_order_when_the_file_opens(data_dir: Path) -> None:
    handler = LogFile(logging.Formatter("%(message)s"))
    logger = _logger(handler)
    try:
        logger.info("one")
        logger.info("two")
        log = data_dir / "logs" / "hms-desktop.log"
        assert not log.exists()  # nothing is opened before the window is up
        assert handler.open() == log
        logger.info("three")
        handler.flush()
        assert log.read_text(encoding="utf-8").splitlines() == ["one", "two", "three"]
        assert handler.open() == log  # a second open changes nothing
    finally:
        handler.close()


def test_records_from_other_threads_while_opening_are_not_lost(data_dir: Path) -> None:
    handler = LogFile(logging.Formatter("%(message)s"))
    logger = _logger(handler)
    stop = threading.Event()
    sent: list[int] = []

    def chatter() -> None:
        n = 0
        while not stop.is_set() or n < 200:
            logger.info("line %d", n)
            sent.append(n)
            n += 1

    worker = threading.Thread(target=chatter)
    worker.start()
    try:
        handler.open()
        stop.set()
        worker.join(timeout=30)
        handler.flush()
        lines = (data_dir / "logs" / "hms-desktop.log").read_text(encoding="utf-8").splitlines()
        assert lines == [f"line {n}" for n in sent]
    finally:
        stop.set()
        handler.close()


def test_an_unwritable_log_folder_falls_back_to_stderr(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    monkeypatch.setenv("HMS_DATA_DIR", str(blocker))
    handler = LogFile(logging.Formatter("%(message)s"))
    try:
        assert handler.open() is None
        assert handler.path is None
    finally:
        handler.close()


def test_a_start_that_fails_before_the_window_still_writes_its_log(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HMS_DATA_DIR": str(tmp_path / "data"),
        "HMS_CONFIG_DIR": str(tmp_path / "config"),
        "HMS_CACHE_TTL_SECONDS": "not a number",
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hms_desktop.app", "--quit-after-show"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    log = (tmp_path / "data" / "logs" / "hms-desktop.log").read_text(encoding="utf-8")
    assert "bad settings" in log


def test_version_is_printed_on_standard_output() -> None:
    from importlib import metadata

    done = subprocess.run(
        [sys.executable, "-m", "hms_desktop.app", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (
        0,
        f"hms-desktop {metadata.version('hms-desktop')}",
        "",
    )
