"""The status bar's messages end in "…" when they do not fit, and say the rest in the tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from hms_desktop.ui.common.status_bar import ElidingStatusBar

LONG = (
    "Booked Maria Kowalski (#1234) with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun at 09:30, "
    "and a confirmation with a calendar invitation goes to maria.kowalski@example.org."
)


def _window(qtbot, width: int) -> tuple[QMainWindow, ElidingStatusBar]:
    window = QMainWindow()
    bar = ElidingStatusBar(window)
    window.setStatusBar(bar)
    bar.addPermanentWidget(QLabel("Anna Admin · Administrator"))
    bar.addPermanentWidget(QLabel("clinic.sqlite3"))
    qtbot.addWidget(window)
    window.resize(width, 300)
    window.show()
    qtbot.waitExposed(window)
    return window, bar


def _fits(bar: ElidingStatusBar) -> bool:
    return bar.fontMetrics().horizontalAdvance(bar.currentMessage()) <= bar.room()


def test_a_long_message_is_elided_to_its_room_and_whole_in_the_tooltip(qtbot) -> None:
    window, bar = _window(qtbot, 640)
    bar.say(LONG)
    shown = bar.currentMessage()
    assert shown != LONG and shown.endswith("…") and LONG.startswith(shown[:-1])
    assert _fits(bar)
    assert bar.toolTip() == LONG and bar.full_message() == LONG
    # Wider: the whole message again, no tooltip needed.
    window.resize(2400, 300)
    qtbot.waitUntil(lambda: bar.currentMessage() == LONG)
    assert bar.toolTip() == ""
    # Narrower again: elided again.
    window.resize(500, 300)
    qtbot.waitUntil(lambda: bar.currentMessage().endswith("…"))
    assert _fits(bar)


def test_a_short_message_is_left_whole(qtbot) -> None:
    _, bar = _window(qtbot, 1024)
    bar.say("Profile saved.")
    assert bar.currentMessage() == "Profile saved." and bar.toolTip() == ""


def test_a_message_that_times_out_takes_its_tooltip_with_it(qtbot) -> None:
    _, bar = _window(qtbot, 500)
    with qtbot.waitSignal(bar.messageChanged, timeout=5000, check_params_cb=lambda m: m == ""):
        bar.say(LONG, 50)
    assert bar.toolTip() == "" and bar.full_message() == ""


def test_another_message_in_its_place_is_not_overwritten_by_a_resize(qtbot) -> None:
    window, bar = _window(qtbot, 500)
    bar.say(LONG)
    bar.showMessage("Opening…")  # straight through QStatusBar (the start-up screen does)
    assert bar.toolTip() == ""
    window.resize(900, 300)
    qtbot.waitUntil(lambda: window.width() == 900)
    assert bar.currentMessage() == "Opening…"
