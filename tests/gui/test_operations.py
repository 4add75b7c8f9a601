"""The one helper for background work: results, errors, progress and cancel by signal."""

from __future__ import annotations

import threading
from typing import Any

from hms_desktop.errors import ValidationError
from hms_desktop.ui.common.operations import OpContext, Operations

WAIT = 10_000


def _run(qtbot, ops: Operations, work: Any, **callbacks: Any) -> list[tuple[str, Any]]:
    """Start ``work``; the returned list fills with ("ok"|"failed"|"cancelled", value)."""
    outcome: list[tuple[str, Any]] = []
    op = ops.run(
        work,
        on_success=lambda value: outcome.append(("ok", value)),
        on_failure=lambda err: outcome.append(("failed", err)),
        on_cancelled=lambda: outcome.append(("cancelled", None)),
        **callbacks,
    )
    del op  # deleted by the helper once it finishes; the callbacks tell the outcome
    return outcome


def test_result_and_progress_arrive_on_the_ui_thread(qtbot) -> None:
    ops = Operations()
    main = threading.get_ident()
    seen: list[tuple[int, int, str, int]] = []

    def work(ctx: OpContext) -> int:
        ctx.report(1, 2, "half")
        return threading.get_ident()

    outcome = _run(
        qtbot, ops, work, on_progress=lambda d, t, s: seen.append((d, t, s, threading.get_ident()))
    )
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT)
    assert outcome[0][0] == "ok" and outcome[0][1] != main  # the work ran off the UI thread
    assert seen == [(1, 2, "half", main)]  # ...and its progress arrived on the UI thread
    assert ops.shutdown()


def test_a_user_error_reaches_the_failure_callback(qtbot) -> None:
    ops = Operations()

    def work(_ctx: OpContext) -> None:
        raise ValidationError("Name must not be empty.")

    outcome = _run(qtbot, ops, work)
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT)
    assert outcome[0][0] == "failed" and str(outcome[0][1]) == "Name must not be empty."
    assert ops.shutdown()


def test_a_cancel_the_work_honours_is_reported_as_cancelled(qtbot) -> None:
    ops = Operations()
    started = threading.Event()

    def work(ctx: OpContext) -> None:
        started.set()
        while True:
            ctx.check_cancelled()

    outcome: list[str] = []
    op = ops.run(work, on_cancelled=lambda: outcome.append("cancelled"))
    assert started.wait(5)
    op.cancel()
    qtbot.waitUntil(lambda: outcome == ["cancelled"], timeout=WAIT)
    assert ops.shutdown()


def test_a_cancel_too_late_to_stop_the_work_reports_its_result(qtbot) -> None:
    # An export that had already renamed its file must not be reported as "not written".
    ops = Operations()
    release = threading.Event()

    def work(_ctx: OpContext) -> str:
        release.wait(5)
        return "written"

    outcome: list[tuple[str, Any]] = []
    op = ops.run(
        work,
        on_success=lambda value: outcome.append(("ok", value)),
        on_cancelled=lambda: outcome.append(("cancelled", None)),
    )
    op.cancel()
    release.set()
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT)
    assert outcome == [("ok", "written")]
    assert ops.shutdown()


def test_an_answer_for_a_deleted_widget_is_dropped_and_a_living_ones_delivered(qtbot) -> None:
    """A screen closed while its work ran must not be drawn on when the answer comes back
    (a deleted label raised in CI): callbacks of a deleted widget (its methods, partials
    of them, lambdas written in its methods) are skipped; others run."""
    import functools

    import shiboken6
    from PySide6.QtWidgets import QLabel

    class Screen(QLabel):
        def start(self, ops: Operations, got: list[str]) -> None:
            ops.run(lambda _ctx: "a", on_success=lambda v: self.setText(v))
            ops.run(lambda _ctx: "b", on_success=functools.partial(self.take, got))
            ops.run(lambda _ctx: "c", on_success=self.setText)

        def take(self, got: list[str], value: str) -> None:
            got.append(value)
            self.setText(value)

    ops = Operations()
    got: list[str] = []
    gone, alive = Screen(), Screen()
    gone.start(ops, got)
    shiboken6.delete(gone)
    alive.start(ops, got)
    outside: list[str] = []
    ops.run(lambda _ctx: "d", on_success=outside.append)  # no widget: always delivered
    qtbot.waitUntil(lambda: not ops.busy, timeout=5000)
    assert got == ["b"] and alive.text() in ("a", "b", "c") and outside == ["d"]
    assert ops.shutdown()
