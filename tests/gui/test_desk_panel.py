"""The Desk tab: check in with Enter, the waiting room, and booking from the waitlist."""

from __future__ import annotations

from datetime import date, time

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.scheduling import booking, patient_flow, waitlist
from hms_desktop.ui.booking.desk_panel import DeskPanel
from hms_desktop.ui.common.change_relay import ChangeRelay
from hms_desktop.ui.common.dates import day_text
from hms_desktop.ui.common.operations import Operations
from tests import factories as f

WAIT = 20_000


RELAYS: list[ChangeRelay] = []


@pytest.fixture
def ops(qtbot):
    o = Operations()
    yield o
    while RELAYS:  # no refresh may start after the test
        RELAYS.pop().close()
    qtbot.waitUntil(lambda: not o.busy, timeout=WAIT)
    o.shutdown()


def _panel(qtbot, clinic: Clinic, ops: Operations, actor=f.RECEPTION) -> DeskPanel:
    panel = DeskPanel(clinic, actor, ops)
    relay = ChangeRelay(clinic, panel)
    relay.changed.connect(panel.on_changes)
    RELAYS.append(relay)
    qtbot.addWidget(panel)
    panel.resize(1200, 760)
    panel.show()
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    return panel


def _expected_at_ten(clinic: Clinic) -> tuple[f.World, date]:
    """The world, with José expected today at 10:00 with Dr. Lovelace; and today."""
    world = f.world(clinic)
    today = clinic.today()
    f.open_day(clinic, world.doctor_id, today)
    booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=today, at="10:00",
    )  # fmt: skip
    return world, today


