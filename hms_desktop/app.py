"""``hms-desktop``: start the desktop application."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(list(argv if argv is not None else sys.argv))
    window = QMainWindow()
    window.setWindowTitle("HMS Desktop")
    window.show()
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
