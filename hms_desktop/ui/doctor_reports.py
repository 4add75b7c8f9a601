"""The Doctor tab's "My reports" section: the jobs feature's list, or a note until it exists."""

from __future__ import annotations

import importlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.ui.form_support import muted_label
from hms_desktop.ui.operations import Operations

MY_REPORTS_MODULE = "hms_desktop.ui.my_reports"
REPORTS_PLACEHOLDER = (
    "Your monthly reports appear here after the first monthly run "
    "(on the 1st of each month, for the month before)."
)


def reports_section(clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget) -> QWidget:
    """``MyReportsWidget`` when the reports feature is part of this build, else a placeholder.

    Raises:
        ImportError: the reports module exists but fails to import (a bug to see, not hide).
    """
    try:
        module = importlib.import_module(MY_REPORTS_MODULE)
    except ModuleNotFoundError as err:
        if err.name != MY_REPORTS_MODULE:
            raise
        label = muted_label(REPORTS_PLACEHOLDER, parent)
        label.setObjectName("emptyState")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label
    widget: QWidget = module.MyReportsWidget(clinic, actor, ops, parent)
    return widget
