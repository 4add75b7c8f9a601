"""The fields that choose which appointments an export holds: dates, doctor, department, status.

The doctor and department lists are loaded through the operation helper, so the
dialog opens at once and fills them when they arrive.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QComboBox, QDateEdit, QFormLayout, QWidget

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import departments, doctors
from hms_desktop.services.scheduling.booking import STATUS_LABELS, AppointmentFilter
from hms_desktop.ui.common.dates import date_edit
from hms_desktop.ui.common.operations import OpContext, Operations, user_message


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def to_qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def to_date(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class AppointmentFilterFields:
    """Adds the filter rows to a form and reads them back as an :class:`AppointmentFilter`.

    Not a widget of its own: its rows line up with the dialog's other fields.
    """

    def __init__(
        self,
        form: QFormLayout,
        parent: QWidget,
        clinic: Clinic,
        ops: Operations,
        flt: AppointmentFilter,
        on_error: Any,
    ) -> None:
        self._clinic = clinic
        self._ops = ops
        self._flt = flt
        self._on_error = on_error
        start, end = month_of(clinic.today())
        self.from_edit = self._date_edit(parent, flt.date_from or start)
        self.to_edit = self._date_edit(parent, flt.date_to or end)
        self.doctor_combo = QComboBox(parent)
        self.doctor_combo.setObjectName("exportDoctor")
        self.doctor_combo.addItem("Any doctor", None)
        self.department_combo = QComboBox(parent)
        self.department_combo.setObjectName("exportDepartment")
        self.department_combo.addItem("Any department", None)
        self.status_combo = QComboBox(parent)
        self.status_combo.setObjectName("exportStatus")
        # Item data is the status codes joined by commas ("" for any status).
        self.status_combo.addItem("Any status", "")
        for code, label in STATUS_LABELS.items():
            self.status_combo.addItem(label, code)
        wanted = ",".join(flt.statuses)
        if len(flt.statuses) > 1:  # keep a combination the caller's list was showing
            self.status_combo.addItem(
                ", ".join(STATUS_LABELS.get(s, s) for s in flt.statuses), wanted
            )
        if wanted:
            self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(wanted)))
        form.addRow("F&rom:", self.from_edit)
        form.addRow("&To:", self.to_edit)
        form.addRow("&Doctor:", self.doctor_combo)
        form.addRow("De&partment:", self.department_combo)
        form.addRow("St&atus:", self.status_combo)

    @property
    def widgets(self) -> list[QWidget]:
        return [
            self.from_edit,
            self.to_edit,
            self.doctor_combo,
            self.department_combo,
            self.status_combo,
        ]

    def _date_edit(self, parent: QWidget, day: date) -> QDateEdit:
        return date_edit(parent, day)

    def load_choices(self) -> None:
        """Fetch the doctors and departments off the UI thread, then fill the lists."""
        clinic = self._clinic

        def load(_ctx: OpContext) -> tuple[list[Any], list[Any]]:
            return doctors.list_doctors(clinic), departments.list_departments(clinic)

        self._ops.run(
            load,
            label="Loading doctors and departments",
            on_success=self._fill,
            on_failure=lambda err: self._on_error(user_message(err)),
        )

    def _fill(self, lists: tuple[list[Any], list[Any]]) -> None:
        doctor_rows, department_rows = lists
        for doc in doctor_rows:
            self.doctor_combo.addItem(f"{doc.full_name} ({doc.department})", doc.id)
        for dept in department_rows:
            self.department_combo.addItem(dept.name, dept.id)
        for combo, wanted in (
            (self.doctor_combo, self._flt.doctor_id),
            (self.department_combo, self._flt.department_id),
        ):
            if wanted is not None and combo.findData(wanted) >= 0:
                combo.setCurrentIndex(combo.findData(wanted))

    @property
    def date_from(self) -> date:
        return to_date(self.from_edit.date())

    @property
    def date_to(self) -> date:
        return to_date(self.to_edit.date())

    def value(self) -> AppointmentFilter:
        """What the fields say now (plain values, safe to hand to a worker thread)."""
        codes = str(self.status_combo.currentData() or "")
        return AppointmentFilter(
            date_from=self.date_from,
            date_to=self.date_to,
            doctor_id=self.doctor_combo.currentData(),
            department_id=self.department_combo.currentData(),
            statuses=tuple(code for code in codes.split(",") if code),
            patient_id=self._flt.patient_id,
            text=self._flt.text,
        )
