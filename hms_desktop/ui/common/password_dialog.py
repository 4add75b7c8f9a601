"""A small dialog that asks for a password (twice) and hands it to a service call.

Used for a user's own password change (File menu, and after a reset at sign-in) and
for an administrator's reset. The service does the checking; its message shows in the
dialog, which stays open with the input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.ui.common.operations import Operations, user_message


class PasswordDialog(QDialog):
    """Current password (optional), new password and its repetition.

    ``save(current, new)`` runs on a worker thread; :attr:`saved` is emitted after it
    succeeds and the dialog closes.
    """

    saved = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        ops: Operations,
        title: str,
        intro: str,
        save: Callable[[str, str], Any],
        *,
        ask_current: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("passwordDialog")
        self.setWindowTitle(title)
        self._ops, self._save = ops, save
        self.current = QLineEdit(self)
        self.new = QLineEdit(self)
        self.repeat = QLineEdit(self)
        for field in (self.current, self.new, self.repeat):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        if ask_current:
            form.addRow("&Current password:", self.current)
        else:
            self.current.hide()
        form.addRow("&New password:", self.new)
        form.addRow("&Repeat:", self.repeat)
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.on_ok)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        about = QLabel(intro, self)
        about.setWordWrap(True)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def on_ok(self) -> None:
        current, new = self.current.text(), self.new.text()
        if new != self.repeat.text():
            self.show_error("The new passwords do not match.")
            self.repeat.setFocus()
            return
        self.buttons.setEnabled(False)
        save = self._save
        self._ops.run(
            lambda _ctx: save(current, new),
            label=self.windowTitle(),
            on_success=self._on_saved,
            on_failure=self._on_failed,
        )

    def _on_saved(self, _result: object) -> None:
        self.buttons.setEnabled(True)
        self.saved.emit()
        self.accept()

    def _on_failed(self, err: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.show_error(user_message(err))
