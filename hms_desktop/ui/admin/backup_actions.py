"""The Tools menu's "Back up now…" and "Restore from backup…", for an administrator.

Both ask for a file in a window-modal dialog opened without a nested event loop,
run the work through :class:`~hms_desktop.ui.common.operations.Operations` (never on the
UI thread), and report the outcome in a message box. Restoring asks first and
says where the replaced database will be kept.

Wiring (main window)::

    action = QAction("&Back up now…", window)
    action.triggered.connect(lambda: backup_now(window, clinic, actor, ops))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.safety.backup import backup_clinic, default_backup_name
from hms_desktop.services.safety.restore import RestoreResult, restore_clinic
from hms_desktop.ui.common.messages import confirm, show_error
from hms_desktop.ui.common.operations import Op, OpContext, Operations

SQLITE_FILTER = "Clinic backups (*.sqlite3 *.db);;All files (*)"


def _inform(parent: QWidget, title: str, text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("backupMessage")
    box.open()


def _ask_file(
    parent: QWidget, title: str, start: Path, *, save: bool, then: Callable[[Path], object]
) -> QFileDialog:
    dialog = QFileDialog(parent, title, str(start), SQLITE_FILTER)
    dialog.setAcceptMode(
        QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen
    )
    dialog.setFileMode(QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile)
    # Qt's own dialog: the same on every desktop, and usable from the keyboard.
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda name: then(Path(name)))
    dialog.open()
    return dialog


def backup_now(
    parent: QWidget,
    clinic: Clinic,
    actor: Actor,
    ops: Operations,
    target: Path | None = None,
) -> Op | QFileDialog:
    """Back up the clinic database while it stays in use.

    Without ``target`` a save dialog asks where (proposing a time-stamped name in
    the backup folder) and the backup starts once a file is chosen; the dialog is
    returned. With ``target`` the backup starts at once and its operation is returned.
    """
    if target is None:
        return _ask_file(
            parent,
            "Back up the clinic database",
            default_backup_name(clinic),
            save=True,
            then=lambda path: backup_now(parent, clinic, actor, ops, path),
        )

    def work(_ctx: OpContext) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return backup_clinic(clinic, actor, target)

    return ops.run(
        work,
        label="Back up the clinic database",
        on_success=lambda path: _inform(
            parent, "Backup made", f"The backup was written to\n{path}"
        ),
        on_failure=lambda err: show_error(parent, "Backup failed", err),
    )


def restore_from(
    parent: QWidget,
    clinic: Clinic,
    actor: Actor,
    ops: Operations,
    source: Path | None = None,
    *,
    on_restored: Callable[[RestoreResult], None] | None = None,
) -> Op | QFileDialog | QMessageBox:
    """Replace the clinic database with a backup, after asking.

    Without ``source`` an open dialog asks for the backup file first. The question
    box (returned when ``source`` is given) names the file and where the current
    database will be kept. Other programs using the database make the restore
    refuse with a message; nothing is changed then. ``on_restored`` runs after a
    successful restore (the window reloads its data).
    """
    if source is None:
        return _ask_file(
            parent,
            "Restore the clinic database from a backup",
            clinic.settings.effective_backup_dir,
            save=False,
            then=lambda path: restore_from(
                parent, clinic, actor, ops, path, on_restored=on_restored
            ),
        )
    chosen = source

    def start() -> None:
        ops.run(
            lambda _ctx: restore_clinic(clinic, actor, chosen),
            label="Restore the clinic database",
            on_success=done,
            on_failure=lambda err: show_error(parent, "Restore refused", err),
        )

    def done(result: RestoreResult) -> None:
        kept = f"\nThe replaced database is kept as\n{result.replaced}" if result.replaced else ""
        _inform(
            parent, "Database restored", f"The clinic database was restored from\n{chosen}{kept}"
        )
        if on_restored is not None:
            on_restored(result)

    return confirm(
        parent,
        "Restore from backup",
        f"Replace the clinic database with the backup\n{chosen}?\n\n"
        "Everything entered since that backup will no longer be shown. The current "
        "database is kept beside it as a .replaced file. Close HMS Desktop on every "
        "other computer first.",
        start,
        yes_text="Restore",
        no_text="Cancel",
    )
