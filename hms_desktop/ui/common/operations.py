"""One helper for all background work (after Anki's ``CollectionOp``/``QueryOp``).

``Operations.run(fn, ...)`` runs ``fn(ctx)`` on a worker ``QThread`` and delivers
its result, error and progress back on the UI thread by signal. Workers never
touch widgets: only the callbacks do, and they run on the UI thread. ``fn``
receives a plain :class:`OpContext` (no Qt) so services can report progress and
notice a cancel without knowing about Qt.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from hms_desktop.errors import HmsError, OperationCancelledError

log = logging.getLogger(__name__)


class OpContext:
    """Handed to the work function: progress reporting and cancellation, no Qt."""

    def __init__(self, op: Op) -> None:
        self._op = op
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise OperationCancelledError()

    def report(self, done: int, total: int = 0, text: str = "") -> None:
        """Progress: ``done`` of ``total`` (0 when unknown). Thread-safe."""
        self._op.progress.emit(int(done), int(total), text)


class Op(QObject):
    """A running operation. Signals arrive on the UI thread."""

    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    progress = Signal(int, int, str)  # done, total, text
    finished = Signal()  # after succeeded / failed / cancelled

    def __init__(self, label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.context = OpContext(self)
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.context._cancel.set()

    @property
    def is_cancel_requested(self) -> bool:
        return self.context.cancelled


class _Worker(QThread):
    outcome = Signal(str, object)  # "ok" | "error" | "cancelled", value

    def __init__(self, fn: Callable[[OpContext], Any], ctx: OpContext) -> None:
        super().__init__()
        self._fn = fn
        self._ctx = ctx

    def run(self) -> None:
        try:
            value = self._fn(self._ctx)
        except OperationCancelledError:
            self.outcome.emit("cancelled", None)
        except BaseException as err:  # delivered to the UI thread, never lost
            if not isinstance(err, HmsError):
                log.exception("background operation failed")
            self.outcome.emit("error", err)
        else:
            # The work finished: a cancel that came too late to stop it changes nothing
            # (an export already renamed into place must not be reported as not written).
            self.outcome.emit("ok", value)


def _owner_of(callback: Callable[..., Any]) -> QObject | None:
    """The widget a callback belongs to: a bound method's object, a partial's, or the
    ``self`` a lambda written in a method closes over (None: none found)."""
    func: Any = callback
    while isinstance(func, functools.partial):
        func = func.func
    owner = getattr(func, "__self__", None)
    if owner is None:
        code, cells = getattr(func, "__code__", None), getattr(func, "__closure__", None)
        if code is not None and cells and "self" in code.co_freevars:
            owner = cells[code.co_freevars.index("self")].cell_contents
    return owner if isinstance(owner, QObject) else None


def _while_alive(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback``, skipped once the widget it belongs to is deleted: a screen closed
    while its work ran must not be drawn on when the answer comes back."""
    owner = _owner_of(callback)
    if owner is None:
        return callback

    def guarded(*args: Any) -> Any:
        if shiboken6.isValid(owner):
            return callback(*args)
        return None

    return guarded


class Operations(QObject):
    """Runs work off the UI thread; the only place in the UI that starts threads."""

    #: An operation failed and had no ``on_failure``: the window shows the message.
    unhandled_error = Signal(str, object)  # label, exception
    busy_changed = Signal(bool)
    #: A service found the signed-in account disabled (emitted from any thread by the
    #: account check): the window signs its user out.
    signed_out = Signal(str)  # the message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[_Worker, Op] = {}

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def run(
        self,
        fn: Callable[[OpContext], Any],
        *,
        label: str = "",
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> Op:
        """Start ``fn(ctx)`` on a worker thread; callbacks run on the UI thread."""
        op = Op(label, self)
        worker = _Worker(fn, op.context)
        if on_success is not None:
            op.succeeded.connect(_while_alive(on_success))
        if on_progress is not None:
            op.progress.connect(_while_alive(on_progress))
        if on_cancelled is not None:
            op.cancelled.connect(_while_alive(on_cancelled))
        if on_failure is not None:
            op.failed.connect(_while_alive(on_failure))
        else:
            op.failed.connect(lambda err: self.unhandled_error.emit(label, err))
        worker.outcome.connect(self._on_outcome)
        self._running[worker] = op
        if len(self._running) == 1:
            self.busy_changed.emit(True)
        worker.start()
        return op

    @Slot(str, object)
    def _on_outcome(self, kind: str, value: object) -> None:
        worker = self.sender()
        assert isinstance(worker, _Worker)
        op = self._running.pop(worker)
        worker.wait()
        if kind == "ok":
            op.result = value
            op.succeeded.emit(value)
        elif kind == "cancelled":
            op.cancelled.emit()
        else:
            assert isinstance(value, BaseException)
            op.error = value
            op.failed.emit(value)
        op.finished.emit()
        # No deleteLater: the finished thread and the operation are freed here, on this
        # thread, when the last Python reference goes (a caller may still hold the op).
        op.setParent(None)
        if not self._running:
            self.busy_changed.emit(False)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and wait for the threads; True when all stopped in time."""
        ok = True
        for worker, op in list(self._running.items()):
            op.cancel()
            ok = worker.wait(timeout_ms) and ok
        return ok


def user_message(err: BaseException) -> str:
    """What to tell a person about ``err``."""
    if isinstance(err, HmsError):
        return err.message
    return (
        "Something went wrong that is not your fault "
        f"({type(err).__name__}). Nothing was saved; the details are in the log file."
    )
