"""The front desk at the keyboard, in the real main window: real key events only.

The wrong-patient sequence from issue 13 (typing while the results list has the
focus used to switch the chosen patient), the shortest booking of a returning
patient, and Undo of a booking from the confirmation that stays on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from hms_desktop.errors import NotFoundError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records.stats import StatsService
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from hms_desktop.services.views import Slot
from hms_desktop.ui.booking.booking_dialog import BookingDialog
from hms_desktop.ui.patient.patient_tab import PatientTab
from hms_desktop.ui.shell.main_window import MainWindow
from tests import factories as f

WAIT = 10_000


@pytest.fixture
def open_window(qtbot: QtBot, sqlite_clinic: Clinic) -> Iterator[Callable[[], MainWindow]]:
    """Opens the receptionist's main window on the Patient tab, active, slots loaded."""
    stats = StatsService(sqlite_clinic)
    opened: list[MainWindow] = []

    def open_() -> MainWindow:
        win = MainWindow(sqlite_clinic, f.RECEPTION, stats)
        opened.append(win)
        qtbot.addWidget(win)
        with qtbot.waitActive(win):
            win.show()
            win.activateWindow()
        win.tabs.setCurrentWidget(win.patient_tab)
        tab = win.patient_tab
        qtbot.waitUntil(lambda: tab.browser.slot_picker.model.rowCount() > 0, timeout=WAIT)
        qtbot.waitUntil(lambda: tab.picker.model.rowCount() > 0, timeout=WAIT)
        return win

    yield open_
    for win in opened:
        win.discard_unsaved_changes()
        win.close()
        qtbot.waitUntil(lambda w=win: not w.ops.busy, timeout=WAIT)
    stats.close()


def one_expected_today(clinic: Clinic) -> tuple[f.World, int]:
    """The small clinic with Dr. Lovelace in today 10:00-12:00 and José expected at 10:00
    (the world, and his visit)."""
    world = f.world(clinic)
    today = clinic.today()
    f.open_day(clinic, world.doctor_id, today, "10:00", "12:00")
    visit = booking.book(
        clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=today, at="10:00",
    )  # fmt: skip
    return world, visit


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard"
    return widget


def press(qtbot: QtBot, key: Qt.Key) -> None:
    """One key, sent where the keyboard is (as a person's key press goes)."""
    qtbot.keyClick(focused(), key)


def to_first_slot(qtbot: QtBot, tab: PatientTab) -> None:
    """A patient never seen before is chosen: no doctor and no slot are selected and the
    keyboard is on the departments; Tab past the doctors and the day onto the first slot."""
    browser = tab.browser
    qtbot.waitUntil(lambda: focused() is browser.departments.view, timeout=WAIT)
    assert browser.current_slot() is None
    for _ in range(3):
        press(qtbot, Qt.Key.Key_Tab)
    assert focused() is browser.slot_picker.table.view
    assert browser.current_slot() == browser.slot_picker.slots()[0]


def everyone_booked(clinic: Clinic) -> list[tuple[int, object, object]]:
    return [
        (a.patient_id, a.date, a.time)
        for a in booking.list_appointments(clinic, SYSTEM, AppointmentFilter(statuses=("booked",)))
    ]


