"""The GUI guards (no QThread or top-level window left behind) apply here too."""

from tests.gui.conftest import _no_leftover_threads_or_windows  # noqa: F401
