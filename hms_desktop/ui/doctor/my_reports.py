"""The Doctor tab's "My reports": the doctor's monthly reports, opened in the viewer.

Staff who open it see every doctor's reports, with a Doctor column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records import reports
from hms_desktop.services.records.reports import ReportRow
from hms_desktop.ui.common.dates import moment_text
from hms_desktop.ui.common.layout import heading, make_table
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.table_models import Column, RowTableModel
from hms_desktop.ui.doctor.report_viewer import ReportViewer, report_pdf_name

EMPTY_TEXT = (
    "No monthly reports yet. Each doctor's report for a month is made on the 1st of the next month."
)


def _columns(with_doctor: bool, tz: tzinfo) -> list[Column[ReportRow]]:
    cols: list[Column[ReportRow]] = [
        Column("Month", lambda r: r.month, text=lambda r: r.month_label),
    ]
    if with_doctor:
        cols.append(Column("Doctor", lambda r: r.doctor))
    cols += [
        Column("Appointments", lambda r: r.total, align_right=True),
        Column("Completed", lambda r: r.completed, align_right=True),
        Column("Cancelled", lambda r: r.cancelled, align_right=True),
        Column("No-shows", lambda r: r.no_shows, align_right=True),
        Column("Treatments", lambda r: r.treatments, align_right=True),
        Column("Patients seen", lambda r: r.unique_patients, align_right=True),
        Column(
            "Generated",
            lambda r: r.generated_at,
            text=lambda r: moment_text(r.generated_at.astimezone(tz)),
        ),
    ]
    return cols


class MyReportsWidget(QWidget):
    """A list of monthly reports; Enter, double-click or Open shows one in the viewer."""

    #: A viewer was opened (tests and the window may keep hold of it).
    viewer_opened = Signal(object)
    loaded = Signal(int)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.ops = clinic, actor, ops
        self.viewer: ReportViewer | None = None
        self.model: RowTableModel[ReportRow] = RowTableModel(
            _columns(actor.is_staff, clinic.settings.tz), self
        )
        self.table = make_table(self)
        self.table.setObjectName("myReportsTable")
        self.table.setModel(self.model)
        # Enter and a double-click both arrive as "activated" (a double-click connected too
        # would open the report twice).
        self.table.activated.connect(lambda _index: self.open_selected())
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setWordWrap(True)
        self.empty.setObjectName("emptyHint")
        self.open_button = QPushButton("&Open report", self)
        self.open_button.clicked.connect(self.open_selected)
        self.refresh_button = QPushButton("&Refresh", self)
        self.refresh_button.setToolTip("Load the list again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        # F5 is the main window's Refresh, which reaches this list through the Doctor tab.

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("My monthly reports" if not actor.is_staff else "Monthly reports"))
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        def load(_ctx: Any) -> list[ReportRow]:
            return reports.list_reports(self.clinic, self.actor)

        self.ops.run(
            load,
            label="Load monthly reports",
            on_success=self._show,
            on_failure=self._failure("Monthly reports"),
        )

    def _failure(self, title: str) -> Callable[[BaseException], None]:
        def show(err: BaseException) -> None:
            show_error(self, title, err)

        return show

    def _show(self, rows: list[ReportRow]) -> None:
        self.model.set_rows(rows)
        self.empty.setVisible(not rows)
        self.open_button.setEnabled(bool(rows))
        self.table.resizeColumnsToContents()
        if rows and not self.table.currentIndex().isValid():
            self.table.selectRow(0)
        self.loaded.emit(len(rows))

    def selected(self) -> ReportRow | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def open_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self.open_report(row.id)

    def open_report(self, report_id: int) -> None:
        """Fetch a report off the UI thread and show it in a :class:`ReportViewer`."""

        def fetch(_ctx: Any) -> tuple[ReportRow, str]:
            return reports.get_report_html(self.clinic, self.actor, report_id)

        self.ops.run(
            fetch,
            label="Open monthly report",
            on_success=self._open_viewer,
            on_failure=self._failure("Monthly report"),
        )

    def _open_viewer(self, found: tuple[ReportRow, str]) -> None:
        row, html = found
        if self.viewer is not None:
            self.viewer.close()
        self.viewer = ReportViewer(
            html,
            f"Monthly report {row.month} {row.doctor}",
            self,
            pdf_path=report_pdf_name(self.clinic.pc.effective_export_dir, row.month, row.doctor),
        )
        self.viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer = self.viewer
        # Only this viewer's end forgets it: an older one closing later must not.
        viewer.destroyed.connect(lambda _obj=None, v=viewer: self._forget_viewer(v))
        self.viewer.show()
        self.viewer_opened.emit(self.viewer)

    def _forget_viewer(self, viewer: ReportViewer) -> None:
        if self.viewer is viewer:
            self.viewer = None
