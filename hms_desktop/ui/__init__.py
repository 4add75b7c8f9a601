"""The PySide6 desktop front end. Widgets call services; they never touch the database."""

from __future__ import annotations


def _guard_pyside_refcount_bug() -> None:
    """Keep PySide6 6.12 on Python 3.11 from freeing ``None``/``True`` (and aborting).

    That build returns ``None`` from every void method and ``True`` from
    ``Signal.emit`` without taking a reference (fine on 3.12+, where they are
    immortal). Each call drains one reference, and after a few hundred signals
    Python aborts with "deallocating True or False". A probe detects the bug; if
    present, the singletons get a reserve of references no session can use up.
    """
    import sys

    if sys.version_info >= (3, 12):  # immortal singletons: nothing to drain
        return
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        poked = Signal()

    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(4):
        probe.setObjectName("probe")
        probe.poked.emit()
    if (sys.getrefcount(None), sys.getrefcount(True)) >= before:
        return
    import ctypes  # only for the broken build (it costs a millisecond at every start)

    for singleton in (None, True, False):
        # CPython 3.11: ob_refcnt is the first field, at the object's address (its id).
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40


_guard_pyside_refcount_bug()
