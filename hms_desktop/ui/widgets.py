"""Small building blocks shared by the desktop screens.

* :class:`ServiceForm` — a dialog whose fields are checked as you type by the
  same service functions that check them on save, with each error shown under
  its field and the user's input kept.
* :class:`ChangeRelay` — turns the clinic's thread-agnostic change events into a
  Qt signal on the UI thread, debounced, so tables refresh after a write.
* :class:`SearchBox` — a line edit that reports its text once typing pauses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.clinic import Clinic
from hms_desktop.ui.operations import Operations, user_message

log = logging.getLogger(__name__)

#: Called with no arguments; raises HmsError (with ``.field``) when the input is wrong.
Check = Callable[[], Any]


def show_error(parent: QWidget | None, title: str, err: BaseException) -> None:
    """A window-modal message for an error that belongs to no single field.

    Opened without a nested event loop (the caller returns at once), so it is safe
    from operation callbacks; it deletes itself when closed.
    """
    if not isinstance(err, HmsError):
        log.error("%s: %r", title, err)
    box = QMessageBox(QMessageBox.Icon.Warning, title, user_message(err), parent=parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("errorMessage")
    box.open()


def make_table(parent: QWidget | None = None, *, stretch_last: bool = True) -> QTableView:
    """A read-only, row-selecting table view with the application's look."""
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(28)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(stretch_last)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("pageTitle")
    return label


class ServiceForm(QDialog):
    """A form dialog: fields validated live by ``Check`` callables, saved off the UI thread.

    Subclasses add fields with :meth:`add_field` and implement :meth:`submit`,
    which returns the work function to run; its result is kept in :attr:`result_value`
    and :attr:`saved` is emitted before the dialog accepts. A failing save shows
    the error under its field (or at the top) and leaves every input as typed.
    """

    saved = Signal(object)

    def __init__(self, ops: Operations, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(460)
        self._ops = ops
        self._fields: dict[str, tuple[QWidget, QLabel]] = {}
        self._checks: list[tuple[str, Check]] = []
        self.result_value: Any = None
        self.saving = False

        self.banner = QLabel(self)
        self.banner.setObjectName("formError")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.setVerticalSpacing(4)
        self.form.setHorizontalSpacing(14)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.on_save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addWidget(self.banner)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    @property
    def save_button(self) -> Any:
        return self.buttons.button(QDialogButtonBox.StandardButton.Save)

    def add_section(self, title: str) -> None:
        """A heading row that groups the fields after it."""
        label = QLabel(title, self)
        label.setObjectName("formSection")
        self.form.addRow(label)

    def add_field(self, name: str, label: str, widget: QWidget, check: Check | None = None) -> None:
        """Add a labelled input with an error line under it; ``check`` runs as you type."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        error = QLabel(box)
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        column.addWidget(error)
        self.form.addRow(label, box)
        label_widget = self.form.labelForField(box)
        if isinstance(label_widget, QLabel):
            label_widget.setBuddy(widget)
        self._fields[name] = (widget, error)
        if check is not None:
            self._checks.append((name, check))
            self._watch(widget, name, check)

    def _watch(self, widget: QWidget, name: str, check: Check) -> None:
        def run() -> None:
            self._run_check(name, check)

        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(run)
        elif isinstance(widget, QPlainTextEdit):
            widget.textChanged.connect(run)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(run)
            if widget.isEditable():
                widget.editTextChanged.connect(run)
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(run)

    def _run_check(self, name: str, check: Check) -> bool:
        try:
            check()
        except HmsError as err:
            self.set_field_error(err.field if err.field in self._fields else name, err.message)
            return False
        self.set_field_error(name, "")
        return True

    def field_error(self, name: str) -> str:
        """The error shown under a field ("" when none)."""
        error = self._fields[name][1]
        return error.text() if not error.isHidden() else ""

    def set_field_error(self, name: str, message: str) -> None:
        widget, error = self._fields[name]
        error.setText(message)
        error.setVisible(bool(message))
        widget.setProperty("invalid", bool(message))
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def show_error(self, err: BaseException) -> None:
        """Show a save error next to its field, or in the banner; the input stays."""
        message = user_message(err)
        field = err.field if isinstance(err, HmsError) else None
        if field in self._fields:
            assert field is not None
            self.set_field_error(field, message)
            self._fields[field][0].setFocus()
            self.banner.hide()
        else:
            self.banner.setText(message)
            self.banner.show()

    def validate_all(self) -> bool:
        ok = True
        for name, check in self._checks:
            ok = self._run_check(name, check) and ok
        return ok

    def submit(self) -> Callable[[Any], Any]:
        """The work to do on save, as a function of the operation context."""
        raise NotImplementedError

    @Slot()
    def on_save(self) -> None:
        if self.saving:
            return
        self.banner.hide()
        if not self.validate_all():
            for widget, error in self._fields.values():
                if not error.isHidden():
                    widget.setFocus()
                    break
            return
        try:
            work = self.submit()
        except HmsError as err:
            self.show_error(err)
            return
        self.saving = True
        self.save_button.setEnabled(False)
        self._ops.run(
            work,
            label=self.windowTitle(),
            on_success=self._on_saved,
            on_failure=self._on_failed,
        )

    def _on_saved(self, value: object) -> None:
        self.saving = False
        self.save_button.setEnabled(True)
        self.result_value = value
        self.saved.emit(value)
        self.accept()

    def _on_failed(self, err: BaseException) -> None:
        self.saving = False
        self.save_button.setEnabled(True)
        self.show_error(err)


class ChangeRelay(QObject):
    """Clinic change events as a debounced Qt signal on the UI thread.

    Services announce writes from whichever thread made them; the relay collects
    the topics and emits :attr:`changed` once per burst, on the UI thread.
    """

    changed = Signal(object)  # frozenset of topics
    _arrived = Signal(str)

    def __init__(self, clinic: Clinic, parent: QObject | None = None, delay_ms: int = 150) -> None:
        super().__init__(parent)
        self._topics: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._flush)
        # Queued: the signal may be emitted on a worker thread.
        self._arrived.connect(self._collect, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = clinic.changes.subscribe(self._arrived.emit)

    @Slot(str)
    def _collect(self, topic: str) -> None:
        self._topics.add(topic)
        self._timer.start()

    @Slot()
    def _flush(self) -> None:
        topics, self._topics = frozenset(self._topics), set()
        if topics:
            self.changed.emit(topics)

    def close(self) -> None:
        self._unsubscribe()
        self._timer.stop()


class SearchBox(QLineEdit):
    """Emits :attr:`search` with the text once typing pauses (and at once on Enter)."""

    search = Signal(str)

    def __init__(
        self, placeholder: str, parent: QWidget | None = None, delay_ms: int = 200
    ) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._emit)
        self.textChanged.connect(lambda _text: self._timer.start())
        self.returnPressed.connect(self._emit)

    @Slot()
    def _emit(self) -> None:
        self._timer.stop()
        self.search.emit(self.text())