def test_an_expected_patient_past_the_threshold_reads_late(
    qtbot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    """A check-in hours late was an Enter like any other (QA): the row says how late."""
    _expected_at_ten(sqlite_clinic)
    panel = _panel(qtbot, sqlite_clinic, ops)
    cell = panel.expected_model.index(0, 0)
    assert cell.data() == "10:00"
    clock.advance(minutes=60 + 19)  # 19 minutes after 10:00: within the 20-minute threshold
    assert cell.data() == "10:00"
    clock.advance(minutes=1)
    assert cell.data() == "10:00 · 20 min late"
    clock.advance(minutes=6 * 60 + 10)
    assert cell.data() == "10:00 · 6 h 30 min late"


def test_enter_checks_in_and_the_waiting_room_highlights_long_waits(
    qtbot, sqlite_clinic: Clinic, clock: FakeClock, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today)
    visit = booking.book(
        sqlite_clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=today,
        at="10:00",
    )
    panel = _panel(qtbot, sqlite_clinic, ops)
    assert [r.id for r in panel.expected_model.rows] == [visit]

    panel.expected.view.setFocus()
    panel.expected.view.setCurrentIndex(panel.expected.view.model().index(0, 0))
    qtbot.keyClick(panel.expected.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    assert panel.expected_model.rows == []
    assert "José Núñez checked in for 10:00" in panel.confirmation.text()
    row = panel.waiting_model.rows[0]
    assert not panel.waiting_model.overdue(row)

    clock.advance(minutes=25)  # past the 20-minute threshold
    panel.refresh()
    qtbot.waitUntil(lambda: panel.waiting_model.rows[0].waited_minutes == 25, timeout=WAIT)
    index = panel.waiting_model.index(0, 1)
    assert panel.waiting_model.data(index, Qt.ItemDataRole.FontRole).bold()

    panel.waiting.select_row(0)
    panel.on_call_in()
    qtbot.waitUntil(lambda: panel.waiting_model.rows[0].status == "in_consultation", timeout=WAIT)


def test_a_freed_time_is_booked_from_the_waitlist_in_two_key_presses(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    taken = [
        booking.book(
            sqlite_clinic,
            f.RECEPTION,
            patient_id=f.patient(sqlite_clinic),
            doctor_id=world.doctor_id,
            day=world.day,
            at=at,
        )
        for at in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    ]
    request = waitlist.add(
        sqlite_clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
    )
    panel = _panel(qtbot, sqlite_clinic, ops)
    assert panel.offers_model.rows[0].slot is None
    # Nothing to offer yet: Enter says so in one line instead of doing nothing silently.
    said: list[str] = []
    panel.status_message.connect(said.append)
    panel.offers.view.setFocus()
    panel.offers.select_row(0)
    qtbot.keyClick(panel.offers.view, Qt.Key.Key_Return)
    panel.status_message.disconnect(said.append)
    assert said == [f"No earlier time suits Anna Smith (#{world.other_patient_id}) yet."]

    booking.cancel(sqlite_clinic, f.RECEPTION, taken[2])  # 10:00 frees; the panel hears it
    qtbot.waitUntil(lambda: panel.offers_model.rows[0].slot is not None, timeout=WAIT)
    assert panel.offers_model.rows[0].slot.time == time(10, 0)

    panel.offers.view.setFocus()
    panel.offers.view.setCurrentIndex(panel.offers.view.model().index(0, 0))
    qtbot.keyClick(panel.offers.view, Qt.Key.Key_Return)  # 1: the offer
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    assert "Anna Smith" in box.text() and "10:00" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Return)  # 2: book it
    qtbot.waitUntil(lambda: panel.offers_model.rows == [], timeout=WAIT)
    booked = booking.list_appointments(
        sqlite_clinic, f.RECEPTION, booking.AppointmentFilter(patient_id=world.other_patient_id)
    )
    assert [(b.date, b.time, b.status) for b in booked] == [(world.day, time(10, 0), "booked")]
    assert waitlist.list_entries(sqlite_clinic, f.RECEPTION) == []
    assert request


def test_a_doctor_sees_only_the_waiting_room(qtbot, sqlite_clinic: Clinic, ops: Operations) -> None:
    world = f.world(sqlite_clinic)
    panel = _panel(qtbot, sqlite_clinic, ops, f.doctor_actor(world.doctor_id))
    assert panel.waiting.isVisible() and not panel.expected.isVisible()
    assert not panel.offers.isVisible() and not panel.walk_in_button.isVisible()


def _dialog(qtbot, panel: DeskPanel):
    from hms_desktop.ui.booking.waitlist_dialogs import WaitlistRequestDialog

    qtbot.mouseClick(panel.add_request_button, Qt.MouseButton.LeftButton)
    dialog = next(
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, WaitlistRequestDialog) and w.isVisible()
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.doctor.count() > 0, timeout=WAIT)
    return dialog


def test_the_waitlist_dialog_adds_nobody_until_patient_and_doctor_are_chosen(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    for name in ("Tereza Novotná", "Jan Novotný", "Petra Novotná"):
        f.patient(sqlite_clinic, name, date_of_birth=date(1980, 1, 2))
    panel = _panel(qtbot, sqlite_clinic, ops)
    dialog = _dialog(qtbot, panel)
    picker = dialog.picker
    assert dialog.chosen_label.text() == "Chosen: nobody yet"
    # Nothing is searched before typing: the list must not claim it is searching.
    assert picker.model.rowCount() == 0
    assert "Searching" not in picker.results.empty_label.text()
    assert dialog.doctor.currentIndex() == -1 and dialog.doctor.currentData() is None

    qtbot.keyClicks(picker.search, "novotn")
    qtbot.waitUntil(lambda: picker.model.rowCount() == 3 and not picker.search_pending())
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # Enter in the field: to the results
    assert dialog.isVisible() and dialog.patient is None
    assert QApplication.focusWidget() is picker.results.view
    assert waitlist.list_entries(sqlite_clinic, f.RECEPTION) == []

    qtbot.keyClick(picker.results.view, Qt.Key.Key_Down)
    qtbot.keyClick(picker.results.view, Qt.Key.Key_Return)  # Enter on a result: chosen
    assert dialog.isVisible() and dialog.patient is not None
    assert dialog.patient.full_name == picker.model.rows[1].full_name
    # Named as the Book tab's finder names them: namesakes told apart by year and number.
    who = f"{dialog.patient.full_name} (born 1980, #{dialog.patient.id})"
    assert dialog.chosen_label.text() == f"Chosen: {who}"
    assert not dialog.ok.isEnabled()  # no doctor chosen yet
    assert QApplication.focusWidget() is dialog.doctor
    qtbot.keyClick(dialog.doctor, Qt.Key.Key_Return)
    assert dialog.isVisible() and waitlist.list_entries(sqlite_clinic, f.RECEPTION) == []

    index = dialog.doctor.findText("Dr. Alan Turing", Qt.MatchFlag.MatchStartsWith)
    assert index >= 0 and dialog.doctor.itemData(index) == ("doctor", world.other_doctor_id)
    dialog.doctor.setCurrentIndex(index)
    assert dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT)
    [entry] = waitlist.list_entries(sqlite_clinic, f.RECEPTION)
    assert entry.patient == dialog.patient.full_name
    assert entry.doctor == "Dr. Alan Turing"
    assert panel.confirmation.text() == f"{who} is on the waitlist."


def test_the_waitlist_days_say_in_plain_words_that_none_ticked_is_any_day(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    from PySide6.QtWidgets import QLabel

    world = f.world(sqlite_clinic)
    panel = _panel(qtbot, sqlite_clinic, ops)
    dialog = _dialog(qtbot, panel)
    label = dialog.form.labelForField(dialog.days_field)
    assert isinstance(label, QLabel) and label.text() == "Da&ys that suit"
    assert dialog.days_hint.isVisible()
    assert dialog.days_hint.text() == "Leave all unticked for any day."
    assert [b.text() for b in dialog.days] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    # Alt+Y (the label's letter) puts the keyboard on Monday; Tab walks on to Tuesday.
    with qtbot.waitActive(dialog):
        dialog.activateWindow()
    qtbot.keyClick(dialog, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.days[0] and not dialog.days[0].isChecked()
    # Tab goes box by box, from the doctor to Monday and from Sunday to Between.
    dialog.doctor.setFocus()
    walked = []
    for _ in range(8):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == [*dialog.days, dialog.between]
    dialog.days[1].setFocus()
    qtbot.keyClick(dialog.days[1], Qt.Key.Key_Space)
    dialog.days[3].setChecked(True)

    picker = dialog.picker
    qtbot.keyClicks(picker.search, "Anna")
    qtbot.waitUntil(lambda: picker.model.rowCount() == 1 and not picker.search_pending())
    picker.results.view.setCurrentIndex(picker.model.index(0, 0))
    qtbot.keyClick(picker.results.view, Qt.Key.Key_Return)
    index = dialog.doctor.findText("Dr. Ada Lovelace", Qt.MatchFlag.MatchStartsWith)
    dialog.doctor.setCurrentIndex(index)
    assert dialog.patient is not None and dialog.ok.isEnabled()
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible() or dialog.error.text() != "", timeout=WAIT)
    assert dialog.error.text() == ""
    [entry] = waitlist.list_entries(sqlite_clinic, f.RECEPTION)
    assert entry.doctor_id == world.doctor_id and entry.days == "tue,thu"


def test_enter_enter_checks_in_two_in_a_row(qtbot, sqlite_clinic: Clinic, ops: Operations) -> None:
    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today)
    for at in ("10:00", "10:30", "11:00"):
        booking.book(
            sqlite_clinic, f.RECEPTION, patient_id=f.patient(sqlite_clinic),
            doctor_id=world.doctor_id, day=today, at=at,
        )  # fmt: skip
    panel = _panel(qtbot, sqlite_clinic, ops)
    panel.resize(1024, 700)  # the desk's tab in a 1024x768 window
    qtbot.waitUntil(lambda: panel.expected.height() > 0)

    view = panel.expected.view
    rect = view.visualRect(view.model().index(0, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.currentIndex().row() == 0 and view.hasFocus()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    assert view.currentIndex().isValid()  # the next patient is current
    assert panel.expected_model.rows[view.currentIndex().row()].time == time(10, 30)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 2, timeout=WAIT)
    assert [r.time for r in panel.expected_model.rows] == [time(11, 0)]
    assert view.currentIndex().row() == 0


def _ctrl_z(qtbot, panel: DeskPanel, widget) -> list[str]:  # type: ignore[no-untyped-def]
    """Ctrl+Z on ``widget``; what the panel said in the status bar meanwhile."""
    from PySide6.QtTest import QTest

    said: list[str] = []
    panel.status_message.connect(said.append)
    try:
        QTest.keyClick(widget, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    finally:
        panel.status_message.disconnect(said.append)
    return said


def test_a_check_in_and_a_call_in_are_said_by_name_and_undone_with_ctrl_z(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today)
    visit = booking.book(
        sqlite_clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=today, at="10:00",
    )  # fmt: skip
    panel = _panel(qtbot, sqlite_clinic, ops)
    bar = panel.confirmation
    view = panel.expected.view
    assert not bar.isVisible()
    # Nothing done yet: Ctrl+Z says so in the status bar, and changes nothing.
    assert _ctrl_z(qtbot, panel, view) == ["Nothing to undo."]

    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    assert bar.isVisible() and bar.undo_button.isVisible()
    assert bar.text() == "José Núñez checked in for 10:00 with Dr. Ada Lovelace."

    _ctrl_z(qtbot, panel, view)
    qtbot.waitUntil(lambda: [r.id for r in panel.expected_model.rows] == [visit], timeout=WAIT)
    assert panel.waiting_model.rows == []
    assert bar.text() == "Undone: José Núñez is expected again for 10:00 with Dr. Ada Lovelace."
    assert not bar.undo_button.isVisible()
    assert booking.get_appointment(sqlite_clinic, f.RECEPTION, visit).status == "booked"
    # Once is all: the second Ctrl+Z has nothing left to take back.
    assert _ctrl_z(qtbot, panel, view) == ["Nothing to undo."]

    patient_flow.check_in(sqlite_clinic, f.RECEPTION, visit)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    panel.waiting.view.setFocus()
    panel.waiting.select_row(0)
    qtbot.keyClick(panel.waiting.view, Qt.Key.Key_Return)  # Enter calls the patient in
    qtbot.waitUntil(lambda: bar.text() == "José Núñez is with Dr. Ada Lovelace.", timeout=WAIT)
    qtbot.waitUntil(lambda: panel.waiting_model.rows[0].status == "in_consultation", timeout=WAIT)
    qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.waiting_model.rows[0].status == "arrived", timeout=WAIT)
    assert bar.text() == "Undone: José Núñez is waiting for Dr. Ada Lovelace again."


def test_undo_of_a_booking_from_the_waitlist_puts_the_request_back(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    taken = [
        booking.book(
            sqlite_clinic,
            f.RECEPTION,
            patient_id=f.patient(sqlite_clinic),
            doctor_id=world.doctor_id,
            day=world.day,
            at=at,
        )
        for at in ("09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    ]
    request = waitlist.add(
        sqlite_clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
    )
    booking.cancel(sqlite_clinic, f.RECEPTION, taken[2])  # 10:00 is free
    panel = _panel(qtbot, sqlite_clinic, ops)
    bar = panel.confirmation
    view = panel.offers.view
    assert panel.offers_model.rows[0].slot is not None

    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.offers_model.rows == [], timeout=WAIT)
    anna = f"Anna Smith (#{world.other_patient_id})"
    assert bar.text().startswith(f"Booked {anna} from the waitlist with Dr. Ada Lovelace, ")
    assert bar.text().endswith(" at 10:00.")
    [visit] = booking.list_appointments(
        sqlite_clinic, f.RECEPTION, booking.AppointmentFilter(patient_id=world.other_patient_id)
    )

    panel.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)
    _ctrl_z(qtbot, panel, view)
    qtbot.waitUntil(lambda: len(panel.offers_model.rows) == 1, timeout=WAIT)
    assert panel.offers_model.rows[0].request.id == request
    assert booking.get_appointment(sqlite_clinic, f.RECEPTION, visit.id).status == "cancelled"
    assert bar.text().startswith(f"Undone: {anna}'s visit with Dr. Ada Lovelace, ")
    assert bar.text().endswith(f"is cancelled and {anna} is back on the waitlist.")
    assert _ctrl_z(qtbot, panel, view) == ["Nothing to undo."]


def _rows_in_view(table) -> float:  # type: ignore[no-untyped-def]
    view = table.view
    return view.viewport().height() / view.rowHeight(0)


def test_at_1024x768_expected_today_gets_the_most_room_and_the_others_a_few_rows(
    qtbot, styled, sqlite_clinic: Clinic
) -> None:
    """Expected today, the desk's main list in the morning, gets most of the height; the
    waiting room and the waitlist keep a few rows in view, the bar shown. What a taller
    window adds goes 4:2:1.

    The lists load while the Desk tab is hidden (the window opens on Admin) and the desk
    is reached by Ctrl+4, as at the clinic: measured then, Expected today showed two rows.
    """
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.main_window import MainWindow

    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    visits = []
    for doctor in (world.doctor_id, world.other_doctor_id):
        f.open_day(sqlite_clinic, doctor, today, "08:00", "18:00")
        for hour in range(10, 18):
            visits.append(
                booking.book(
                    sqlite_clinic,
                    f.RECEPTION,
                    patient_id=f.patient(sqlite_clinic),
                    doctor_id=doctor,
                    day=today,
                    at=f"{hour:02d}:00",
                )
            )
    for visit in visits[:6]:
        patient_flow.check_in(sqlite_clinic, f.RECEPTION, visit)
    for _ in range(7):
        waitlist.add(
            sqlite_clinic, f.RECEPTION, patient_id=f.patient(sqlite_clinic),
            doctor_id=world.doctor_id,
        )  # fmt: skip
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, f.RECEPTION, stats)
    qtbot.addWidget(window)
    window.resize(1024, 740)  # a 1024x768 screen less the window's frame
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    desk = window.desk_tab
    try:
        qtbot.waitUntil(
            lambda: [len(m.rows) for m in (desk.expected_model, desk.waiting_model,
                                           desk.offers_model)] == [10, 6, 7],
            timeout=WAIT,
        )  # fmt: skip
        assert not desk.isVisible()
        focus = QApplication.focusWidget() or window
        qtbot.keyClick(focus, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentWidget() is desk
        qtbot.waitUntil(lambda: QApplication.focusWidget() is desk.expected.view, timeout=WAIT)
        qtbot.keyClick(desk.expected.view, Qt.Key.Key_Return)  # a check-in: the bar says so
        qtbot.waitUntil(lambda: len(desk.waiting_model.rows) == 7, timeout=WAIT)
        assert desk.confirmation.isVisible()
        QApplication.processEvents()
        lists = (desk.expected, desk.waiting, desk.offers)
        rows = [_rows_in_view(t) for t in lists]
        assert rows[0] >= 7, rows
        assert rows[1] >= 3 and rows[2] >= 2, rows
        assert rows[0] > rows[1] > rows[2], rows

        window.resize(1024, 1000)  # a taller screen: most of it to the expected patients
        QApplication.processEvents()
        grown = [_rows_in_view(t) - r for t, r in zip(lists, rows, strict=True)]
        assert grown[2] > 0 and abs(grown[1] / grown[0] - 2 / 4) < 0.1, grown
        assert abs(grown[2] / grown[0] - 1 / 4) < 0.1, grown

        # The desk drags a handle (the waitlist taller): that choice outlives a resize.
        sections = desk.sections
        assert sections is not None
        first, second, _ = sections.sizes()
        sections.moveSplitter(first + sections.handleWidth() + second // 3, 2)
        chosen = desk.offers.height()
        assert chosen > desk.waiting.height()
        window.resize(1024, 990)
        QApplication.processEvents()
        assert desk.offers.height() > desk.waiting.height()
        assert abs(desk.offers.height() - chosen) < 20
    finally:
        window.close()
        qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
        stats.close()


def test_a_walk_in_names_the_patient_and_ctrl_z_takes_it_back_entirely(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    from hms_desktop.ui.booking.waitlist_dialogs import WalkInDialog
    from hms_desktop.ui.common.patient_text import patient_text

    world = f.world(sqlite_clinic)
    f.open_day(sqlite_clinic, world.doctor_id, sqlite_clinic.today())
    panel = _panel(qtbot, sqlite_clinic, ops)
    bar = panel.confirmation
    qtbot.mouseClick(panel.walk_in_button, Qt.MouseButton.LeftButton)
    dialog = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, WalkInDialog) and w.isVisible()
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.doctor.count() > 0, timeout=WAIT)
    assert dialog.chosen_label.text() == "Chosen: nobody yet"
    picker = dialog.picker
    qtbot.keyClicks(picker.search, "Jos")
    qtbot.waitUntil(lambda: picker.model.rowCount() == 1 and not picker.search_pending())
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # to the result
    qtbot.keyClick(picker.results.view, Qt.Key.Key_Return)  # chosen
    who = patient_text("José Núñez", world.patient_id)
    assert dialog.chosen_label.text() == f"Chosen: {who}"
    dialog.doctor.setCurrentIndex(
        dialog.doctor.findText("Dr. Ada Lovelace", Qt.MatchFlag.MatchStartsWith)
    )
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    assert not dialog.isVisible()
    assert bar.text().startswith(f"{who} is waiting for Dr. Ada Lovelace: ")
    assert bar.undo_button.isVisible()
    mine = booking.AppointmentFilter(patient_id=world.patient_id)
    [visit] = booking.list_appointments(sqlite_clinic, f.RECEPTION, mine)

    panel.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)
    _ctrl_z(qtbot, panel, panel.waiting.view)
    qtbot.waitUntil(lambda: panel.waiting_model.rows == [], timeout=WAIT)
    assert bar.text().startswith(f"Undone: the walk-in of {who} with Dr. Ada Lovelace at ")
    # Taken back entirely: no visit left on the record, not even a cancelled one.
    assert booking.list_appointments(sqlite_clinic, f.RECEPTION, mine) == []
    assert visit.status == "arrived"
    assert _ctrl_z(qtbot, panel, panel.waiting.view) == ["Nothing to undo."]


def _alt(qtbot, panel: DeskPanel, key: Qt.Key) -> list[str]:  # type: ignore[no-untyped-def]
    """Alt+``key`` (a button's mnemonic) with the panel's window active; what the panel
    said in the status bar meanwhile."""
    from PySide6.QtTest import QTest

    panel.activateWindow()  # the offscreen platform does not hand focus back by itself
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)
    said: list[str] = []
    panel.status_message.connect(said.append)
    try:
        QTest.keyClick(QApplication.focusWidget() or panel, key, Qt.KeyboardModifier.AltModifier)
        qtbot.wait(300)  # a mnemonic clicks its button with an animation (100 ms)
    finally:
        panel.status_message.disconnect(said.append)
    return said


def _boxes() -> list[QMessageBox]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]


