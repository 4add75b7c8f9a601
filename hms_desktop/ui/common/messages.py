"""Messages to the person at the desk: an error, a question to confirm, and which field an error belongs to."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from PySide6.QtCore import (
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QDialog,
    QMessageBox,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.ui.common.operations import user_message

log = logging.getLogger(__name__)

#: An Alt+letter in a button's text ("&&" is a literal ampersand, removed first).
_MNEMONIC = re.compile(r"&([^&\s])")


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


def confirm(
    parent: QWidget,
    title: str,
    text: str,
    on_yes: Callable[[], None],
    *,
    yes_text: str = "Yes",
    no_text: str = "Keep it",
    yes_is_default: bool = False,
) -> QMessageBox:
    """Ask before something that cannot be undone; ``on_yes`` runs only on Yes.

    Enter answers No, unless ``yes_is_default`` (for what can be undone afterwards).
    Each button gets an Alt+letter of its own (:func:`with_mnemonics`), so the answer
    is one key, not arrows and Enter.

    The box is window-modal and opened without blocking (``open``), so the event
    loop and any running background work carry on while it is shown.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton)
    box.setParent(parent, box.windowFlags())
    yes_text, no_text = with_mnemonics([yes_text, no_text])
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.DestructiveRole)
    no = box.addButton(no_text, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(yes if yes_is_default else no)  # Enter must not destroy anything
    box.setEscapeButton(no)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished() -> None:
        if box.clickedButton() is yes:
            on_yes()

    box.finished.connect(finished)
    box.open()
    return box


def ask_to_discard(dialog: QDialog, title: str, text: str) -> QMessageBox:
    """Ask before ``dialog`` closes with typed input unsaved (:func:`confirm`, Enter keeps
    editing); Discard closes it, once the question itself has closed: closing the dialog
    from inside the question's own signal deleted the question twice (a crash)."""
    return confirm(
        dialog,
        title,
        text,
        lambda: QTimer.singleShot(0, dialog, lambda: QDialog.reject(dialog)),
        yes_text="Discard",
        no_text="Keep editing",
    )


def with_mnemonics(texts: list[str]) -> list[str]:
    """The button texts with an Alt+letter each, no two alike.

    A text that has one (``"&Book"``) keeps it; the others take the first letter of a
    word not yet taken, else any letter not yet taken, else none.
    """
    taken = {m.group(1).lower() for t in texts if (m := _MNEMONIC.search(t.replace("&&", "")))}
    out: list[str] = []
    for text in texts:
        if _MNEMONIC.search(text.replace("&&", "")):
            out.append(text)
            continue
        starts = [i for i, c in enumerate(text) if c.isalnum() and (i == 0 or text[i - 1] == " ")]
        others = [i for i, c in enumerate(text) if c.isalnum() and i not in starts]
        at = next((i for i in starts + others if text[i].lower() not in taken), None)
        if at is None:
            out.append(text)
            continue
        taken.add(text[at].lower())
        out.append(f"{text[:at]}&{text[at:]}")
    return out


def field_message(err: BaseException) -> tuple[str | None, str]:
    """The field an error is about (or None) and the message to show."""
    field = err.field if isinstance(err, HmsError) else None
    return field, user_message(err)
