"""The controls above the appointment book: the day, the doctors, the patient, the
visit type and the next-free search."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.views import DepartmentRow
from hms_desktop.ui.common.dates import date_edit
from hms_desktop.ui.common.layout import SPACING


class BookControls(QWidget):
    """Plain widgets; :class:`~.view.BookView` connects them."""

    def hide_booking(self) -> None:
        """A doctor's own book: the front desk books, so no patient, visit type or search."""
        for widget in (self.patient_label, self.patient_button, self.visit_type,
                       self.next_free_button, self.scope, self.between, self.between_from,
                       self.between_to):  # fmt: skip
            widget.hide()
        self._who.hide()
        self._find.hide()

    def show_patient_chosen(self, chosen: bool) -> None:
        """Whom Enter books for stands out once there is someone; the button then changes them."""
        font = self.patient_label.font()
        font.setBold(chosen)
        self.patient_label.setFont(font)
        self.patient_button.setText("Change p&atient…" if chosen else "Choose p&atient…")

    def hide_dates(self) -> None:
        """The day and the week are chosen elsewhere (the Doctor tab's own buttons)."""
        for widget in (self.prev_button, self.today_button, self.next_button, self.date_edit,
                       self.week):  # fmt: skip
            widget.hide()

    def __init__(
        self,
        day: date,
        department_rows: list[DepartmentRow] | None,
        visit_types: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        """``department_rows`` None: a doctor's own book (no department filter).
        ``visit_types``: (name, label) of each visit type."""
        super().__init__(parent)
        self.prev_button = QPushButton("◀ Previ&ous", self)
        self.today_button = QPushButton("To&day", self)
        self.next_button = QPushButton("&Next ▶", self)
        self.date_edit = date_edit(self, day)
        self.department = QComboBox(self)
        self.department.setAccessibleName("Department")
        self.department.addItem("All departments", None)
        for d in department_rows or []:
            self.department.addItem(d.name, d.id)
        if department_rows is None:
            self.department.hide()
        #: Which doctors are shown (a chosen set, remembered on this PC).
        self.doctors_button = QPushButton("Do&ctors: all", self)
        self.doctors_button.setToolTip("Show a chosen set of doctors")
        if department_rows is None:
            self.doctors_button.hide()
        self.week = QCheckBox("&Week of one doctor", self)
        self.week.setToolTip("The week of the doctor under the cursor")
        self.patient_label = QLabel("Patient: none chosen", self)
        self.patient_label.setObjectName("bookPatient")
        self.patient_button = QPushButton("Choose p&atient…", self)
        self.visit_type = QComboBox(self)
        self.visit_type.setAccessibleName("Visit type")
        for key, label in visit_types:
            self.visit_type.addItem(label, key)
        self.visit_type.setCurrentIndex(max(0, self.visit_type.findData("consultation")))
        self.scope = QComboBox(self)
        self.scope.setAccessibleName("Next free time for")
        self.scope.addItem("This doctor", "doctor")
        self.scope.addItem("The department", "department")
        self.between = QCheckBox("Between", self)
        self.between_from, self.between_to = (
            QTimeEdit(QTime(8, 0), self),
            QTimeEdit(QTime(12, 0), self),
        )
        self.next_free_button = QPushButton("Ne&xt free (Ctrl+G)", self)
        self.print_button = QPushButton("P&rint day…", self)
        self.hours_button = QPushButton("Hour&s…", self)
        self.hours_button.setToolTip("Weekly hours and leave of the chosen doctor")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        # Three rows, so that nothing is squeezed in a 1024-pixel window: the day, whose
        # book, then what to book and the next free time. A row with nothing shown (a
        # doctor's own book) takes no room.
        for w in (self.prev_button, self.today_button, self.next_button, self.date_edit,
                  self.week):  # fmt: skip
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.hours_button)
        top.addWidget(self.print_button)
        self._who = QWidget(self)
        who = QHBoxLayout(self._who)
        who.setContentsMargins(0, 0, 0, 0)
        who.addWidget(self.department)
        who.addWidget(self.doctors_button)
        who.addSpacing(SPACING * 2)
        who.addWidget(self.patient_label)
        who.addWidget(self.patient_button)
        who.addStretch(1)
        self._find = QWidget(self)
        find = QHBoxLayout(self._find)
        find.setContentsMargins(0, 0, 0, 0)
        for finding in (self.visit_type, self.next_free_button, self.scope, self.between,
                        self.between_from, self.between_to):  # fmt: skip
            find.addWidget(finding)
        find.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addLayout(top)
        layout.addWidget(self._who)
        layout.addWidget(self._find)