def _box(qtbot) -> QMessageBox:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: len(_boxes()) == 1, timeout=WAIT)
    return _boxes()[0]


def test_namesakes_on_the_waitlist_are_told_apart_in_the_row_question_and_confirmation(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    elder = f.patient(sqlite_clinic, "Anna Krüger", date_of_birth="1948-02-03")
    younger = f.patient(sqlite_clinic, "Anna Krüger", date_of_birth="1983-07-08")
    for patient in (elder, younger):
        waitlist.add(sqlite_clinic, f.RECEPTION, patient_id=patient, doctor_id=world.doctor_id)
    panel = _panel(qtbot, sqlite_clinic, ops)
    model, view = panel.offers_model, panel.offers.view
    shown = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert shown == [
        f"Anna Krüger (born 1948, #{elder})",
        f"Anna Krüger (born 1983, #{younger})",
    ]

    view.setFocus()
    panel.offers.select_row(0)
    qtbot.keyClick(view, Qt.Key.Key_Down)  # the younger Anna Krüger
    _alt(qtbot, panel, Qt.Key.Key_B)
    box = _box(qtbot)
    who = f"Anna Krüger (born 1983, #{younger})"
    assert box.text().startswith(f"Book {who} with Dr. Ada Lovelace on ")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(model.rows) == 1, timeout=WAIT)
    bar = panel.confirmation
    assert bar.text().startswith(f"Booked {who} from the waitlist with Dr. Ada Lovelace, ")
    mine = booking.AppointmentFilter(patient_id=younger)
    assert len(booking.list_appointments(sqlite_clinic, f.RECEPTION, mine)) == 1

    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)
    _ctrl_z(qtbot, panel, view)
    qtbot.waitUntil(lambda: len(model.rows) == 2, timeout=WAIT)
    assert bar.text().startswith(f"Undone: {who}'s visit with Dr. Ada Lovelace, ")
    assert bar.text().endswith(f"is cancelled and {who} is back on the waitlist.")


