"""The book's cell menu: book, open, move, cancel, no-show, repeat and print, one
letter each. The menu key and Shift+F10 open it on the cell under the cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu

from hms_desktop.services import policy

if TYPE_CHECKING:
    from hms_desktop.ui.booking.book.acts import BookActs


def context_menu(acts: BookActs, row: int, column: int) -> QMenu:
    """Book, open, move, cancel, no-show and print for the cell; a series' visit can
    be moved or cancelled with its later visits."""
    view = acts.view
    cell = view.model.cell(row, column)
    menu = QMenu(view)
    block = cell.block
    if acts.extra_actions:
        for action in acts.extra_actions:
            menu.addAction(action)
        menu.addSeparator()
    desk = view.own_doctor_id is None
    if desk:
        menu.addAction("&Book here…", lambda: acts.book_free(row, column)).setEnabled(
            cell.kind == "free"
        )
    if block is not None:
        menu.addAction("&Open", lambda: acts.open_visit(block, column))
    if block is not None and desk and block.series_id is None:
        menu.addAction("&Reschedule…", lambda: acts.start_moving(block))
        menu.addAction("&Cancel…", lambda: acts.cancel_visit(block))
        menu.addAction("&No-show", lambda: acts.mark_no_show(block))
        menu.addAction("Rep&eat…", lambda: acts.repeat(block, column))
    elif block is not None and desk:
        menu.addAction("&Move this visit…", lambda: acts.start_moving(block))
        menu.addAction(
            "Move this and all &later…", lambda: acts.start_moving(block, and_later=True)
        )
        menu.addAction("&Cancel this visit…", lambda: acts.cancel(block, and_later=False))
        menu.addAction("Cancel this and all la&ter…", lambda: acts.cancel_later(block))
        menu.addAction("&No-show", lambda: acts.mark_no_show(block))
    menu.addSeparator()
    doctor = view.model.column_doctor(column)
    if block is not None:
        # Offered only once the visit has begun (the rule is the policy's, as the service's).
        facts = policy.VisitFacts(
            doctor.doctor_id, block.patient_id, view.model.column_day(column), block.start,
            block.status,
        )  # fmt: skip
        for action in menu.actions():
            if action.text() == "&No-show":
                action.setEnabled(policy.may_mark_no_show(view.actor, facts, view.clinic.now()))
    if desk:
        menu.addAction(f"&Print {doctor.doctor}'s day…", lambda: acts.print_day([doctor.doctor_id]))
        menu.addAction("Print the &whole day…", lambda: acts.print_day(None))
    else:
        menu.addAction("&Print the day…", lambda: acts.print_day(None))
    return menu


def on_context_menu(acts: BookActs, pos: QPoint) -> None:
    table = acts.view.table
    index = table.indexAt(pos)
    if index.isValid():
        acts.view.next_action()
        table.setCurrentIndex(index)
        menu = context_menu(acts, index.row(), index.column())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(table.viewport().mapToGlobal(pos))
