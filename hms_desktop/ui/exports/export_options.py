"""The export dialog's options: the CSV delimiter and, for a history, all visits.

The delimiter defaults to what this PC chose last time, else to the system
locale's (a semicolon where numbers have a decimal comma, as German and French
Excel expect); a successful CSV export remembers the choice for this PC.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLocale
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QWidget

from hms_desktop import config
from hms_desktop.errors import HmsError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files.csv_locale import DELIMITER_LABELS, default_delimiter

log = logging.getLogger(__name__)

ALL_VISITS = "Include &upcoming, cancelled and no-show visits"
#: What "all visits" does to each format (a Status column only where there are columns).
ALL_VISITS_NOTES = {
    "csv": " (adds a Status column)",
    "xlsx": " (adds a Status column)",
    "pdf": " (each with its status)",
    # Kept short: the box does not widen the dialog when the format changes.
    "fhir": " (always in FHIR)",
}


class ExportOptions:
    """Adds the delimiter choice (and the all-visits box for a history) to ``form``."""

    def __init__(
        self, form: QFormLayout, parent: QWidget, clinic: Clinic, *, history: bool
    ) -> None:
        self._clinic = clinic
        self.delimiter_combo = QComboBox(parent)
        self.delimiter_combo.setObjectName("csvDelimiter")
        for value, label in DELIMITER_LABELS.items():
            self.delimiter_combo.addItem(label, value)
        # QLocale() is the system locale unless the application set another default.
        chosen = default_delimiter(clinic.pc.csv_delimiter, decimal_point=QLocale().decimalPoint())
        self.delimiter_combo.setCurrentIndex(self.delimiter_combo.findData(chosen))
        self.delimiter_combo.setToolTip(
            "Excel splits a CSV into columns at the list separator of the PC's region: "
            "a semicolon where numbers are written 1,5 (German, French), else a comma."
        )
        form.addRow("CSV de&limiter:", self.delimiter_combo)
        self.all_visits: QCheckBox | None = None
        if history:
            self.all_visits = QCheckBox(ALL_VISITS + ALL_VISITS_NOTES["csv"], parent)
            self.all_visits.setObjectName("allVisits")
            form.addRow("", self.all_visits)
        self.widgets: list[QWidget] = [self.delimiter_combo]
        if self.all_visits is not None:
            self.widgets.append(self.all_visits)

    @property
    def delimiter(self) -> str:
        return str(self.delimiter_combo.currentData())

    @property
    def include_all_visits(self) -> bool:
        return self.all_visits is not None and self.all_visits.isChecked()

    def follow_format(self, fmt: str) -> None:
        """The delimiter applies to CSV only; all visits to every format but FHIR (which
        holds every visit anyway), and the box says what it adds to this format."""
        self.delimiter_combo.setEnabled(fmt == "csv")
        if self.all_visits is not None:
            self.all_visits.setEnabled(fmt != "fhir")
            self.all_visits.setText(ALL_VISITS + ALL_VISITS_NOTES.get(fmt, ""))

    def remember(self) -> None:
        """Keep the delimiter used for this PC (a failure to save only logs)."""
        delimiter = self.delimiter
        if delimiter == self._clinic.pc.csv_delimiter:
            return
        self._clinic.pc = self._clinic.pc.replace(csv_delimiter=delimiter)
        try:
            config.save_preferences(csv_delimiter=delimiter)
        except (OSError, HmsError) as err:
            log.warning("could not remember the CSV delimiter: %s", err)