def test_book_offered_time_and_remove_act_only_on_the_highlighted_request(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    first, second = f.patient(sqlite_clinic, "Anna Krüger"), f.patient(sqlite_clinic, "Eva Weber")
    for patient in (first, second):
        waitlist.add(sqlite_clinic, f.RECEPTION, patient_id=patient, doctor_id=world.doctor_id)
    panel = _panel(qtbot, sqlite_clinic, ops)
    assert panel.offers.selected_row() == -1 and len(panel.offers_model.rows) == 2

    # Nothing highlighted: one line in the status bar, no question, nothing booked or removed.
    assert _alt(qtbot, panel, Qt.Key.Key_B) == ["Choose a waitlist entry first."]
    assert _alt(qtbot, panel, Qt.Key.Key_R) == ["Choose a waitlist entry first."]
    QApplication.processEvents()
    assert _boxes() == []
    assert len(waitlist.list_entries(sqlite_clinic, f.RECEPTION)) == 2
    anyone = booking.AppointmentFilter(statuses=("booked",))
    assert booking.list_appointments(sqlite_clinic, f.RECEPTION, anyone) == []

    # The second request highlighted: the question is about Eva Weber, not the first row.
    view = panel.offers.view
    view.setFocus()
    panel.offers.select_row(0)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    _alt(qtbot, panel, Qt.Key.Key_R)
    box = _box(qtbot)
    assert box.text() == f"Take Eva Weber (#{second}) off the waitlist?"
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _boxes() == [], timeout=WAIT)
    _alt(qtbot, panel, Qt.Key.Key_B)
    box = _box(qtbot)
    assert box.text().startswith(f"Book Eva Weber (#{second}) with ")
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _boxes() == [], timeout=WAIT)