def test_typing_never_switches_the_chosen_patient_and_books_nobody(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    clinic = sqlite_clinic
    world = f.world(clinic)
    anna = f.patient(clinic, "Anna Hoffmann", date_of_birth="1987-03-02")
    sophie = f.patient(clinic, "Sophie Hoffmann", date_of_birth="1990-05-06")
    schmidt = f.patient(clinic, "Peter Schmidt", date_of_birth="1975-01-01")
    window = open_window()
    tab: PatientTab = window.patient_tab
    picker = tab.picker
    assert picker is not None

    # Anna Hoffmann is chosen with a click in the results; the keyboard stays in the list.
    qtbot.keySequence(window, "Ctrl+F")
    qtbot.keyClicks(focused(), "hoffmann")
    qtbot.waitUntil(lambda: [p.id for p in picker.model.rows] == [anna, sophie], timeout=WAIT)
    view = picker.results.view
    rect = view.visualRect(picker.model.index(0, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tab.patient is not None and tab.patient.id == anna
    view.setFocus()
    assert focused() is view

    # A letter typed in the list is no type-ahead ("s" used to jump to Sophie): it goes
    # on into the search, and Anna's pages are put away until someone is chosen.
    press(qtbot, Qt.Key.Key_S)
    assert focused() is picker.search and picker.search.text() == "hoffmanns"
    assert tab.patient.id == anna and tab.is_suspended()
    assert tab.stack.currentIndex() == 0 and not tab.book_action.isEnabled()

    # Ctrl+F and Ctrl+B: the cursor in the finder with its text selected.
    view.setFocus()
    qtbot.keySequence(window, "Ctrl+F")
    assert focused() is picker.search and picker.search.selectedText() == "hoffmanns"
    view.setFocus()
    qtbot.keySequence(window, "Ctrl+B")
    assert focused() is picker.search and picker.search.selectedText() == "hoffmanns"
    # "schmidt" replaces the text.
    qtbot.keyClicks(focused(), "schmidt")
    assert picker.search.text() == "schmidt"
    qtbot.waitUntil(lambda: [p.id for p in picker.model.rows] == [schmidt], timeout=WAIT)
    # Down highlights Peter Schmidt without choosing him; Ctrl+B again books nobody.
    press(qtbot, Qt.Key.Key_Down)
    assert focused() is view and picker.current_patient().id == schmidt  # type: ignore[union-attr]
    qtbot.keySequence(window, "Ctrl+B")
    press(qtbot, Qt.Key.Key_Tab)
    assert tab.patient.id == anna and tab.is_suspended()
    assert not tab.book_action.isEnabled() and not tab.cancel_action.isEnabled()
    tab.book_selected()  # even asked directly: nothing opens while nobody is chosen
    assert tab.active_dialog is None
    assert everyone_booked(clinic) == []

    # Enter in the finder chooses explicitly; the dialog then names who is booked.
    picker.focus_search()
    press(qtbot, Qt.Key.Key_Return)
    assert tab.patient is not None and tab.patient.id == schmidt and not tab.is_suspended()
    to_first_slot(qtbot, tab)
    press(qtbot, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    who = f"Peter Schmidt (born 1975, #{schmidt})"
    assert who in dialog.windowTitle() and who in dialog.save_button.text()
    dialog.reject()
    assert everyone_booked(clinic) == [] and world.patient_id != schmidt


def test_a_returning_patient_is_booked_into_the_next_free_slot_in_five_key_actions(
    qtbot: QtBot, sqlite_clinic: Clinic, clock: FakeClock, open_window: Callable[[], MainWindow]
) -> None:
    clinic = sqlite_clinic
    # A returning patient: seen last week (clock moved back to book, then forward).
    now = clock.now()
    dept = f.department(clinic, "Orthopaedics")
    doctor = f.doctor(clinic, dept, "Dr. Grace Hopper")
    maria = f.patient(clinic, "Maria Returning", date_of_birth="1962-07-08")
    last_week = now.date() - timedelta(days=7)
    clock.set(datetime.combine(last_week, time(8, 0), tzinfo=clock.tz))
    f.open_day(clinic, doctor, last_week)
    seen = booking.book(
        clinic, f.RECEPTION, patient_id=maria, doctor_id=doctor, day=last_week, at="09:00"
    )
    clock.set(datetime.combine(last_week, time(9, 5), tzinfo=clock.tz))
    booking.complete(clinic, f.doctor_actor(doctor), seen)
    clock.set(now)
    for days in (1, 2):
        f.open_day(clinic, doctor, now.date() + timedelta(days=days))
    # Another department, listed first, with earlier free time: not her doctor's.
    other = f.doctor(clinic, f.department(clinic, "Cardiology"), "Dr. Alan Kay")
    f.open_day(clinic, other, now.date(), "10:00", "12:00")
    window = open_window()
    tab: PatientTab = window.patient_tab
    assert tab.browser.current_department().name == "Cardiology"  # type: ignore[union-attr]
    # Her doctor's next free slot: tomorrow 09:00 (Cardiology has today 10:00 free).
    first = Slot(doctor, now.date() + timedelta(days=1), time(9, 0), time(9, 30))

    actions = 0
    qtbot.keySequence(window, "Ctrl+B")  # 1: start a booking: the finder
    actions += 1
    qtbot.keyClicks(focused(), "returning")  # 2: the name
    actions += 1
    press(qtbot, Qt.Key.Key_Return)  # 3: Enter chooses her (the search runs first)
    actions += 1
    qtbot.waitUntil(lambda: tab.patient is not None and tab.patient.id == maria, timeout=WAIT)
    # Her visits load; the slots of the doctor she saw last come up, the first selected.
    qtbot.waitUntil(lambda: focused() is tab.browser.slot_picker.table.view, timeout=WAIT)
    assert tab.browser.current_slot() == first
    press(qtbot, Qt.Key.Key_Return)  # 4: Enter on the first free slot
    actions += 1
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == first, timeout=WAIT)
    assert focused().window() is dialog
    with qtbot.waitSignal(tab.booked, timeout=WAIT):
        press(qtbot, Qt.Key.Key_Return)  # 5: Enter confirms
    actions += 1
    assert actions <= 6
    assert everyone_booked(clinic) == [(maria, first.date, first.time)]
    assert "Booked Maria Returning (born 1962" in tab.confirmation.text()


def test_undo_of_a_booking_from_the_confirmation(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    clinic = sqlite_clinic
    world = f.world(clinic)
    window = open_window()
    tab: PatientTab = window.patient_tab
    qtbot.keySequence(window, "Ctrl+B")
    qtbot.keyClicks(focused(), "smith")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.patient is not None, timeout=WAIT)
    to_first_slot(qtbot, tab)
    slot = tab.browser.current_slot()
    assert slot is not None
    press(qtbot, Qt.Key.Key_Return)
    dialog = tab.active_dialog
    assert isinstance(dialog, BookingDialog)
    qtbot.waitUntil(lambda: dialog.slot_picker.current_slot() == slot, timeout=WAIT)
    with qtbot.waitSignal(tab.booked, timeout=WAIT) as booked:
        press(qtbot, Qt.Key.Key_Return)
    assert everyone_booked(clinic) == [(world.other_patient_id, slot.date, slot.time)]
    bar = tab.confirmation
    assert bar.isVisible() and bar.undo_button.isVisible()
    assert "Booked Anna Smith" in bar.text() and "Dr. Ada Lovelace" in bar.text()
    assert "09:00" in bar.text()

    # Ctrl+Z (with the keyboard back in the window, outside any text field) is Undo.
    with qtbot.waitActive(window):
        window.activateWindow()
    tab.browser.slot_picker.table.view.setFocus()
    qtbot.keySequence(window, "Ctrl+Z")
    qtbot.waitUntil(lambda: bar.text().startswith("Undone:"), timeout=WAIT)
    assert not bar.undo_button.isVisible()
    assert everyone_booked(clinic) == []
    # Taken back entirely: nothing on Anna's record, not even a cancelled visit.
    with pytest.raises(NotFoundError):
        booking.get_appointment(clinic, SYSTEM, booked.args[0])
    assert (
        booking.list_appointments(
            clinic, SYSTEM, AppointmentFilter(patient_id=world.other_patient_id)
        )
        == []
    )
    qtbot.waitUntil(lambda: slot in tab.browser.slot_picker.slots(), timeout=WAIT)


def test_page_shortcuts_match_the_pages_each_role_has_and_the_readme_says_so(
    qtbot: QtBot, sqlite_clinic: Clinic
) -> None:
    from pathlib import Path

    from PySide6.QtGui import QAction

    from hms_desktop.services.actor import Actor

    stats = StatsService(sqlite_clinic)
    admin = Actor(user_id=None, username="boss", role="admin")
    found = {}
    try:
        for actor in (f.RECEPTION, admin):
            window = MainWindow(sqlite_clinic, actor, stats)
            qtbot.addWidget(window)
            with qtbot.waitActive(window):
                window.show()
                window.activateWindow()
            pages = {
                a.shortcut().toString(): a.text()
                for a in window.findChildren(QAction)
                # Page shortcuts are Alt+digit (the book's Alt+Left/Right move the day).
                if a.shortcut().toString()[:4] == "Alt+" and a.shortcut().toString()[4:].isdigit()
            }
            found[actor.role] = pages
            last = getattr(Qt.Key, f"Key_{len(window.admin_tab.PAGES)}")
            window.admin_tab.nav.setFocus()
            qtbot.keyClick(window.admin_tab.nav, last, Qt.KeyboardModifier.AltModifier)
            assert window.admin_tab.current_page == window.admin_tab.PAGES[-1]
            window.close()
            qtbot.waitUntil(lambda w=window: not w.ops.busy, timeout=WAIT)
    finally:
        stats.close()
    desk = [f"Alt+{n}" for n in range(1, 7)]
    assert sorted(found["receptionist"]) == desk  # no Alt+7: the desk has no audit log
    assert found["receptionist"]["Alt+6"] == "Admin: Jobs"
    assert sorted(found["admin"]) == [*desk, "Alt+7", "Alt+8"]
    assert found["admin"]["Alt+7"] == "Admin: Audit log"
    assert found["admin"]["Alt+8"] == "Admin: Users"
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text("utf-8").split())
    assert "Alt+1…6 the Admin pages" in readme
    assert "for an administrator, Alt+7 the Audit log and Alt+8 Users" in readme


def test_ctrl_number_to_the_desk_then_enter_checks_in(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    """The Desk tab by its shortcut puts the keyboard on Expected today: Enter checks in."""
    _world, visit = one_expected_today(sqlite_clinic)
    win = open_window()
    number = win.tab_names().index("Desk") + 1
    qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
    desk = win.desk_tab
    assert win.tabs.currentWidget() is desk
    qtbot.waitUntil(lambda: desk.expected.view.currentIndex().isValid(), timeout=WAIT)
    assert focused() is desk.expected.view
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [r.appointment_id for r in desk.waiting_model.rows] == [visit])


def test_alt_e_o_l_put_the_keyboard_on_each_desk_list_and_enter_acts_there(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    """The waitlist took six Tabs to reach (QA): each list's title has an Alt+letter,
    underlined on screen and named in its tooltip, that puts the keyboard on the list's
    row, so Enter there books from the waitlist or calls in, not checks in."""
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QMessageBox

    from hms_desktop.services.scheduling import patient_flow, waitlist

    world = f.world(sqlite_clinic)
    today = sqlite_clinic.today()
    f.open_day(sqlite_clinic, world.doctor_id, today, "10:00", "12:00")
    first, second = (
        booking.book(
            sqlite_clinic, f.RECEPTION, patient_id=patient, doctor_id=world.doctor_id,
            day=today, at=at,
        )
        for patient, at in ((world.patient_id, "10:00"), (f.patient(sqlite_clinic), "10:30"))
    )  # fmt: skip
    patient_flow.check_in(sqlite_clinic, f.RECEPTION, second)
    waitlist.add(
        sqlite_clinic, f.RECEPTION, patient_id=world.other_patient_id, doctor_id=world.doctor_id
    )
    win = open_window()
    number = win.tab_names().index("Desk") + 1
    qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
    desk = win.desk_tab
    qtbot.waitUntil(lambda: len(desk.offers_model.rows) == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: focused() is desk.expected.view, timeout=WAIT)

    alt = Qt.KeyboardModifier.AltModifier
    qtbot.keyClick(focused(), Qt.Key.Key_L, alt)
    assert focused() is desk.offers.view
    assert desk.offers.selected_row() == 0  # Enter acts on the row the desk sees
    press(qtbot, Qt.Key.Key_Return)  # the waitlist's Enter: the question to book it
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    assert "Anna Smith" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # not now
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT)

    qtbot.keyClick(focused(), Qt.Key.Key_O, alt)
    assert focused() is desk.waiting.view
    assert desk.waiting.selected_row() == 0
    qtbot.keyClick(focused(), Qt.Key.Key_E, alt)
    assert focused() is desk.expected.view
    assert desk.expected_model.rows[desk.expected.selected_row()].id == first
    # Nothing was booked, called in or checked in on the way.
    assert [r.status for r in desk.waiting_model.rows] == ["arrived"]
    assert len(desk.expected_model.rows) == 1 and len(desk.offers_model.rows) == 1
    # The keys are learnt from the screen: underlined in the titles, named in their tooltips.
    titles = {QKeySequence.mnemonic(t.text()).toString(): t.toolTip() for t in desk.list_titles}
    assert sorted(titles) == ["Alt+E", "Alt+L", "Alt+O"]
    assert all(tip.endswith(f"({key})") for key, tip in titles.items())


def test_alt_l_on_an_empty_waitlist_says_so_and_enter_checks_nobody_in(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    """An empty list's table is hidden behind its sentence: its key still takes the
    keyboard off the list left behind (where Enter would check in) and says it is empty."""
    _world, _visit = one_expected_today(sqlite_clinic)
    win = open_window()
    win.tabs.setCurrentWidget(win.desk_tab)
    desk = win.desk_tab
    qtbot.waitUntil(lambda: focused() is desk.expected.view, timeout=WAIT)
    said: list[str] = []
    desk.status_message.connect(said.append)
    qtbot.keyClick(focused(), Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    assert said == ["Nobody is on the waitlist."]
    assert focused() is desk.offers.empty_label
    press(qtbot, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert not win.ops.busy and len(desk.expected_model.rows) == 1
    assert desk.waiting_model.rows == []


def test_ctrl_n_at_the_desk_registers_over_the_desk_and_offers_them_for_the_walk_in(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    """Ctrl+N took the desk to Admin > Patients (QA). The form opens over the desk, the
    desk is where it was afterwards, and Walk-in… (Alt+W) opens with the new patient
    chosen while the bar names them; once the bar moves on, nobody is chosen again."""
    from hms_desktop.ui.admin.patient_form import PatientFormDialog
    from hms_desktop.ui.booking.waitlist_dialogs import WalkInDialog
    from hms_desktop.ui.common.patient_picker import NONE_CHOSEN

    _world, _visit = one_expected_today(sqlite_clinic)
    win = open_window()
    number = win.tab_names().index("Desk") + 1
    qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
    desk = win.desk_tab
    qtbot.waitUntil(lambda: focused() is desk.expected.view, timeout=WAIT)
    said: list[str] = []
    win.status.messageChanged.connect(lambda text: text and said.append(text))

    qtbot.keyClick(focused(), Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = win.findChild(PatientFormDialog)
    assert form is not None and form.isVisible()
    assert win.tabs.currentWidget() is desk  # the desk stays under the form
    qtbot.waitUntil(lambda: focused() is form.name, timeout=WAIT)
    qtbot.keyClicks(form.name, "Walter Walkin")
    with qtbot.waitSignal(form.saved, timeout=WAIT) as saved:
        press(qtbot, Qt.Key.Key_Return)  # Save
    patient_id = saved.args[0]
    qtbot.waitUntil(lambda: "Walter Walkin" in desk.confirmation.text(), timeout=WAIT)
    assert win.tabs.currentWidget() is desk
    # The window's keyboard is still on the desk's list (offscreen, no window manager
    # hands the activation back to the window after a dialog: do as one does).
    assert win.focusWidget() is desk.expected.view
    if not win.isActiveWindow():
        with qtbot.waitActive(win):
            win.activateWindow()
    assert focused() is desk.expected.view
    assert f"Patient {patient_id} registered." in said
    assert desk.confirmation.text().startswith(f"Walter Walkin (#{patient_id}) is registered.")

    def walk_in_dialog() -> WalkInDialog | None:
        shown = [d for d in desk.findChildren(WalkInDialog) if d.isVisible()]
        return shown[0] if shown else None

    qtbot.keyClick(focused(), Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)  # Walk-in…
    qtbot.waitUntil(lambda: walk_in_dialog() is not None, timeout=WAIT)  # an animated click
    walk_in = walk_in_dialog()
    assert walk_in is not None
    assert walk_in.patient is not None and walk_in.patient.id == patient_id
    assert "Walter Walkin" in walk_in.chosen_label.text()
    qtbot.waitUntil(lambda: focused() is walk_in.doctor, timeout=WAIT)  # on to the doctor
    qtbot.waitUntil(lambda: not win.ops.busy, timeout=WAIT)
    assert walk_in.patient.id == patient_id  # the finder's own search did not drop them
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not walk_in.isVisible(), timeout=WAIT)

    desk.confirmation.dismiss_button.click()  # the bar moves on: no silent default
    if not win.isActiveWindow():
        with qtbot.waitActive(win):
            win.activateWindow()
    qtbot.keyClick(desk.expected.view, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: walk_in_dialog() is not None, timeout=WAIT)
    later = walk_in_dialog()
    assert later is not None and later.patient is None
    assert later.chosen_label.text() == NONE_CHOSEN
    qtbot.keyClick(later, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not later.isVisible(), timeout=WAIT)


def test_ctrl_n_elsewhere_keeps_the_screen_and_on_admin_patients_lists_the_new_one(
    qtbot: QtBot, sqlite_clinic: Clinic, open_window: Callable[[], MainWindow]
) -> None:
    """The same key everywhere: the form over the screen in use. On Admin > Patients it is
    the page's own Register patient…, and the list shows whom it registered."""
    from hms_desktop.ui.admin.patient_form import PatientFormDialog

    world = f.world(sqlite_clinic)
    f.open_day(sqlite_clinic, world.doctor_id, sqlite_clinic.today(), "10:00", "12:00")
    win = open_window()  # on the Patient tab
    qtbot.keyClick(focused(), Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = win.findChild(PatientFormDialog)
    assert form is not None and form.isVisible()
    assert win.tabs.currentWidget() is win.patient_tab
    qtbot.keyClick(form, Qt.Key.Key_Escape)  # nothing typed: it closes at once
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=WAIT)
    assert win.tabs.currentWidget() is win.patient_tab

    win.tabs.setCurrentWidget(win.admin_tab)
    win.admin_tab.show_page("patients")
    qtbot.keyClick(win.admin_tab.patients.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    page_form = win.admin_tab.patients.findChild(PatientFormDialog)
    assert page_form is not None and page_form.isVisible()
    qtbot.keyClicks(page_form.name, "Nina Neu")
    with qtbot.waitSignal(page_form.saved, timeout=WAIT) as saved:
        qtbot.keyClick(page_form.name, Qt.Key.Key_Return)
    assert win.admin_tab.patients.search.text() == str(saved.args[0])
