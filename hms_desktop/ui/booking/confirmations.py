"""What a booking, move, cancel, "Mark completed" or no-show did, in words, with its Undo.

One place writes these sentences and wires their Undo to ``services.scheduling.undo``
(the Desk's check-in, call-in, walk-in and booking from the waitlist: to
``patient_flow``, ``undo`` and ``waitlist``), for the Patient tab, the Doctor tab,
Admin > Appointments and the Desk alike. The sentence names the patient, the doctor,
the day and the time, and stays on screen (in a :class:`ConfirmationBar`) until the
next action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import patient_flow, undo, waitlist
from hms_desktop.services.views import AppointmentRow
from hms_desktop.ui.common.confirmation_bar import ConfirmationBar
from hms_desktop.ui.common.dates import day_text, time_text, when_text
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations


class VisitConfirmations:
    """Says what was done on ``bar``; Undo runs off the UI thread.

    ``said`` gets every sentence too (for the status bar); ``changed`` runs after an
    undo went through, so the owner reloads what it shows.
    """

    def __init__(
        self,
        bar: ConfirmationBar,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        *,
        said: Callable[[str], None],
        changed: Callable[[], None],
    ) -> None:
        self.bar, self._clinic, self._actor, self._ops = bar, clinic, actor, ops
        self._said, self._changed = said, changed

    def _when(self, day: date, at: time) -> str:
        return when_text(day, at, self._clinic.today())

    def clear(self) -> None:
        """The next action starts: the last one's Undo is over."""
        self.bar.clear()

    def booked(self, appointment_id: int, patient: str, doctor: str, day: date, at: time) -> None:
        """A booking was made; Undo takes it back (see :func:`undo.undo_booking`)."""
        when = self._when(day, at)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"Booked {patient} with {doctor}, {when}.",
            lambda: undo.undo_booking(clinic, actor, appointment_id),
            f"Undone: the booking of {patient} with {doctor}, {when}, is taken back.",
        )

    def series_booked(
        self, ids: tuple[int, ...], days: list[date], patient: str, doctor: str, at: time
    ) -> None:
        """A visit's repeats were booked; Undo cancels all of them or, when one of them
        changed meanwhile, none (see :func:`undo.undo_repeat`)."""
        today = self._clinic.today()
        listed = ", ".join(day_text(d, today) for d in days)
        visits = "visit" if len(ids) == 1 else "visits"
        clinic, actor = self._clinic, self._actor
        self._say(
            f"Booked {len(ids)} more {visits} for {patient} with {doctor} at {time_text(at)}: "
            f"{listed}.",
            lambda: undo.undo_repeat(clinic, actor, ids),
            f"Undone: the {len(ids)} repeat {visits} of {patient} with {doctor} are cancelled.",
        )

    def moved(self, row: AppointmentRow, patient: str, doctor: str, day: date, at: time) -> None:
        """``row`` (as it was) moved to ``day`` ``at`` with ``doctor``; Undo moves it back."""
        before, after = self._when(row.date, row.time), self._when(day, at)
        clinic, actor = self._clinic, self._actor
        with_whom = "" if doctor == row.doctor else f" with {doctor}"
        self._say(
            f"Moved {patient}'s visit with {row.doctor} from {before} to {after}{with_whom}.",
            lambda: undo.undo_reschedule(
                clinic, actor, row.id, day=row.date, at=row.time, doctor_id=row.doctor_id
            ),
            f"Undone: {patient}'s visit is back on {before} with {row.doctor}.",
        )

    def cancelled(self, row: AppointmentRow, patient: str = "") -> None:
        """``row`` was cancelled; Undo books the same visit again if its time is free."""
        who = patient or row.patient
        when = self._when(row.date, row.time)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"Cancelled {who}'s visit with {row.doctor}, {when}.",
            lambda: undo.undo_cancel(clinic, actor, row.id),
            f"Undone: {who} is booked again with {row.doctor}, {when}.",
        )

    def completed(self, row: AppointmentRow) -> None:
        """``row`` was marked completed; Undo reopens it (until a treatment is recorded)."""
        when = self._when(row.date, row.time)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"{row.patient}'s visit, {when}, is completed. Ctrl+T records the treatment.",
            lambda: undo.undo_complete(clinic, actor, row.id),
            f"Undone: {row.patient}'s visit, {when}, is booked again.",
        )

    def no_show(self, row: AppointmentRow) -> None:
        """``row`` was marked a no-show; Undo reopens it (the patient came after all)."""
        when = self._when(row.date, row.time)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"{row.patient}'s visit, {when}, is marked a no-show.",
            lambda: undo.undo_no_show(clinic, actor, row.id),
            f"Undone: {row.patient}'s visit, {when}, is booked again.",
        )

    def checked_in(self, appointment_id: int, patient: str, doctor: str, at: time) -> None:
        """The patient checked in at the desk; Undo makes them expected again (refused
        once the doctor called them in)."""
        clinic, actor = self._clinic, self._actor
        self._say(
            f"{patient} checked in for {time_text(at)} with {doctor}.",
            lambda: patient_flow.undo_step(clinic, actor, appointment_id, step="check_in"),
            f"Undone: {patient} is expected again for {time_text(at)} with {doctor}.",
        )

    def called_in(self, appointment_id: int, patient: str, doctor: str) -> None:
        """The doctor called the patient in; Undo puts them back in the waiting room."""
        clinic, actor = self._clinic, self._actor
        self._say(
            f"{patient} is with {doctor}.",
            lambda: patient_flow.undo_step(clinic, actor, appointment_id, step="call_in"),
            f"Undone: {patient} is waiting for {doctor} again.",
        )

    def move_words(self, moves: waitlist.LaterVisit, doctor: str, day: date, at: time) -> str:
        """ "visit with Dr. Müller from 10:30 to 09:30, Tue, 8 Dec": the later visit
        ``moves`` taken to ``day`` ``at`` with ``doctor`` (days said when they differ)."""
        if moves.day == day:
            span = f"from {time_text(moves.start)} to {time_text(at)}"
            on = f", {day_text(day, self._clinic.today())}"
        else:
            span, on = f"from {self._when(moves.day, moves.start)} to {self._when(day, at)}", ""
        with_whom = "" if doctor == moves.doctor else f" with {doctor}"
        return f"visit with {moves.doctor} {span}{with_whom}{on}"

    def moved_from_waitlist(
        self, entry_id: int, patient: str, moves: waitlist.LaterVisit, doctor: str, day: date,
        at: time,
    ) -> None:  # fmt: skip
        """A waitlist request took an earlier time by moving the patient's later visit;
        Undo moves it back and puts the request back as it was, in one step."""
        clinic, actor = self._clinic, self._actor
        back = self._when(moves.day, moves.start)
        self._say(
            f"Moved {patient}'s {self.move_words(moves, doctor, day, at)} (from the waitlist).",
            lambda: waitlist.undo_book_from_waitlist(clinic, actor, entry_id),
            f"Undone: {patient}'s visit is back on {back} with {moves.doctor} and "
            f"{patient} is back on the waitlist.",
        )

    def booked_from_waitlist(
        self, entry_id: int, patient: str, doctor: str, day: date, at: time
    ) -> None:
        """A waitlist request was booked; Undo cancels the visit and puts the request
        back as it was, in one step (see :func:`waitlist.undo_book_from_waitlist`)."""
        when = self._when(day, at)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"Booked {patient} from the waitlist with {doctor}, {when}.",
            lambda: waitlist.undo_book_from_waitlist(clinic, actor, entry_id),
            f"Undone: {patient}'s visit with {doctor}, {when}, is cancelled and "
            f"{patient} is back on the waitlist.",
        )

    def walked_in(self, made: patient_flow.WalkIn, patient: str, doctor: str) -> None:
        """A walk-in was registered; Undo takes it back entirely (refused once the doctor
        called the patient in, see :func:`undo.undo_walk_in`)."""
        extra = " as an extra (overbooked) visit" if made.overbooked else ""
        at = time_text(made.start)
        clinic, actor = self._clinic, self._actor
        self._say(
            f"{patient} is waiting for {doctor}: {at}{extra}.",
            lambda: undo.undo_walk_in(clinic, actor, made.appointment_id),
            f"Undone: the walk-in of {patient} with {doctor} at {at} is taken back.",
        )

    def done(self, text: str) -> None:
        """A change without Undo."""
        self.bar.show_done(text)
        self._said(text)

    def _say(self, text: str, work: Callable[[], object], undone: str) -> None:
        def run_undo() -> None:
            self._ops.run(
                lambda _ctx: work(),
                label="Undo",
                on_success=lambda _r: self._undone(undone),
                on_failure=self._undo_failed,
            )

        self.bar.show_done(text, run_undo)
        self._said(text)

    def _undone(self, text: str) -> None:
        self.done(text)
        self._changed()

    def _undo_failed(self, err: BaseException) -> None:
        self.bar.show_done(f"Could not undo: {field_message(err)[1]}")
        self._changed()