def test_check_in_call_in_and_undo_step_say_whom_to_choose_when_nobody_is_highlighted(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today)
    waiting, expected = (
        booking.book(
            sqlite_clinic, f.RECEPTION, patient_id=patient, doctor_id=world.doctor_id,
            day=today, at=at,
        )
        for patient, at in ((world.patient_id, "10:00"), (world.other_patient_id, "10:30"))
    )  # fmt: skip
    patient_flow.check_in(sqlite_clinic, f.RECEPTION, waiting)
    panel = _panel(qtbot, sqlite_clinic, ops)
    assert panel.expected.selected_row() == -1 and panel.waiting.selected_row() == -1

    assert _alt(qtbot, panel, Qt.Key.Key_K) == ["Choose who to check in first."]
    assert _alt(qtbot, panel, Qt.Key.Key_C) == ["Choose who to call in first."]
    assert _alt(qtbot, panel, Qt.Key.Key_U) == ["Choose whose step to undo first."]
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    assert booking.get_appointment(sqlite_clinic, f.RECEPTION, expected).status == "booked"
    assert [r.status for r in panel.waiting_model.rows] == ["arrived"]
    assert not panel.confirmation.isVisible()

    # Highlighted, Alt+C calls José in; a second Alt+C says he is already in.
    panel.waiting.view.setFocus()
    panel.waiting.select_row(0)
    _alt(qtbot, panel, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: panel.waiting_model.rows[0].status == "in_consultation", timeout=WAIT)
    assert panel.waiting.selected_row() == 0
    assert _alt(qtbot, panel, Qt.Key.Key_C) == ["José Núñez is already with Dr. Ada Lovelace."]


