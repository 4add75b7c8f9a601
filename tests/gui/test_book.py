"""The appointment book with real keys and mouse: book, open, cancel, drag, Ctrl+G, print."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import booking, hours
from hms_desktop.services.views import day_words
from hms_desktop.ui.booking.book.model import KIND_ROLE
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.dates import day_text, when_text
from hms_desktop.ui.common.operations import Operations
from tests import factories as f
from tests.gui.book_support import WAIT, asked, ops, view, world
from tests.gui.book_support import book_at as _book
from tests.gui.book_support import center as _center
from tests.gui.book_support import drag as _drag
from tests.gui.book_support import reload as _reload
from tests.gui.conftest import styled

__all__ = ["ops", "styled", "view", "world"]


def _pdf_text(path: Path) -> str:
    # Qt's PDFs separate words by positioning, which pypdf reads as tabs.
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(path).pages)


def test_the_model_passes_qtmodeltester(
    qtbot: QtBot, qtmodeltester, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    _book(sqlite_clinic, world, "09:30", world.patient_id)
    _reload(qtbot, view)
    assert view.model.columnCount() == 2 and view.model.rowCount() == 20  # 08:00-18:00
    qtmodeltester.check(view.model, force_py=True)
    _reload(qtbot, view, lambda: view.controls.week.setChecked(True))
    assert view.model.columnCount() == 7
    qtmodeltester.check(view.model, force_py=True)


def test_the_day_shows_visits_free_and_unavailable_time(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    _book(sqlite_clinic, world, "09:30", world.patient_id)
    _reload(qtbot, view)
    m = view.model
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == [
        "Dr. Ada Lovelace",
        "Dr. Alan Turing",
    ]
    row = m.row_for(time(9, 30))
    assert m.index(row, 0).data() == "José Núñez · Consultation · Knee"
    kinds = [m.index(r, 0).data(KIND_ROLE) for r in range(m.rowCount())]
    assert kinds[m.row_for(time(8, 0))] == "off" and kinds[m.row_for(time(9, 0))] == "free"
    assert kinds[row] == "visit" and kinds[m.row_for(time(12, 0))] == "off"
    assert view.table.now_line_y() is None  # not today
    _reload(qtbot, view, view.controls.today_button.click)
    hours.set_weekly(sqlite_clinic, SYSTEM, world.doctor_id, "mon", [("08:00", "12:00")])
    _reload(qtbot, view)
    assert view.table.now_line_y() == view.table.rowViewportPosition(m.row_for(time(9, 0)))


def test_book_from_the_day_view_by_keyboard(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(view.model.row_for(time(9, 0)), 1))
    QTest.keyClick(view.table, Qt.Key.Key_Down)
    QTest.keyClick(view.table, Qt.Key.Key_Left)  # Dr. Lovelace, 09:30
    assert view.table.currentIndex().column() == 0
    QTest.keyClick(view.table, Qt.Key.Key_Return)  # no patient chosen: the finder asks
    dialog = view.acts.patient_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.ok.text() == "&Choose patient"  # it only chooses; Enter on a cell books
    QTest.keyClicks(dialog.picker.search, "Jose")
    QTest.keyClick(dialog.picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.chosen is not None, timeout=WAIT)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(dialog.picker.results.view, Qt.Key.Key_Return)
    assert view.acts.patient_dialog is None
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert (appt.patient_id, appt.doctor_id, appt.date, appt.time) == (
        world.patient_id, world.doctor_id, world.day, time(9, 30)
    )  # fmt: skip
    assert view.model.index(view.model.row_for(time(9, 30)), 0).data().startswith("José Núñez")
    # The patient stays chosen: Down (10:00), Enter asks first, as she has a visit that
    # day already; Enter keeps it, Book another (Alt+B) books the second.
    QTest.keyClick(view.table, Qt.Key.Key_Down)
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    question = asked(qtbot, view)  # once the read on the worker is back
    assert question.text().startswith(
        f"José Núñez (#{world.patient_id}) already has a visit that day ("
    )
    assert "09:30 with Dr. Ada Lovelace." in question.text()
    assert "Book another at 10:00 with Dr. Ada Lovelace?" in question.text()
    QTest.keyClick(question, Qt.Key.Key_Return)  # the default keeps it unbooked
    assert len(booking.list_appointments(sqlite_clinic, SYSTEM)) == 1
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    question = asked(qtbot, view)
    [another] = [b for b in question.buttons() if b.text() == "&Book another"]  # Alt+B
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        another.click()
    assert [a.time for a in booking.list_appointments(sqlite_clinic, SYSTEM)] == [
        time(9, 30), time(10, 0)
    ]  # fmt: skip
    # Enter on a visit opens it; Delete cancels it after the question.
    with qtbot.waitSignal(view.appointment_opened, timeout=WAIT) as opened:
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    assert opened.args == [appt.id + 1]
    details = view.acts.active_dialog
    assert isinstance(details, QMessageBox) and details.isVisible()
    assert details.text().splitlines() == [
        "Patient: José Núñez",
        "Doctor: Dr. Ada Lovelace",
        f"When: {day_text(world.day, sqlite_clinic.today())}, 10:00-10:30",
        "Visit type: Consultation",
        "Status: Booked",
        "Reason: —",
    ]
    QTest.keyClick(details, Qt.Key.Key_Escape)
    assert not details.isVisible()
    QTest.keyClick(view.table, Qt.Key.Key_Delete)
    [box] = [b for b in view.findChildren(QMessageBox) if b.isVisible()]
    [yes] = [b for b in box.buttons() if b.text().replace("&", "") == "Cancel visit"]
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        yes.click()
    assert booking.get_appointment(sqlite_clinic, SYSTEM, appt.id + 1).status == "cancelled"
    assert view.model.index(view.model.row_for(time(10, 0)), 0).data(KIND_ROLE) == "free"


def test_a_drag_refused_when_taken_and_one_accepted(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    moving = _book(sqlite_clinic, world, "09:00", world.patient_id)
    _book(sqlite_clinic, world, "10:00", world.other_patient_id)
    _reload(qtbot, view)
    m = view.model
    nine, ten, eleven = (m.row_for(time(h, 0)) for h in (9, 10, 11))
    _reload(qtbot, view, lambda: _drag(view, _center(view, nine, 0), _center(view, ten, 0)))
    assert "already has a visit" in view.message.text() and view.message.text().startswith(
        "Not moved"
    )
    moved = booking.get_appointment(sqlite_clinic, SYSTEM, moving)
    assert (moved.doctor_id, moved.time) == (world.doctor_id, time(9, 0))
    assert m.index(nine, 0).data().startswith("José Núñez")  # the block is back
    _reload(qtbot, view, lambda: _drag(view, _center(view, nine, 0), _center(view, eleven, 1)))
    moved = booking.get_appointment(sqlite_clinic, SYSTEM, moving)
    assert (moved.doctor_id, moved.time) == (world.other_doctor_id, time(11, 0))
    assert m.index(nine, 0).data(KIND_ROLE) == "free"
    assert m.index(eleven, 1).data().startswith("José Núñez")
    assert view.table.currentIndex().row() == eleven


def test_ctrl_g_lands_on_the_first_free_time(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    for at, patient in (("09:00", world.patient_id), ("09:30", world.other_patient_id)):
        _book(sqlite_clinic, world, at, patient)
    # no hours today: the next free time is tomorrow
    _reload(qtbot, view, view.controls.today_button.click)
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert view.day == world.day
    assert view.message.text() == (
        f"Next free with Dr. Ada Lovelace: {when_text(world.day, time(10, 0))}."
    )
    index = view.table.currentIndex()
    assert (index.column(), view.model.row_time(index.row())) == (0, time(10, 0))
    # The department: Dr. Turing's 09:00 comes first.
    view.controls.scope.setCurrentIndex(1)
    _reload(qtbot, view, view.controls.today_button.click)
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    index = view.table.currentIndex()
    assert (index.column(), view.model.row_time(index.row())) == (1, time(9, 0))


def test_the_schedule_pdf_lists_exactly_the_days_live_visits(
    qtbot: QtBot, tmp_path: Path, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    _book(sqlite_clinic, world, "09:00", world.patient_id)
    _book(sqlite_clinic, world, "10:30", world.other_patient_id, world.other_doctor_id)
    gone = f.patient(sqlite_clinic, "Zoe Cancelled")
    booking.cancel(sqlite_clinic, SYSTEM, _book(sqlite_clinic, world, "11:00", gone))
    later = f.patient(sqlite_clinic, "Otto Otherday")
    f.open_day(sqlite_clinic, world.doctor_id, world.day + timedelta(days=1))
    booking.book(sqlite_clinic, SYSTEM, patient_id=later, doctor_id=world.doctor_id,
                 day=world.day + timedelta(days=1), at="09:00")  # fmt: skip
    _reload(qtbot, view)
    path = tmp_path / "schedule.pdf"
    view.acts.save_pdf(path)
    text = _pdf_text(path)
    assert day_words(world.day) in text and "HMS Desktop clinic" in text
    assert "José Núñez" in text and "Anna Smith" in text and "Consultation" in text
    assert "09:00-09:30" in text and "10:30-11:00" in text
    assert "Zoe" not in text and "Otto" not in text and text.count("Booked") == 2
    one = tmp_path / "one.pdf"
    view.acts.save_pdf(one, [world.other_doctor_id])
    text = _pdf_text(one)
    assert "Anna Smith" in text and "José" not in text


def test_the_context_menu_offers_book_open_reschedule_cancel_no_show_print(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    _book(sqlite_clinic, world, "09:00", world.patient_id)
    _reload(qtbot, view)
    menu = view.acts.context_menu(view.model.row_for(time(9, 0)), 0)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts == [
        "&Book here…", "&Open", "&Reschedule…", "&Cancel…", "&No-show", "Rep&eat…",
        "&Print Dr. Ada Lovelace's day…", "Print the &whole day…",
    ]  # fmt: skip
    assert not menu.actions()[0].isEnabled()
    # Tomorrow's visit has not begun: no no-show yet (the policy's rule, as the service's).
    [no_show] = [a for a in menu.actions() if a.text() == "&No-show"]
    assert not no_show.isEnabled()
    clock = sqlite_clinic.clock
    was = clock.now()
    clock.set(datetime.combine(world.day, time(9, 1), clock.tz))
    begun = view.acts.context_menu(view.model.row_for(time(9, 0)), 0)
    assert next(a for a in begun.actions() if a.text() == "&No-show").isEnabled()
    begun.deleteLater()
    clock.set(was)
    # Reschedule from the menu: choose the new cell, Enter moves it there.
    [reschedule] = [a for a in menu.actions() if a.text() == "&Reschedule…"]
    reschedule.trigger()
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(view.model.row_for(time(11, 30)), 0))
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Return)
    [appt] = booking.list_appointments(sqlite_clinic, SYSTEM)
    assert appt.time == time(11, 30)
    menu.deleteLater()


def test_the_doctor_tab_shows_the_doctors_own_book_day_or_week(
    qtbot: QtBot, sqlite_clinic: Clinic, ops: Operations, world: f.World, tmp_path: Path
) -> None:
    from hms_desktop.ui.doctor.doctor_tab import DoctorTab

    _book(sqlite_clinic, world, "09:00", world.patient_id)
    _book(sqlite_clinic, world, "09:00", world.other_patient_id, world.other_doctor_id)
    tab = DoctorTab(sqlite_clinic, f.doctor_actor(world.doctor_id), ops)
    qtbot.addWidget(tab)
    tab.show()
    # The book is the Appointments page itself: no list of visits beside it.
    assert tab.pages.currentWidget().isAncestorOf(tab.book)
    assert tab.pages.tabText(tab.pages.currentIndex()) == "&Appointments"
    assert [tab.pages.tabText(i) for i in range(tab.pages.count())] == [
        "&Appointments", "Patient histor&y", "Availa&bility", "My re&ports",
    ]  # fmt: skip
    book = tab.book
    assert not book.controls.patient_button.isVisible()
    assert not book.controls.date_edit.isVisible()  # the tab's Today/Tomorrow/7 days/Day
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.days.tomorrow_button, Qt.MouseButton.LeftButton)
    assert book.model.columnCount() == 1
    assert book.model.index(book.model.row_for(time(9, 0)), 0).data().startswith("José Núñez")
    with qtbot.waitSignal(tab.appointments_loaded, timeout=WAIT):
        qtbot.mouseClick(tab.week_button, Qt.MouseButton.LeftButton)
    assert book.model.columnCount() == 7 and book.model.week
    assert book.model.column_day(0) == sqlite_clinic.today()  # the next 7 days, from today
    book.select(world.doctor_id, world.day, time(9, 0))
    tab.focus_first()  # what the window does when the tab is shown: keys go to the book
    assert QApplication.focusWidget() is book.table
    path = tmp_path / "mine.pdf"
    book.acts.save_pdf(path)  # the day under the cursor
    text = _pdf_text(path)
    assert "José Núñez" in text and "Anna Smith" not in text
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)


def test_weekly_hours_and_leave_from_the_book(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    _book(sqlite_clinic, world, "10:00", world.patient_id)
    view.table.setCurrentIndex(view.model.index(0, 0))  # Dr. Lovelace
    dialog = view.edit_hours()
    assert dialog is not None and dialog.isVisible()
    QTest.keyClicks(dialog.days[0], "08:00-12:00, 13:00-14:00")
    dialog.days[2].setText("9-10")  # not HH:MM: refused, the dialog stays
    dialog.save()
    assert (
        dialog.isVisible() and "Wednesday" in dialog.error.text() and "HH:MM" in dialog.error.text()
    )
    dialog.days[2].setText("")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save()
    windows = hours.weekly_hours(sqlite_clinic, world.doctor_id)
    assert [(w.day_name, f"{w.start_time:%H:%M}") for w in windows] == [
        ("mon", "08:00"),
        ("mon", "13:00"),
    ]
    # Leave over the booked Tuesday is refused; leave next week is taken.
    dialog = view.edit_hours()
    assert dialog is not None
    dialog.leave_from.setDate(dialog.leave_from.date().addDays(1))
    dialog.leave_to.setDate(dialog.leave_from.date())
    dialog.leave_button.click()
    assert "Patients are booked at 10:00" in dialog.error.text()
    dialog.leave_from.setDate(dialog.leave_from.date().addDays(6))  # next Monday
    dialog.leave_to.setDate(dialog.leave_from.date())
    dialog.leave_reason.setText("course")
    dialog.leave_button.click()
    assert "(1 day)" in dialog.error.text() and "course" in dialog.upcoming.text()
    dialog.reject()


def test_repeat_a_visit_lists_the_conflict_then_books_the_others(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    hours.set_weekly(sqlite_clinic, SYSTEM, world.doctor_id, "tue", [("09:00", "12:00")])
    first = _book(sqlite_clinic, world, "10:00", world.patient_id)
    taken = world.day + timedelta(weeks=2)
    booking.book(sqlite_clinic, SYSTEM, patient_id=world.other_patient_id,
                 doctor_id=world.doctor_id, day=taken, at="10:00")  # fmt: skip
    _reload(qtbot, view)
    row = view.model.row_for(time(10, 0))
    block = view.model.cell(row, 0).block
    assert block is not None
    dialog = view.acts.repeat(block, 0)
    dialog.count.setValue(4)
    dialog.book_button.click()
    assert dialog.isVisible() and day_text(taken) in dialog.conflicts.text()
    assert len(booking.list_appointments(sqlite_clinic, SYSTEM)) == 2  # nothing booked yet
    assert dialog.book_button.text() == "&Book the others"
    with qtbot.waitSignal(dialog.booked, timeout=WAIT) as done, qtbot.waitSignal(view.loaded):
        dialog.book_button.click()
    assert len(done.args[0]) == 2
    mine = booking.list_appointments(
        sqlite_clinic, SYSTEM, booking.AppointmentFilter(patient_id=world.patient_id)
    )
    assert [a.date for a in mine] == [world.day + timedelta(weeks=w) for w in (0, 1, 3)]
    assert view.model.cell(row, 0).block.series_id == first  # type: ignore[union-attr]
    days = ", ".join(
        day_text(world.day + timedelta(weeks=w), sqlite_clinic.today()) for w in (1, 3)
    )
    assert view.confirmation.text() == (
        f"Booked 2 more visits for José Núñez with Dr. Ada Lovelace at 10:00: {days}."
    )
    # Undo takes back the whole repeat, not the first visit.
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=WAIT)
    view.table.setFocus()
    assert view.confirmation.can_undo()
    with qtbot.waitSignal(view.visits_changed, timeout=WAIT):
        QTest.keyClick(view.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    live = booking.AppointmentFilter(patient_id=world.patient_id, statuses=("booked",))
    assert [a.date for a in booking.list_appointments(sqlite_clinic, SYSTEM, live)] == [world.day]
    assert view.confirmation.text().startswith("Undone: the 2 repeat visits of José Núñez")


def test_a_narrow_column_drops_the_reason_then_the_visit_type_never_the_name(
    styled: object, qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    # With the window's style sheet (cell padding) and font.
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QStyleOptionViewItem

    _book(sqlite_clinic, world, "09:00", world.patient_id)
    _reload(qtbot, view)
    index = view.model.index(view.model.row_for(time(9, 0)), 0)
    delegate = view.table.itemDelegate()
    metrics = view.table.fontMetrics()
    # Just wide enough for name and type inside the style's text margins (3px a side).
    snug = metrics.horizontalAdvance("José Núñez · Consultation") + 10 + 12  # + padding
    name_only = metrics.horizontalAdvance("José Núñez") + 10 + 12
    shown = []
    for width in (600, 200, snug, name_only, 60):
        option = QStyleOptionViewItem()
        view.table.initViewItemOption(option)
        one_line = metrics.lineSpacing() + 6  # a row of one line of text
        option.rect = QRect(0, 0, width, one_line)  # type: ignore[attr-defined]
        delegate.initStyleOption(option, index)  # type: ignore[attr-defined]
        shown.append(option.text)  # type: ignore[attr-defined]
        # What is shown lies on the cell's one line: Qt will not wrap a part away as "…".
        if width > 60:
            assert metrics.horizontalAdvance(option.text) <= width - 18  # type: ignore[attr-defined]
    assert shown == [
        "José Núñez · Consultation · Knee",
        "José Núñez · Consultation",
        "José Núñez · Consultation",
        "José Núñez",
        # Too narrow for the whole name: the first name as an initial, kept on one line.
        "J.\N{NO-BREAK SPACE}Núñez",
    ]


def test_a_name_too_long_for_its_cell_keeps_the_surname_whole() -> None:
    from hms_desktop.ui.booking.book.table import initialled

    assert initialled("Paweł Wiśniewski") == "P. Wiśniewski"
    assert initialled("Anna Maria Smith") == "A. M. Smith"
    assert initialled("Cher") == "Cher"


def test_a_narrow_week_heads_its_days_briefly_then_scrolls_never_cutting_a_date(
    styled: object, qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    # Larger headings ask for more than the window has (as a narrower window would; the
    # tabs' own controls keep the window wider than the seven days' least).
    from hms_desktop.ui.booking.book.table import WEEK_COLUMN

    for day in ("mon", "tue", "wed", "thu", "fri"):  # the weekend without hours
        hours.set_weekly(sqlite_clinic, SYSTEM, world.doctor_id, day, [("09:00", "12:00")])
    _reload(qtbot, view, lambda: view.controls.week.setChecked(True))
    model, table = view.model, view.table
    header = table.horizontalHeader()

    def headings() -> list[str]:
        return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(7)]

    def needs() -> list[int]:
        return [header.sectionSizeFromContents(c).width() for c in range(7)]

    def whole() -> bool:
        return all(need <= header.sectionSize(c) for c, need in enumerate(needs()))

    def fits() -> bool:
        return table.horizontalScrollBar().maximum() == 0 and (
            header.sectionPosition(6) + header.sectionSize(6) <= table.viewport().width()
        )

    # The weekend, without hours, is narrow and headed briefly from the start.
    assert headings()[0] == "Mon, 15 Jun" and headings()[5:] == ["Sat 20", "Sun 21"]
    assert fits() and whole()
    room, normal = table.viewport().width(), header.font()
    # "Mon, 15 Jun" grown past a fifth of the width; "Mon 15" still within it.
    larger = QFont(normal)
    larger.setPointSizeF(normal.pointSizeF() * 1.1 * room / 5 / max(needs()[:5]))
    header.setFont(larger)
    table.fit_columns()  # as on the next resize
    assert model.brief_headers
    assert headings() == ["Mon 15", "Tue 16", "Wed 17", "Thu 18", "Fri 19", "Sat 20", "Sun 21"]
    assert fits() and whole() and min(header.sectionSize(c) for c in range(5)) >= WEEK_COLUMN
    # Even "Mon 15" too wide for a seventh: the days keep what they need and the book scrolls.
    larger.setPointSizeF(larger.pointSizeF() * 2.5)
    header.setFont(larger)
    table.fit_columns()
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() > 0, timeout=WAIT)
    assert model.brief_headers and whole() and not fits()
    header.setFont(normal)
    table.fit_columns()
    qtbot.waitUntil(fits, timeout=WAIT)
    assert headings()[0] == "Mon, 15 Jun" and whole()


def test_a_time_the_patient_is_busy_is_said_at_once_not_asked(
    qtbot: QtBot, view: BookView, sqlite_clinic: Clinic, world: f.World
) -> None:
    """QA: the desk was asked "Book another at 09:30?" for a patient busy at 09:30 with the
    other doctor, and the answer Book another was then refused as an overlap."""
    _book(sqlite_clinic, world, "09:30", world.patient_id, world.other_doctor_id)
    _reload(qtbot, view)
    view.use_patient(patients.get_patient(sqlite_clinic, SYSTEM, world.patient_id))
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(view.model.row_for(time(9, 30)), 0))
    QTest.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "already has a visit then" in view.message.text(), timeout=WAIT)
    assert "09:30–10:00 with Dr. Alan Turing. Choose another time." in view.message.text()
    assert not [b for b in view.findChildren(QMessageBox) if b.isVisible()]
    assert len(booking.list_appointments(sqlite_clinic, SYSTEM)) == 1
