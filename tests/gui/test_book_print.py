"""Printing the book with Ctrl+P: what it shows, named in the export folder, headed on
every page."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextDocument, QTextTable
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import schedule
from hms_desktop.services.views import day_words
from hms_desktop.ui.booking.book.view import BookView
from tests import factories as f
from tests.gui.book_support import WAIT, book_at, ops, reload, view, world

__all__ = ["ops", "view", "world"]


def _pdf_text(path: Path) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(path).pages)


def _print_with_ctrl_p(qtbot: QtBot, view: BookView) -> Path:
    """Ctrl+P in the book, then the dialog's Print (to the suggested PDF)."""
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = view.printing.dialog
    assert dialog is not None and dialog.isVisible()
    path = Path(dialog.printer().outputFileName())
    dialog.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: path.exists(), timeout=WAIT)
    return path


def test_ctrl_p_prints_the_doctors_shown_to_a_dated_pdf_in_the_export_folder(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    third = f.doctor(sqlite_clinic, world.department_id, "Dr. Grace Hopper")
    f.open_day(sqlite_clinic, third, world.day)
    book_at(sqlite_clinic, world, "09:00", world.patient_id)
    book_at(sqlite_clinic, world, "09:00", world.other_patient_id, third)
    book_at(sqlite_clinic, world, "10:00", world.other_patient_id, world.other_doctor_id)
    reload(qtbot, view, lambda: view.set_doctors([world.doctor_id, world.other_doctor_id]))
    assert view.model.columnCount() == 2
    folder = sqlite_clinic.pc.effective_export_dir
    path = _print_with_ctrl_p(qtbot, view)
    assert path == folder / f"schedule-{world.day.isoformat()}.pdf"
    text = _pdf_text(path)
    assert "Dr. Ada Lovelace" in text and "Dr. Alan Turing" in text
    assert "Grace Hopper" not in text and "Anna Smith 09:00" not in text
    assert f"Schedule for {day_words(world.day)}" in text
    assert "Printed the schedule" in view.message.text()
    # A second print never overwrites the first.
    again = _print_with_ctrl_p(qtbot, view)
    assert again == folder / f"schedule-{world.day.isoformat()} (2).pdf"
    # One doctor shown: the name says which.
    reload(qtbot, view, lambda: view.set_doctors([world.doctor_id]))
    assert view.printing.suggested_path(None).name == (
        f"schedule-{world.day.isoformat()}-ada-lovelace.pdf"
    )


def test_on_a_fresh_install_ctrl_p_then_enter_prints_to_the_suggested_pdf(
    qtbot: QtBot, view: BookView, world: f.World
) -> None:
    # The print dialog's own Print (Enter) refuses a file in a folder that is not there.
    warnings: list[str] = []

    def answer_a_warning() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            warnings.append(box.text())
            box.reject()

    watch = QTimer(view)
    watch.timeout.connect(answer_a_warning)
    watch.start(50)
    view.table.setFocus()
    QTest.keyClick(view.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = view.printing.dialog
    assert dialog is not None and dialog.isVisible()
    path = Path(dialog.printer().outputFileName())
    assert path.parent.is_dir()
    QTest.keyClick(dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: path.exists() or bool(warnings), timeout=WAIT)
    watch.stop()
    assert warnings == [] and path.name == f"schedule-{world.day.isoformat()}.pdf"


def test_a_doctors_table_repeats_its_heading_on_every_page(
    sqlite_clinic: Clinic, world: f.World
) -> None:
    row = schedule.ScheduleRow(
        "Dr. Ada Lovelace", "General Medicine", f.NINE, f.NINE, "José Núñez", "Consultation",
        "Booked", "",
    )  # fmt: skip
    rows = [row] * 3
    document = QTextDocument()
    document.setHtml(schedule.schedule_html(sqlite_clinic, world.day, rows))
    tables = [
        frame for frame in document.rootFrame().childFrames() if isinstance(frame, QTextTable)
    ]
    assert len(tables) == 1
    table = tables[0]
    assert table.format().headerRowCount() == 2  # the doctor, then the column names
    assert table.cellAt(0, 0).firstCursorPosition().block().text() == (
        "Dr. Ada Lovelace (General Medicine)"
    )
