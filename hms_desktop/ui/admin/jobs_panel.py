"""The Admin tab's Jobs panel: schedules, recent runs, the outbox, Run now and Retry.

Messages that need someone (failed, or an address to fix) are listed first by
default with the reason and the patient; "Open patient's record" asks the Admin
tab to open that record so the address can be fixed, then Retry sends.

Everything that touches the database or the mail server goes through
``Operations.run``; the panel only shows the :class:`JobsSnapshot` it gets back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.jobs import desk
from hms_desktop.jobs.desk import JobsSnapshot
from hms_desktop.jobs.runner import JobEvent, RunResult
from hms_desktop.jobs.scheduler import OUTBOX_JOB, ClinicScheduler, JobInfo
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.messaging.calendar_invite import KIND_LABELS
from hms_desktop.services.messaging.outbox import DeliveryResult, OutboxRow
from hms_desktop.services.safety.job_ledger import JobRunRow
from hms_desktop.ui.common.dates import moment_text
from hms_desktop.ui.common.layout import heading, make_table, show_after
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import Operations, user_message
from hms_desktop.ui.common.table_models import Column, RowTableModel

#: The outbox filter: label -> statuses (empty: all).
OUTBOX_FILTERS: dict[str, tuple[str, ...]] = {
    "Needs attention (failed, address to fix)": ("failed", "undeliverable"),
    "Waiting to send": ("pending", "sending"),
    "Sent": ("sent",),
    "Expired": ("expired",),
    "All messages": (),
}
AUTO_REFRESH_MS = 30_000
_PROBLEM = QColor("#b42318")


class _StatusModel(RowTableModel[Any]):
    """Rows whose status is a problem are drawn in red."""

    def __init__(
        self, columns: Sequence[Column[Any]], is_problem: Callable[[Any], bool], parent: Any
    ) -> None:
        super().__init__(columns, parent)
        self._is_problem = is_problem

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self.row_at(index.row())
            return QBrush(_PROBLEM) if row is not None and self._is_problem(row) else None
        return super().data(index, role)


class JobsPanel(QWidget):
    """Jobs with their schedule and next run, recent runs, and the outbox."""

    #: A snapshot was shown (tests and the window wait on it).
    refreshed = Signal()
    #: An action finished; the text is what the panel shows under the tables.
    action_finished = Signal(str)
    #: "Open patient's record" on a message: the patient's id (the Admin tab opens it).
    open_patient_requested = Signal(int)

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        scheduler: ClinicScheduler | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.ops, self.scheduler = clinic, actor, ops, scheduler
        self._busy = False
        self.snapshot: JobsSnapshot | None = None

        self.jobs_model: RowTableModel[JobInfo] = _StatusModel(
            [
                Column("Job", lambda j: j.title),
                Column("Schedule", lambda j: j.schedule, tooltip=lambda j: j.schedule),
                Column("Next run", lambda j: j.next_run, text=lambda j: self._at(j.next_run)),
                Column("Last period", lambda j: j.last_run.period_key if j.last_run else ""),
                Column("Last status", lambda j: _last_status(j, self.clinic.settings.tz)),
            ],
            lambda j: j.last_run is not None and j.last_run.status == "failed",
            self,
        )
        self.runs_model: RowTableModel[JobRunRow] = _StatusModel(
            [
                Column("Job", lambda r: r.job_name),
                Column("Period", lambda r: r.period_key),
                Column("Status", lambda r: r.status),
                Column("Trigger", lambda r: r.trigger),
                Column("Started", lambda r: r.started_at, text=lambda r: self._at(r.started_at)),
                Column(
                    "Duration",
                    lambda r: r.duration_s if r.duration_s is not None else -1.0,
                    text=lambda r: "-" if r.duration_s is None else f"{r.duration_s:.1f} s",
                    align_right=True,
                ),
                Column("Counts", lambda r: r.counts_text, tooltip=lambda r: r.counts_text),
                Column("Host", lambda r: r.host),
                Column("Error", lambda r: r.error, tooltip=lambda r: r.error),
            ],
            lambda r: r.status == "failed",
            self,
        )
        self.outbox_model: RowTableModel[OutboxRow] = _StatusModel(
            [
                Column("Created", lambda m: m.created_at, text=lambda m: self._at(m.created_at)),
                Column("Kind", lambda m: KIND_LABELS.get(m.kind, m.kind)),
                Column("To", lambda m: m.recipient or "(no email)", tooltip=lambda m: m.recipient),
                Column(
                    "Patient",
                    lambda m: m.patient_name,
                    text=lambda m: f"{m.patient_name} (#{m.patient_id})" if m.patient_id else "",
                ),
                Column("Subject", lambda m: m.subject, tooltip=lambda m: m.body),
                Column("Status", lambda m: m.status_label),
                Column("Tries", lambda m: m.attempts, align_right=True),
                Column(
                    "Next try",
                    lambda m: m.next_attempt_at,
                    text=lambda m: self._at(m.next_attempt_at) if m.status == "pending" else "",
                ),
                Column("Problem", lambda m: m.last_error, tooltip=lambda m: m.last_error),
            ],
            lambda m: m.status in ("failed", "undeliverable"),
            self,
        )

        self.jobs_table = make_table(self)
        self.jobs_table.setObjectName("jobsTable")
        self.jobs_table.setModel(self.jobs_model)
        show_after(self.jobs_table, 1, 4)  # the long schedule last: Last status stays on screen
        self.runs_table = make_table(self)
        self.runs_table.setObjectName("runsTable")
        self.runs_table.setModel(self.runs_model)
        self.outbox_table = make_table(self)
        self.outbox_table.setObjectName("outboxTable")
        self.outbox_table.setModel(self.outbox_model)
        self.outbox_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

        self.run_button = QPushButton("&Run now", self)
        self.run_button.setToolTip("Run the selected job for its current period (once only)")
        self.run_button.clicked.connect(self.on_run_now)
        self.refresh_button = QPushButton("R&efresh", self)
        self.refresh_button.setToolTip("Load everything again (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.filter_box = QComboBox(self)
        self.filter_box.addItems(list(OUTBOX_FILTERS))
        self.filter_box.setToolTip("Which outbox messages to list")
        self.filter_box.currentIndexChanged.connect(lambda _i: self.refresh())
        filter_label = QLabel("&Show:", self)
        filter_label.setBuddy(self.filter_box)
        self.retry_button = QPushButton("Retr&y selected", self)
        self.retry_button.setToolTip("Send the selected failed or address-less messages again")
        self.retry_button.clicked.connect(self.on_retry_selected)
        self.retry_all_button = QPushButton("Retry &all failed", self)
        self.retry_all_button.clicked.connect(self.on_retry_all)
        self.open_patient_button = QPushButton("Open patient's re&cord…", self)
        self.open_patient_button.setToolTip(
            "Open the selected message's patient to fix the address, then press Retry"
        )
        self.open_patient_button.setEnabled(False)
        self.open_patient_button.clicked.connect(self.on_open_patient)
        # A method, not a lambda: Qt drops the connection when the panel goes away, so a
        # selection change while the table is being destroyed reaches no deleted button.
        self.outbox_table.selectionModel().selectionChanged.connect(self.on_outbox_selection)
        self.deliver_button = QPushButton("&Deliver now", self)
        self.deliver_button.setToolTip("Send the messages that are due now")
        self.deliver_button.clicked.connect(lambda: self.run_job("outbox"))
        self.outbox_summary = QLabel(self)
        self.outbox_summary.setObjectName("outboxSummary")
        self.outbox_summary.setWordWrap(True)  # "email not configured: …" in a narrow window
        self.message = QLabel(self)
        self.message.setObjectName("jobsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # F5 is the main window's Refresh, which reaches this panel through the Admin tab.

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(heading("Background jobs", top))
        top_layout.addWidget(self.jobs_table)
        job_buttons = QHBoxLayout()
        job_buttons.addWidget(self.run_button)
        job_buttons.addWidget(self.refresh_button)
        job_buttons.addStretch(1)
        top_layout.addLayout(job_buttons)

        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(heading("Recent runs", middle))
        middle_layout.addWidget(self.runs_table)

        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        outbox_head = QHBoxLayout()
        outbox_head.addWidget(heading("Outbox", bottom))
        outbox_head.addWidget(self.outbox_summary, 1)
        outbox_head.addWidget(filter_label)
        outbox_head.addWidget(self.filter_box)
        bottom_layout.addLayout(outbox_head)
        bottom_layout.addWidget(self.outbox_table)
        outbox_buttons = QHBoxLayout()
        outbox_buttons.addWidget(self.retry_button)
        outbox_buttons.addWidget(self.retry_all_button)
        outbox_buttons.addWidget(self.deliver_button)
        outbox_buttons.addWidget(self.open_patient_button)
        outbox_buttons.addStretch(1)
        bottom_layout.addLayout(outbox_buttons)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        for part in (top, middle, bottom):
            splitter.addWidget(part)
        # The three jobs always show whole; the outbox takes what is left.
        table = self.jobs_table
        rows = max(3, self.jobs_model.rowCount())
        table.setMinimumHeight(
            table.horizontalHeader().sizeHint().height()
            + rows * table.verticalHeader().defaultSectionSize()
            + table.horizontalScrollBar().sizeHint().height()  # shown in a narrow window
            + 2 * table.frameWidth()
            + 4
        )
        splitter.setSizes([240, 200, 320])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)

        self._timer = QTimer(self)
        self._timer.setInterval(AUTO_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    # --- helpers -----------------------------------------------------------------------------
    def _at(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment_text(moment.astimezone(self.clinic.settings.tz))

    def _failure(self, title: str) -> Callable[[BaseException], None]:
        def show(err: BaseException) -> None:
            self._set_busy(False)
            self.message.setText(f"{title}: {user_message(err)}")  # not "Running…" any more
            show_error(self, title, err)

        return show

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in (
            self.run_button,
            self.retry_button,
            self.retry_all_button,
            self.deliver_button,
        ):
            button.setEnabled(not busy)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.action_finished.emit(text)

    # --- loading -----------------------------------------------------------------------------
    def refresh(self) -> None:
        statuses = OUTBOX_FILTERS[self.filter_box.currentText()]

        def load(_ctx: Any) -> JobsSnapshot:
            return desk.snapshot(self.clinic, self.actor, self.scheduler, statuses=statuses)

        self.ops.run(
            load, label="Load jobs", on_success=self._show, on_failure=self._failure("Jobs")
        )

    def _show(self, snap: JobsSnapshot) -> None:
        self.snapshot = snap
        keep = self.jobs_table.currentIndex().row()
        self.jobs_model.set_rows(snap.jobs)
        self.runs_model.set_rows(snap.runs)
        self.outbox_model.set_rows(snap.messages)
        self.jobs_table.selectRow(keep if 0 <= keep < len(snap.jobs) else 0)
        for table in (self.jobs_table, self.runs_table, self.outbox_table):
            table.resizeColumnsToContents()
        parts = [
            f"{snap.counts[s]} {label}"
            for s, label in (
                ("failed", "failed"),
                ("undeliverable", "without address"),
                ("pending", "waiting"),
            )
            if snap.counts.get(s)
        ]
        smtp = "" if snap.smtp_configured else " · email not configured: messages wait"
        self.outbox_summary.setText((" · ".join(parts) or "nothing waiting or failed") + smtp)
        self.refreshed.emit()

    def on_job_event(self, event: JobEvent) -> None:
        """Connect to ``JobBridge.event_received``: a job did something, show it."""
        self.refresh()

    # --- actions -----------------------------------------------------------------------------
    def selected_job(self) -> JobInfo | None:
        index = self.jobs_table.currentIndex()
        return self.jobs_model.row_at(index.row()) if index.isValid() else None

    def on_run_now(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.run_job(job.name)

    def run_job(self, name: str) -> None:
        """Run ``name`` now off the UI thread; the result shows under the tables."""
        if self._busy:
            return
        self._set_busy(True)
        self.message.setText(f"Running {name}…")

        def work(_ctx: Any) -> RunResult | DeliveryResult:
            return desk.run_now(self.clinic, self.actor, name, self.scheduler)

        self.ops.run(
            work, label=f"Run {name}", on_success=self._ran, on_failure=self._failure("Run now")
        )

    def _ran(self, result: RunResult | DeliveryResult) -> None:
        self._set_busy(False)
        if isinstance(result, RunResult):
            self._say(result.message)
        else:
            self._say(result.skipped or _delivery_text(result))
        self.refresh()

    def selected_messages(self) -> list[OutboxRow]:
        rows = {i.row() for i in self.outbox_table.selectionModel().selectedRows()}
        return [m for r in sorted(rows) if (m := self.outbox_model.row_at(r)) is not None]

    def on_retry_selected(self) -> None:
        chosen = [m.id for m in self.selected_messages() if m.status in ("failed", "undeliverable")]
        if not chosen:
            self._say("Select failed or address-less messages to retry.")
            return
        self._retry(chosen)

    @Slot()
    def on_outbox_selection(self) -> None:
        self.open_patient_button.setEnabled(self._selected_patient() is not None)

    def _selected_patient(self) -> int | None:
        chosen = self.selected_messages()
        return chosen[0].patient_id if len(chosen) == 1 else None

    def on_open_patient(self) -> None:
        """Ask for the selected message's patient record (to fix the address)."""
        patient_id = self._selected_patient()
        if patient_id is not None:
            self.open_patient_requested.emit(patient_id)

    def on_retry_all(self) -> None:
        self._retry(None)

    def _retry(self, ids: list[int] | None) -> None:
        if self._busy:
            return
        self._set_busy(True)

        def work(_ctx: Any) -> tuple[int, DeliveryResult]:
            return desk.retry(self.clinic, self.actor, ids, self.scheduler)

        self.ops.run(
            work, label="Retry emails", on_success=self._retried, on_failure=self._failure("Retry")
        )

    def _retried(self, outcome: tuple[int, DeliveryResult]) -> None:
        queued, result = outcome
        self._set_busy(False)
        self._say(f"{queued} queued again. " + (result.skipped or _delivery_text(result)))
        self.refresh()

    # --- auto refresh while visible -------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)


def _last_status(job: JobInfo, tz: tzinfo) -> str:
    run = job.last_run
    if run is None:
        return "" if job.name == OUTBOX_JOB else "never run"
    if run.status == "failed":
        if run.gave_up:
            return f"failed after {run.attempts} attempts: use Run now"
        if run.retry_at is not None:
            at = run.retry_at.astimezone(tz)
            return f"failed, trying again at {at:%H:%M} (attempt {run.attempts + 1})"
    return run.status


def _delivery_text(result: DeliveryResult) -> str:
    return f"Email: {result.sent} sent, {result.retrying} to retry, {result.failed} failed."