def test_taking_an_earlier_time_asks_to_move_the_later_visit_and_moves_it(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world = f.world(sqlite_clinic)
    sophie = f.patient(sqlite_clinic, "Sophie Wagner")
    visit = booking.book(
        sqlite_clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id,
        day=world.day, at="10:30",
    )  # fmt: skip
    for at in ("09:00", "09:30"):
        booking.book(
            sqlite_clinic, f.RECEPTION, patient_id=f.patient(sqlite_clinic),
            doctor_id=world.doctor_id, day=world.day, at=at,
        )  # fmt: skip
    waitlist.add(sqlite_clinic, f.RECEPTION, patient_id=sophie, doctor_id=world.doctor_id)
    [nine_thirty] = booking.list_appointments(
        sqlite_clinic,
        f.RECEPTION,
        booking.AppointmentFilter(doctor_id=world.doctor_id, text="", statuses=("booked",)),
    )[1:2]
    booking.cancel(sqlite_clinic, f.RECEPTION, nine_thirty.id)  # 09:30 frees
    panel = _panel(qtbot, sqlite_clinic, ops)
    view = panel.offers.view
    view.setFocus()
    panel.offers.select_row(0)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    box = _box(qtbot)
    who, day = f"Sophie Wagner (#{sophie})", day_text(world.day, sqlite_clinic.today())
    assert box.text() == (f"Move {who}'s visit with Dr. Ada Lovelace from 10:30 to 09:30, {day}?")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.offers_model.rows == [], timeout=WAIT)
    bar = panel.confirmation
    assert bar.text() == (
        f"Moved {who}'s visit with Dr. Ada Lovelace from 10:30 to 09:30, {day} (from the waitlist)."
    )
    mine = booking.AppointmentFilter(patient_id=sophie, statuses=("booked",))
    booked = booking.list_appointments(sqlite_clinic, f.RECEPTION, mine)
    assert [(b.id, b.time) for b in booked] == [(visit, time(9, 30))]

    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)
    _ctrl_z(qtbot, panel, view)
    qtbot.waitUntil(lambda: len(panel.offers_model.rows) == 1, timeout=WAIT)
    booked = booking.list_appointments(sqlite_clinic, f.RECEPTION, mine)
    assert [(b.id, b.time) for b in booked] == [(visit, time(10, 30))]
    assert bar.text().startswith(f"Undone: {who}'s visit is back on ")
    assert bar.text().endswith(
        f" at 10:30 with Dr. Ada Lovelace and {who} is back on the waitlist."
    )


