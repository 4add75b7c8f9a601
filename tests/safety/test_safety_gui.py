"""The admin's audit log view and the backup/restore menu actions, on real widgets offscreen."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from hms_desktop.db.engine import sqlite_path
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.safety import audit
from hms_desktop.services.safety.restore import RestoreResult
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.admin.audit_view import AuditLogView
from hms_desktop.ui.admin.backup_actions import backup_now, restore_from
from hms_desktop.ui.common.operations import Operations
from tests import factories as f

#: Where screenshots land for a person to look at (kept out of the repository).
SHOTS = Path(os.environ.get("HMS_SCREENSHOT_DIR", "/tmp/hms-shots"))


@pytest.fixture
def ops(qtbot) -> Iterator[Operations]:
    operations = Operations()
    yield operations
    assert operations.shutdown()
    operations.deleteLater()


@pytest.fixture
def busy_clinic(sqlite_clinic: Clinic) -> Clinic:
    w = f.world(sqlite_clinic)
    booking.book(
        sqlite_clinic,
        f.RECEPTION,
        patient_id=w.patient_id,
        doctor_id=w.doctor_id,
        day=w.day,
        at="09:00",
    )
    booking.book(
        sqlite_clinic,
        f.RECEPTION,
        patient_id=w.other_patient_id,
        doctor_id=w.other_doctor_id,
        day=w.day,
        at="10:30",
        reason='=HYPERLINK("x")',
    )
    return sqlite_clinic


def _view(qtbot, clinic: Clinic, ops: Operations, actor=SYSTEM) -> AuditLogView:
    view = AuditLogView(clinic, actor, ops)
    qtbot.addWidget(view)
    view.resize(1100, 520)
    return view


def _reload(qtbot, view: AuditLogView, change) -> int:
    with qtbot.waitSignal(view.loaded, timeout=10_000) as blocker:
        change()
        view.refresh()  # the filters also reload by themselves; this makes the wait exact
    return int(blocker.args[0])


def test_admin_views_and_filters_the_audit_log(
    qtbot, qtmodeltester, busy_clinic: Clinic, ops: Operations
) -> None:
    # Audit times are real UTC; the view's default dates are the clinic's today.
    busy_clinic.clock.set(datetime.now(busy_clinic.settings.tz))  # type: ignore[attr-defined]
    view = _view(qtbot, busy_clinic, ops)
    with qtbot.waitSignal(view.loaded, timeout=10_000) as blocker:
        view.show()
    listed = audit.list_entries(busy_clinic, SYSTEM)
    # Newest first: the view's own read of the log, recorded after it loaded.
    assert (listed[0].action, listed[0].actor) == ("audit.read", "system")
    everything = listed[1:]
    assert blocker.args == [len(everything)]
    assert [view.model.row_at(i).id for i in range(view.model.rowCount())] == [  # type: ignore[union-attr]
        e.id for e in everything
    ]
    qtmodeltester.check(view.model)
    SHOTS.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(SHOTS / "audit_view.png"))

    assert _reload(qtbot, view, lambda: view.search_box.setText("appointment.book")) == 2
    assert {view.model.row_at(i).action for i in range(2)} == {"appointment.book"}  # type: ignore[union-attr]
    details = view.model.index(0, 5).data()
    assert "day: " in details and "{" not in details  # JSON shown as readable pairs

    assert _reload(qtbot, view, lambda: view.user_box.setText("desk")) == 2
    assert _reload(qtbot, view, lambda: view.user_box.setText("nobody")) == 0
    assert view.table.is_showing_empty_state()
    view.search_box.clear()
    view.user_box.clear()

    patients_index = view.action_box.findData("patient.")
    count = _reload(qtbot, view, lambda: view.action_box.setCurrentIndex(patients_index))
    actions = {view.model.row_at(i).action for i in range(count)}  # type: ignore[union-attr]
    assert actions == {"patient.register"}

    view.action_box.setCurrentIndex(0)
    today = everything[0].at.astimezone(busy_clinic.settings.tz).date()  # the clinic's day
    shown = _reload(qtbot, view, lambda: view.dates_box.setChecked(True))
    rows = [view.model.row_at(i) for i in range(shown)]
    # Today's entries: all of the first listing, and the reads of the log since then.
    assert {r.id for r in rows if r.action != "audit.read"} == {e.id for e in everything}  # type: ignore[union-attr]
    assert shown > len(everything)
    assert view.date_from.isEnabled()
    assert (
        _reload(qtbot, view, lambda: view.date_to.setDate(today.replace(year=today.year - 1))) == 0
    )
    qtmodeltester.check(view.model)
    view.grab().save(str(SHOTS / "audit_view_filtered.png"))


def test_audit_view_refuses_a_receptionist(qtbot, busy_clinic: Clinic, ops: Operations) -> None:
    view = _view(qtbot, busy_clinic, ops, actor=f.RECEPTION)
    with qtbot.waitSignal(view.failed, timeout=10_000) as blocker:
        view.refresh()
    assert "Only an administrator" in blocker.args[0]
    assert view.model.rowCount() == 0
    assert "Only an administrator" in view.status.text()


def test_audit_view_is_usable_from_the_keyboard(
    qtbot, busy_clinic: Clinic, ops: Operations
) -> None:
    view = _view(qtbot, busy_clinic, ops)
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.show()
    qtbot.waitExposed(view)
    # In the window, Ctrl+F and F5 are the main window's keys, which reach the view
    # through the Admin tab (tests/gui/test_tools_and_pages.py); here the view's own parts.
    view.table.view.setFocus()
    view.focus_search()
    assert view.search_box.hasFocus()
    with qtbot.waitSignal(view.loaded, timeout=10_000) as blocker:
        qtbot.keyClicks(view.search_box, "login")  # reloads after the typing pause
    assert blocker.args == [0]
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()


def _message_boxes(parent: QWidget) -> list[QMessageBox]:
    return [w for w in parent.findChildren(QMessageBox) if w.isVisible()]


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_backup_now_and_restore_from_the_menu(
    qtbot, busy_clinic: Clinic, ops: Operations, tmp_path: Path
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    target = tmp_path / "saved" / "monday.sqlite3"
    dialog = backup_now(window, busy_clinic, SYSTEM, ops)
    assert isinstance(dialog, QFileDialog)
    target.parent.mkdir()
    dialog.setDirectory(str(target.parent))  # as a person would: open the folder, type a name
    dialog.selectFile(target.name)
    dialog.accept()
    qtbot.waitUntil(lambda: bool(_message_boxes(window)), timeout=10_000)
    box = _message_boxes(window)[0]
    assert str(target) in box.text(), box.text()
    assert _integrity(target) == "ok"
    box.grab().save(str(SHOTS / "backup_done.png"))
    box.close()
    assert audit.list_entries(busy_clinic, SYSTEM, action_prefix="database.backup")

    f.patient(busy_clinic, "Registered After Backup")
    restored: list[RestoreResult] = []
    question = restore_from(window, busy_clinic, SYSTEM, ops, target, on_restored=restored.append)
    assert isinstance(question, QMessageBox)
    question.grab().save(str(SHOTS / "restore_question.png"))
    restore_button = next(
        b for b in question.findChildren(QPushButton) if b.text().replace("&", "") == "Restore"
    )
    restore_button.click()
    qtbot.waitUntil(lambda: bool(restored), timeout=15_000)
    result = restored[0]
    assert result.replaced is not None and result.replaced.exists()
    names = [p.full_name for p in patients.search_patients(busy_clinic, SYSTEM, "")]
    assert "Registered After Backup" not in names and len(names) == 2
    qtbot.waitUntil(lambda: bool(_message_boxes(window)), timeout=5_000)
    for box in _message_boxes(window):
        box.close()
    live = sqlite_path(busy_clinic.db.url)
    assert live is not None and _integrity(live) == "ok"


def test_menu_backup_is_for_admins_and_restore_can_be_cancelled(
    qtbot, busy_clinic: Clinic, ops: Operations, tmp_path: Path
) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    target = tmp_path / "desk.sqlite3"
    op = backup_now(window, busy_clinic, f.RECEPTION, ops, target)
    with qtbot.waitSignal(op.finished, timeout=10_000):  # type: ignore[union-attr]
        pass
    qtbot.waitUntil(lambda: bool(_message_boxes(window)), timeout=5_000)
    box = _message_boxes(window)[0]
    assert "Only an administrator" in box.text()
    box.close()
    assert not target.exists()

    live = sqlite_path(busy_clinic.db.url)
    assert live is not None
    question = restore_from(window, busy_clinic, SYSTEM, ops, tmp_path / "whatever.sqlite3")
    assert isinstance(question, QMessageBox)
    question.reject()  # Cancel / Escape: nothing happens
    qtbot.wait(50)
    assert not ops.busy
    assert not list(live.parent.glob("clinic.sqlite3.replaced-*"))
