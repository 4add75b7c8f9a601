"""Two PCs on one PostgreSQL clinic: a change on one reaches the other's open views."""

from __future__ import annotations

import time as wall

from hms_desktop.db.changes import ChangeEvent
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.admin.admin_tab import AdminTab
from hms_desktop.ui.common.change_relay import ChangeRelay
from hms_desktop.ui.common.operations import Operations
from tests import factories as f
from tests.core import race_worker

WAIT = 20_000


def test_a_booking_on_another_pc_appears_in_the_open_list_without_f5(
    qtbot, pg_clinic: Clinic
) -> None:
    world = f.world(pg_clinic)
    ops = Operations()
    stats = StatsService(pg_clinic)
    tab = AdminTab(pg_clinic, f.RECEPTION, ops, stats)
    relay = ChangeRelay(pg_clinic, tab)
    relay.changed.connect(tab.on_changes)
    qtbot.addWidget(tab)
    tab.resize(1200, 760)
    tab.show()
    arrived: list[tuple[float, ChangeEvent]] = []
    pg_clinic.changes.subscribe_events(
        lambda events: arrived.extend((wall.time(), e) for e in events)
    )
    try:
        tab.show_page("appointments")
        model = tab.appointments.model
        qtbot.waitUntil(lambda: tab.appointments.loaded_once and not ops.busy, timeout=WAIT)
        before = model.rowCount()
        stats.dashboard(f.RECEPTION)
        computed = stats.queries
        assert pg_clinic.start_listening()
        assert pg_clinic.listener is not None and pg_clinic.listener.listening.wait(10)

        with qtbot.waitSignal(relay.changed, timeout=WAIT) as signal:
            new_id = race_worker.book_in_another_process(pg_clinic, world, "10:00")
        assert "appointments" in signal.args[0]
        qtbot.waitUntil(lambda: model.rowCount() == before + 1, timeout=WAIT)

        heard_at, change = next((t, e) for t, e in arrived if e.ids is not None and new_id in e.ids)
        assert heard_at - change.at.timestamp() < 1.0
        stats.dashboard(f.RECEPTION)
        assert stats.queries == computed + 1  # the cached figures were dropped
    finally:
        relay.close()
        qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
        ops.shutdown()
        stats.close()


def test_a_booking_on_another_pc_reaches_the_open_day_view_within_a_second(
    qtbot, pg_clinic: Clinic
) -> None:
    from hms_desktop.ui.booking.book.view import BookView

    world = f.world(pg_clinic)
    ops = Operations()
    view = BookView(pg_clinic, f.RECEPTION, ops)
    relay = ChangeRelay(pg_clinic, view)
    relay.changed.connect(view.on_changes)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    arrived: list[tuple[float, ChangeEvent]] = []
    pg_clinic.changes.subscribe_events(
        lambda events: arrived.extend((wall.time(), e) for e in events)
    )
    try:
        view.set_date(world.day)
        qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
        assert view.model.blocks() == []
        assert pg_clinic.start_listening()
        assert pg_clinic.listener is not None and pg_clinic.listener.listening.wait(10)

        new_id = race_worker.book_in_another_process(pg_clinic, world, "10:00")

        def shown() -> bool:
            return any(b.appointment_id == new_id for _, _, b in view.model.blocks())

        qtbot.waitUntil(shown, timeout=WAIT)  # no F5: the change event reloaded the day
        painted_at = wall.time()
        change = next(e for _, e in arrived if e.ids is not None and new_id in e.ids)
        assert painted_at - change.at.timestamp() < 1.0, "the day view lagged a second"
    finally:
        relay.close()
        qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
        ops.shutdown()
