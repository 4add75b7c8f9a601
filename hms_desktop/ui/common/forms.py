"""Form building blocks: a dialog checked as you type by the services' own checks, error labels under fields, a search box that waits for a pause."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QObject,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.ui.common.operations import Operations, user_message
from hms_desktop.ui.common.screen_fit import grow_to_fit

#: Called with no arguments; raises HmsError (with ``.field``) when the input is wrong.
Check = Callable[[], Any]


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
        if message:
            grow_to_fit(self)  # a message of three lines gets three

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
            grow_to_fit(self)

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


def is_typing(event: QKeyEvent) -> bool:
    """A printable character or Backspace, without Ctrl/Alt/Meta (shortcuts stay shortcuts)."""
    if event.modifiers() & (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.MetaModifier
    ):
        return False
    if event.key() == Qt.Key.Key_Backspace:
        return True
    text = event.text()
    return bool(text) and text.isprintable()


class TypingGoesToSearch(QObject):
    """Letters and Backspace typed in a result list go on into its search field.

    No type-ahead in the list: Qt's would silently move the highlight to whichever row
    starts with the letters, and Enter would then act for that row. ``typed`` follows
    each forwarded key. ``kept`` are keys the list keeps for itself (Space, where it
    ticks a row of a checkable list).
    """

    typed = Signal()

    def __init__(self, view: QWidget, search: QLineEdit, *, kept: Collection[Qt.Key] = ()) -> None:
        super().__init__(view)
        self._search = search
        self._kept = frozenset(kept)
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() != QEvent.Type.KeyPress
            or not isinstance(event, QKeyEvent)
            or not is_typing(event)
            or event.key() in self._kept
        ):
            return super().eventFilter(watched, event)
        search = self._search
        search.setFocus(Qt.FocusReason.OtherFocusReason)
        search.deselect()
        search.end(False)
        if event.key() == Qt.Key.Key_Backspace:
            search.backspace()
        else:
            search.insert(event.text())
        self.typed.emit()
        return True


ERROR_COLOR = QColor("#b3261e")


class ErrorLabel(QLabel):
    """Red text under a form field; hidden while there is nothing to say."""

    def __init__(
        self, parent: QWidget | None = None, *, banner: bool = False, reserve: bool = False
    ) -> None:
        """With ``reserve`` the label keeps its line while hidden, so nothing around it moves
        (under the mouse) when a message appears."""
        super().__init__(parent)
        # Object names the application style sheet knows (resources/styles/app.qss):
        # a boxed message over a whole form, or small red text under one field.
        self.setObjectName("formError" if banner else "fieldError")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText, ERROR_COLOR)
        self.setPalette(palette)
        if reserve:
            policy = self.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            self.setSizePolicy(policy)
            self.setMinimumHeight(self.fontMetrics().lineSpacing())
        self.hide()

    def show_message(self, message: str) -> None:
        """Show ``message`` (an empty one hides the label)."""
        self.setText(message)
        self.setVisible(bool(message))

    def clear_message(self) -> None:
        """Hide the label."""
        self.show_message("")


def with_error(field: QWidget, error: ErrorLabel, *, grow: bool = False) -> QWidget:
    """A field with its error label right under it, as one form cell.

    Keeping both in one cell means a hidden error takes no space in the form.
    Only a ``grow`` cell (a list) takes extra height when the form has some.
    """
    cell = QWidget(field.parentWidget())
    if not grow:
        cell.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    box = QVBoxLayout(cell)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(2)
    box.addWidget(field)
    box.addWidget(error)
    return cell