def test_enter_on_the_row_with_the_focus_frame_acts_on_it(
    qtbot, sqlite_clinic: Clinic, ops: Operations
) -> None:
    world, _ = _expected_at_ten(sqlite_clinic)
    waitlist.add(
        sqlite_clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
    )
    panel = _panel(qtbot, sqlite_clinic, ops)
    said: list[str] = []
    panel.status_message.connect(said.append)
    for table in (panel.expected, panel.offers):
        # As Qt leaves a list that gets the focus: a current row, framed, not selected.
        view = table.view
        view.selectionModel().clearSelection()
        view.selectionModel().setCurrentIndex(
            view.model().index(0, 0), QItemSelectionModel.SelectionFlag.NoUpdate
        )
        view.setFocus()
        qtbot.waitUntil(view.hasFocus, timeout=WAIT)
    qtbot.keyClick(panel.offers.view, Qt.Key.Key_Return)
    box = _box(qtbot)
    assert box.text().startswith(f"Book Anna Smith (#{world.other_patient_id}) with ")
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _boxes() == [], timeout=WAIT)

    panel.expected.view.setFocus()
    qtbot.keyClick(panel.expected.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(panel.waiting_model.rows) == 1, timeout=WAIT)
    assert not [s for s in said if s.startswith("Choose")]
