"""The application's look: a light Fusion palette and ``resources/styles/app.qss``."""

from __future__ import annotations

import logging

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from hms_desktop.resources_path import resources_dir

log = logging.getLogger(__name__)

STYLE_SHEET = ("styles", "app.qss")


def load_style_sheet() -> str:
    """The style sheet's text; empty (the plain Fusion look) when the file is missing."""
    try:
        folder = resources_dir()
        sheet = folder.joinpath(*STYLE_SHEET).read_text(encoding="utf-8")
    except OSError as err:  # FileNotFoundError included: a broken install looks plain
        log.warning("no style sheet: %s", err)
        return ""
    # Style sheets resolve relative urls against the working directory; make them absolute.
    return sheet.replace("@ICONS@", (folder / "icons").as_posix())


def apply_style(app: QApplication) -> None:
    """Fusion with a light palette (the same on every platform), then the style sheet."""
    if app.style().name().lower() != "fusion":  # often already so (Linux): a new one costs ~4 ms
        app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#f5f7fa",
        QPalette.ColorRole.WindowText: "#1f2937",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f8fafc",
        QPalette.ColorRole.Text: "#1f2937",
        QPalette.ColorRole.Button: "#ffffff",
        QPalette.ColorRole.ButtonText: "#1f2937",
        QPalette.ColorRole.Highlight: "#2563eb",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#111827",
        QPalette.ColorRole.ToolTipText: "#f9fafb",
        QPalette.ColorRole.PlaceholderText: "#9ca3af",
        QPalette.ColorRole.Link: "#2563eb",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#9ca3af"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#9ca3af"))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(load_style_sheet())
    try:
        icon = resources_dir() / "icons" / "hms-desktop-256.png"
        if icon.exists():
            app.setWindowIcon(QIcon(str(icon)))
    except FileNotFoundError:
        pass  # already logged by load_style_sheet
