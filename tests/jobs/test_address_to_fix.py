"""The Jobs page lists a reminder that could not be sent, with the reason and the patient,
and opens that patient's record so the desk can fix the address; Retry then sends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from hms_desktop.db.models import Patient
from hms_desktop.jobs.runner import run_job
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.admin.admin_tab import AdminTab
from hms_desktop.ui.admin.patient_form import PatientFormDialog
from hms_desktop.ui.common.operations import Operations
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on

DAY = date(2026, 6, 16)
WAIT = 20_000


@pytest.fixture
def ops(qtbot: QtBot) -> Iterator[Operations]:
    o = Operations()
    yield o
    qtbot.waitUntil(lambda: not o.busy, timeout=WAIT)
    assert o.shutdown()


def test_the_jobs_page_shows_the_bad_address_and_opens_the_patient_to_fix_it(
    sqlite_clinic: Clinic,
    clock: FakeClock,
    smtp_server: SmtpServer,
    qtbot: QtBot,
    ops: Operations,
) -> None:
    clinic = sqlite_clinic
    use_smtp(clinic, smtp_server.port)
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept)
    good = factories.patient(clinic, "Gina Good")
    bad = factories.patient(clinic, "Eve Linebreak")
    with clinic.db.write() as session:
        session.execute(
            update(Patient).where(Patient.id == bad).values(email="eve@mail.test\r\nX: y")
        )
    book_on(clinic, clock, doc, [good, bad], DAY)
    clock.set(at(DAY, "08:00"))
    run_job(clinic, "reminders", trigger="schedule")
    assert len(smtp_server.mailbox.messages) == 1

    stats = StatsService(clinic)
    tab = AdminTab(clinic, factories.RECEPTION, ops, stats)
    qtbot.addWidget(tab)
    tab.resize(1200, 800)
    tab.show()
    tab.show_page("jobs")
    panel = tab.jobs
    qtbot.waitUntil(lambda: len(panel.outbox_model.rows) == 1, timeout=WAIT)

    # The default filter lists what needs someone: the one that could not be sent.
    [row] = panel.outbox_model.rows
    assert row.status_label == "Fix address"
    model = panel.outbox_model
    texts = {
        model.headerData(c, Qt.Orientation.Horizontal): model.index(0, c).data()
        for c in range(model.columnCount())
    }
    assert texts["Patient"] == f"Eve Linebreak (#{bad})"
    assert texts["Problem"].startswith("Not sent: the address")
    assert "U+000A" in texts["Problem"]

    assert not panel.open_patient_button.isEnabled()
    panel.outbox_table.selectRow(0)
    assert panel.open_patient_button.isEnabled()
    qtbot.mouseClick(panel.open_patient_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.patients.findChild(PatientFormDialog) is not None, timeout=WAIT)
    dialog = tab.patients.findChild(PatientFormDialog)
    assert tab.current_page == "patients"
    assert dialog.name.text() == "Eve Linebreak"
    dialog.email.setText("eve@mail.test")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()

    tab.show_page("jobs")
    panel.outbox_table.selectRow(0)
    with qtbot.waitSignal(panel.action_finished, timeout=WAIT) as finished:
        panel.on_retry_selected()
    assert "1 queued again" in finished.args[0]
    assert smtp_server.mailbox.recipients[-1] == "eve@mail.test"
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    stats.close()
