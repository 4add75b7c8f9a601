"""Monthly reports: exactly one month's appointments, escaped HTML, stored, emailed, viewable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pypdf
import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from hms_desktop.db.models import Patient
from hms_desktop.errors import ValidationError
from hms_desktop.jobs.runner import run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import reports
from hms_desktop.services.scheduling import booking
from hms_desktop.ui.common.operations import Operations
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on, close_visit

EVIL = "<script>alert('x')</script> & Co"


class _Desktop(QObject):
    """Takes the files the application hands to the desktop (instead of a PDF viewer)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[Path] = []

    @Slot(QUrl)
    def open_url(self, url: QUrl) -> None:
        self.opened.append(Path(url.toLocalFile()))


@contextmanager
def opened_urls() -> Iterator[list[Path]]:
    """The local files and folders opened meanwhile (Qt's own hook for file: URLs)."""
    desktop = _Desktop()
    QDesktopServices.setUrlHandler("file", desktop, "open_url")
    try:
        yield desktop.opened
    finally:
        QDesktopServices.unsetUrlHandler("file")


def _november(clinic: Clinic, clock: FakeClock) -> dict[str, int]:
    """Visits around November 2026 for Dr. Ada, plus another doctor's November visit."""
    dept = factories.department(clinic, "Neurology")
    ada = factories.doctor(clinic, dept, "Dr. Ada Lovelace")
    bob = factories.doctor(clinic, dept, "Dr. Bob Other")
    p1 = factories.patient(clinic, "Anna Smith")
    p2 = factories.patient(clinic, "Eve Il")
    # Names cannot carry < or > any more; one stored before that rule (or imported)
    # must still come out of the report as text.
    with clinic.db.write() as session:
        session.execute(update(Patient).where(Patient.id == p2).values(full_name=EVIL))
    p3 = factories.patient(clinic, "Carl Third")
    ids = {
        # Late on the last day of October and just after midnight on 1 December
        # (23:00 on 30 November in UTC): both outside November in the clinic's zone.
        "oct31": book_on(clinic, clock, ada, [p1], date(2026, 10, 31), start="23:00")[0],
        "nov1": book_on(clinic, clock, ada, [p1], date(2026, 11, 1), start="00:00")[0],
        "nov15": book_on(clinic, clock, ada, [p2, p3], date(2026, 11, 15))[0],
        "nov20": book_on(clinic, clock, ada, [p2], date(2026, 11, 20))[0],
        "nov30": book_on(clinic, clock, ada, [p3], date(2026, 11, 30), start="23:00")[0],
        "dec1": book_on(clinic, clock, ada, [p1], date(2026, 12, 1), start="00:00")[0],
        "bob_visit": book_on(clinic, clock, bob, [p1], date(2026, 11, 10))[0],
    }
    clock.set(at(date(2026, 12, 1), "08:00"))
    close_visit(clinic, ids["nov1"], "completed", treat="Migraine <aura>")
    close_visit(clinic, ids["nov15"], "completed", treat=EVIL)
    close_visit(clinic, ids["nov20"], "no_show")
    close_visit(clinic, ids["oct31"], "completed", treat="October only")
    reports_day = date(2026, 11, 15)

    # The second Nov 15 visit (Carl at 09:30) is cancelled.
    rows = booking.list_appointments(
        clinic, SYSTEM, booking.AppointmentFilter(date_from=reports_day, date_to=reports_day)
    )
    booking.cancel(clinic, SYSTEM, next(r.id for r in rows if r.patient == "Carl Third"))
    return {"ada": ada, "bob": bob, **ids}


def test_a_report_counts_exactly_its_months_appointments(clinic: Clinic, clock: FakeClock) -> None:
    ids = _november(clinic, clock)

    result = run_job(clinic, "monthly-report", trigger="schedule")

    assert (result.status, result.period_key) == ("done", "2026-11")
    assert result.counts["generated"] == 2
    by_doctor = {r.doctor_id: r for r in reports.list_reports(clinic, SYSTEM)}
    ada = by_doctor[ids["ada"]]
    assert ada.month == "2026-11"
    assert (ada.total, ada.completed, ada.cancelled, ada.no_shows) == (5, 2, 1, 1)
    # Patients seen: Anna and Eve came; Carl's visits were cancelled or are still booked.
    assert (ada.treatments, ada.unique_patients) == (2, 2)
    assert by_doctor[ids["bob"]].total == 1

    _row, page = reports.get_report_html(clinic, SYSTEM, ada.id)
    tables = page.split("<h2>Appointments</h2>", 1)[1]  # the header names dates too
    assert "<td>2026-11-01</td><td>00:00</td>" in tables
    assert "<td>2026-11-30</td><td>23:00</td>" in tables
    assert "2026-10-31" not in tables
    assert "2026-12-01" not in tables
    assert "October only" not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in page
    assert "Migraine &lt;aura&gt;" in page


