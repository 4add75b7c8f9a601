"""Pictures of the whole window per role, on the demo clinic, at 1280x800, offscreen.

The test checks what they show, so an empty or broken window fails. The pictures
stay in the test's temporary folder: the README's come from the real-window tier
(``tests/realwindow``), whose fonts and window frame are the ones a person sees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.people import accounts
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.shell.app_window import AppWindow
from hms_desktop.ui.shell.main_window import MainWindow
from hms_desktop.ui.shell.sign_in import DemoAccount

SHOTS = Path()  # the test's temporary folder: see _pictures_in_tmp
WAIT = 20_000


@pytest.fixture(autouse=True)
def _pictures_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SHOTS", tmp_path / "screenshots")


def _distinct_colours(image: QImage) -> int:
    step = 16
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


def _save(widget: QWidget, name: str) -> QImage:
    SHOTS.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()  # let labels that just changed text lay out again
    image = widget.grab().toImage()
    assert image.save(str(SHOTS / name))
    assert _distinct_colours(image) > 12, f"{name} looks empty"
    return image


def test_window_screenshots_per_role(qtbot, styled, sqlite_clinic) -> None:
    summary = demo_data.generate(sqlite_clinic, seed=1, doctors=12, patients=300)
    by_role = {}
    for account in summary.accounts:
        by_role.setdefault(account.role, account)
    ops = Operations()
    stats = StatsService(sqlite_clinic)

    login = AppWindow(ops)
    qtbot.addWidget(login)
    with qtbot.waitExposed(login):
        login.show()
    _save(login, "sign-in-opening.png")  # the first thing on screen, before the clinic is open
    login.show_sign_in_ready(
        sqlite_clinic,
        [DemoAccount(a.username, summary.password, a.role) for a in summary.accounts[:6]],
    )
    _save(login, "login.png")
    login.close()

    def window_for(role: str) -> MainWindow:
        actor = accounts.login(sqlite_clinic, by_role[role].username, summary.password)
        window = MainWindow(sqlite_clinic, actor, stats)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        with qtbot.waitExposed(window):
            window.show()
        return window

    admin = window_for("admin")
    dashboard = admin.admin_tab.dashboard
    qtbot.waitUntil(
        lambda: dashboard.result is not None and dashboard._charts is not None, timeout=WAIT
    )
    qtbot.waitUntil(lambda: not admin.ops.busy, timeout=WAIT)
    assert dashboard.patients.value.text() == "300"
    assert dashboard.doctors.value.text() == "12"
    assert int(dashboard.appointments.value.text().replace(",", "")) > 1000
    shot = _save(admin, "admin.png")
    assert (shot.width(), shot.height()) == (1280, 800)

    admin.admin_tab.show_page("appointments")
    qtbot.waitUntil(lambda: admin.admin_tab.appointments.model.rowCount() > 0, timeout=WAIT)
    qtbot.waitUntil(lambda: not admin.ops.busy, timeout=WAIT)
    admin.admin_tab.appointments.table.selectRow(2)
    _save(admin, "admin_appointments.png")
    admin.admin_tab.show_page("patients")
    qtbot.waitUntil(lambda: admin.admin_tab.patients.model.rowCount() == 100, timeout=WAIT)
    _save(admin, "admin_patients.png")
    admin.admin_tab.show_page("doctors")
    qtbot.waitUntil(lambda: admin.admin_tab.doctors.model.rowCount() == 12, timeout=WAIT)
    qtbot.waitUntil(lambda: not admin.ops.busy, timeout=WAIT)
    _save(admin, "admin_doctors.png")
    admin.close()

    for role in ("doctor", "patient"):
        window = window_for(role)
        assert window.tab_names()[0] == role.capitalize()
        qtbot.wait(300)  # the tabs load their lists through the operation helper
        qtbot.waitUntil(lambda w=window: not w.ops.busy, timeout=WAIT)
        shot = _save(window, f"{role}.png")
        assert (shot.width(), shot.height()) == (1280, 800)
        window.close()

    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    ops.shutdown()
    stats.close()