def test_the_report_is_emailed_to_the_doctor(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port)
    ids = _november(clinic, clock)

    run_job(clinic, "monthly-report", "2026-11", trigger="cli")

    ada_mail = factories.doctors.get_doctor(clinic, ids["ada"]).email
    [mail] = [m for m in smtp_server.mailbox.messages if m.rcpt_tos == [ada_mail]]
    assert mail.subject == "Monthly report November 2026: Dr. Ada Lovelace"
    assert "Total appointments: 5" in mail.text()
    assert "No-shows: 1" in mail.text()
    text = mail.text()
    assert "Patients seen: 2 (different patients with at least one completed visit)" in text
    # The email says truthfully what it holds: an HTML alternative, not an attachment.
    assert "There is no attachment" in text and "attached" not in text
    assert not [p for p in mail.message.iter_attachments()]
    assert "&lt;script&gt;" in mail.html()
    assert len(smtp_server.mailbox.messages) == 2


@pytest.mark.parametrize("bad", ["2026-13", "26-11", "November", ""])
def test_a_malformed_month_is_refused_with_a_message(bad: str) -> None:
    with pytest.raises(ValidationError, match="A month looks like 2026-11"):
        reports.parse_month(bad)


def test_the_report_opens_in_the_viewer_and_saves_a_valid_pdf(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from hms_desktop.ui.doctor.my_reports import MyReportsWidget
    from hms_desktop.ui.doctor.report_viewer import ReportViewer

    ids = _november(sqlite_clinic, clock)
    run_job(sqlite_clinic, "monthly-report", "2026-11", trigger="cli")
    ops = Operations()
    doctor = factories.doctor_actor(ids["ada"])
    widget = MyReportsWidget(sqlite_clinic, doctor, ops)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000) as loaded:
        widget.show()
    assert loaded.args == [1]  # only her own report
    assert widget.model.rows[0].month_label == "November 2026"

    with qtbot.waitSignal(widget.viewer_opened, timeout=10_000) as opened:
        qtbot.keyClick(widget.table, "\r")
    viewer = opened.args[0]
    assert isinstance(viewer, ReportViewer)
    text = viewer.plain_text()
    assert "Monthly report: November 2026" in text
    assert "Dr. Ada Lovelace" in text
    assert EVIL in text  # shown as text, not run as markup
    viewer.grab().save(str(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "viewer.png"))

    # Save as PDF asks nothing: a dated PDF in the PC's export folder, said where, openable.
    def asked(*_args: object, **_kwargs: object) -> tuple[str, str]:
        raise AssertionError("Save as PDF asked with a save dialog")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", asked)
    export_dir = sqlite_clinic.pc.effective_export_dir
    first = export_dir / "report-2026-11-ada-lovelace.pdf"
    with opened_urls() as urls:
        qtbot.mouseClick(viewer.pdf_button, Qt.MouseButton.LeftButton)
        assert viewer.saved_path == first and first.read_bytes()[:5] == b"%PDF-"
        assert viewer.status.text() == f"Saved as {first.name} in {export_dir}."
        assert viewer.open_pdf_button.isVisible() and viewer.open_folder_button.isVisible()
        qtbot.mouseClick(viewer.open_pdf_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(viewer.open_folder_button, Qt.MouseButton.LeftButton)
    assert urls == [first, export_dir]
    reader = pypdf.PdfReader(str(first))
    assert len(reader.pages) >= 1
    extracted = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "November 2026" in extracted
    assert "Migraine" in extracted
    # Saved again (Ctrl+S), it never replaces the first.
    before = first.read_bytes()
    with qtbot.waitActive(viewer):
        viewer.activateWindow()
    qtbot.keySequence(viewer, "Ctrl+S")  # the button's shortcut: an animated click
    second = export_dir / "report-2026-11-ada-lovelace (2).pdf"
    qtbot.waitUntil(lambda: viewer.saved_path == second, timeout=10_000)
    assert second.read_bytes()[:5] == b"%PDF-"
    assert first.read_bytes() == before
    assert f"the {first.name} already there is kept" in viewer.status.text()
    assert sorted(export_dir.iterdir()) == sorted([first, second])
    # Alt+D, the letter "Save as P&DF" underlines, saves too (Ctrl+S had taken its place).
    qtbot.keyClick(viewer, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    third = export_dir / "report-2026-11-ada-lovelace (3).pdf"
    qtbot.waitUntil(lambda: viewer.saved_path == third, timeout=10_000)
    assert third.read_bytes()[:5] == b"%PDF-"

    pdf = viewer.save_pdf(tmp_path / "november")
    assert pdf.name == "november.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    viewer.close()
    ops.shutdown()


def test_print_goes_through_the_same_document(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtPrintSupport import QPrinter

    from hms_desktop.ui.doctor.my_reports import MyReportsWidget
    from hms_desktop.ui.doctor.report_viewer import ReportViewer

    _november(sqlite_clinic, clock)
    run_job(sqlite_clinic, "monthly-report", "2026-11", trigger="cli")
    ops = Operations()
    widget = MyReportsWidget(sqlite_clinic, SYSTEM, ops)  # the desk sees every doctor's
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000) as loaded:
        widget.resize(900, 300)
        widget.show()
    assert loaded.args == [2]
    assert widget.model.headerData(1, Qt.Orientation.Horizontal) == "Doctor"
    widget.grab().save(str(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "my_reports.png"))
    widget.table.selectRow(1)
    with qtbot.waitSignal(widget.viewer_opened, timeout=10_000) as opened:
        widget.open_button.click()
    viewer: ReportViewer = opened.args[0]
    assert "Dr. Bob Other" in viewer.plain_text()

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    viewer.print_to(printer)
    del printer
    reader = pypdf.PdfReader(str(tmp_path / "printed.pdf"))
    assert "Dr. Bob Other" in " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    viewer.close()
    ops.shutdown()


def test_double_click_opens_one_viewer_and_a_newer_one_replaces_it(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot
) -> None:
    import shiboken6
    from PySide6.QtWidgets import QApplication

    from hms_desktop.ui.doctor.my_reports import MyReportsWidget
    from hms_desktop.ui.doctor.report_viewer import ReportViewer

    _november(sqlite_clinic, clock)
    run_job(sqlite_clinic, "monthly-report", "2026-11", trigger="cli")
    ops = Operations()
    widget = MyReportsWidget(sqlite_clinic, SYSTEM, ops)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.show()
    opened: list[ReportViewer] = []
    widget.viewer_opened.connect(opened.append)
    view = widget.table
    rect = view.visualRect(widget.model.index(0, 0))
    # A double-click as the platform delivers it: press, release, then the double-click.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: len(opened) == 1 and not ops.busy, timeout=10_000)
    QApplication.processEvents()
    assert len(opened) == 1  # one double-click, one report fetched and shown
    # Another report replaces it, and the widget keeps track of the one on screen.
    widget.table.selectRow(1)
    widget.open_button.click()
    qtbot.waitUntil(lambda: len(opened) == 2 and not ops.busy, timeout=10_000)
    first = opened[0]
    qtbot.waitUntil(lambda: not shiboken6.isValid(first) or not first.isVisible(), timeout=10_000)
    QApplication.processEvents()  # the first viewer is deleted now
    assert widget.viewer is opened[1] and opened[1].isVisible()
    viewers = [w for w in QApplication.topLevelWidgets() if isinstance(w, ReportViewer)]
    assert [v for v in viewers if v.isVisible()] == [opened[1]]
    opened[1].close()
    ops.shutdown()


def _error_box() -> QMessageBox:
    return next(
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == "errorMessage" and w.isVisible()
    )


def test_a_pdf_that_cannot_be_written_says_what_to_do_and_leaves_nothing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from hms_desktop.ui.doctor.report_viewer import ReportViewer, report_pdf_name

    # The export folder's place is taken by a file: the folder cannot be made.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    target = report_pdf_name(blocker / "exports", "2026-11", "Dr. X Y")
    viewer = ReportViewer("<h1>Report</h1>", "Monthly report 2026-11 Dr. X Y", pdf_path=target)
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.on_save_pdf() is None
    box = _error_box()
    assert f"Could not save the report in {target.parent}" in box.text()
    assert "Choose another export folder under File > Settings" in box.text()
    assert "not your fault" not in box.text()
    box.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]
    assert not viewer.open_pdf_button.isVisible()

    # Drawn whole, then no free name to put it under: no file, and no partial file left.
    folder = tmp_path / "exports"
    folder.mkdir()
    target = report_pdf_name(folder, "2026-11", "Dr. X Y")
    taken = [target] + [target.with_name(f"{target.stem} ({n}).pdf") for n in range(2, 100)]
    for path in taken:
        path.write_bytes(b"an earlier report")
    viewer.pdf_path = target
    assert viewer.on_save_pdf() is None
    box = _error_box()
    assert "99 files of that name are there already" in box.text()
    box.close()
    assert sorted(folder.iterdir()) == sorted(taken)  # hidden partial files would show here
    assert all(path.read_bytes() == b"an earlier report" for path in taken)
    viewer.close()


def test_print_without_a_printer_offers_the_dated_pdf_and_says_where_it_went(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtPrintSupport import QPrinterInfo
    from PySide6.QtWidgets import QDialog

    from hms_desktop.ui.doctor.report_viewer import ReportViewer, report_pdf_name

    if QPrinterInfo.availablePrinterNames():
        pytest.skip("a printer is installed here: the dialog would offer it instead of a PDF")
    target = report_pdf_name(tmp_path / "exports", "2026-11", "Dr. Ada Lovelace")
    viewer = ReportViewer("<h1>Report of November</h1>", "Monthly report", pdf_path=target)
    qtbot.addWidget(viewer)
    viewer.show()
    with qtbot.waitActive(viewer):
        viewer.activateWindow()
    qtbot.keySequence(viewer, "Ctrl+P")  # the button's shortcut: an animated click
    qtbot.waitUntil(lambda: viewer.print_dialog is not None, timeout=10_000)
    dialog = viewer.print_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.printer().outputFileName() == str(target)
    dialog.done(QDialog.DialogCode.Accepted)
    assert viewer.saved_path == target and target.read_bytes()[:5] == b"%PDF-"
    assert viewer.status.text() == f"Saved as {target.name} in {target.parent}."
    viewer.close()
