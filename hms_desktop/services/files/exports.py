"""Exports: a patient's full medical history, and appointment lists, to CSV or Excel.

An export streams rows from the database (``yield_per``) into a temporary file
beside the target and renames it over the target only when it is complete, so a
cancel, an error or a crash never leaves a partial file (:mod:`atomic_file`).
Progress and cancel are plain callables, so the same function serves the window
(through its worker thread), the command line and the tests.

Every export is written to the audit log, including a refused, cancelled or failed
one: medical data was (or was about to be) read, and the log says who and how far.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Patient
from hms_desktop.errors import (
    DatabaseUnavailableError,
    HmsError,
    NotFoundError,
    OperationCancelledError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files.atomic_file import AtomicFile, regular_target
from hms_desktop.services.files.history_data import all_visits_statement
from hms_desktop.services.files.placement import place
from hms_desktop.services.files.table_files import (
    CSV_DELIMITERS,
    FORMATS,
    XLSX_MAX_CELL,
    XLSX_MAX_ROWS,
    CellTooLongError,
    Column,
    Format,
    TableWriter,
    open_table,
    too_long_for_excel,
)
from hms_desktop.services.policy import require_record_access
from hms_desktop.services.records import records
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling.booking import (
    STATUS_LABELS,
    VISIT_LABELS,
    AppointmentFilter,
    appointments_statement,
    scoped_filter,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
ShouldCancel = Callable[[], bool]
Rows = Generator[Sequence[Any], None, None]

HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("Patient ID", "number", 11),
    Column("Patient Name", "text", 24),
    Column("Doctor", "text", 24),
    Column("Appointment Date", "date", 17),
    #: The visit's start (text HH:MM in CSV, a time cell in Excel): several visits of
    #: one day read in order.
    Column("Time", "time", 8),
    Column("Visit Type", "text", 14),
    Column("Symptoms", "text", 30),
    Column("Diagnosis", "text", 30),
    Column("Treatment Given", "text", 30),
    Column("Prescription", "text", 30),
    Column("Notes", "text", 40),
)
#: With "all visits": the same columns and the visit's status (booked, cancelled...).
HISTORY_STATUS_COLUMN = Column("Status", "text", 11)

APPOINTMENT_COLUMNS: tuple[Column, ...] = (
    Column("Date", "date", 12),
    Column("Time", "time", 8),
    Column("Patient ID", "number", 11),
    Column("Patient", "text", 24),
    Column("Doctor", "text", 24),
    Column("Department", "text", 20),
    Column("Visit Type", "text", 14),
    Column("Status", "text", 11),
)

#: Rows fetched from the database per round trip.
FETCH_BATCH = 1000
#: Progress is reported at most this often (a signal per row would flood the window).
PROGRESS_INTERVAL_S = 0.1


class ExportError(HmsError):
    """The file could not be written (folder missing or read-only, disk full...)."""


@dataclass(frozen=True)
class ExportResult:
    """A completed export: the file written, its rows (without header), size and duration.

    ``instead_of`` is the target asked for when it was open or locked elsewhere and the
    export was kept under the new name ``path`` instead (tell the user).
    """

    path: Path
    rows: int
    bytes: int
    seconds: float
    instead_of: Path | None = None

    @property
    def message(self) -> str:
        """One line for the user: where the rows went, and why not where asked."""
        text = f"{self.rows} rows written to {self.path}"
        if self.instead_of is not None:
            text += (
                f" ({self.instead_of.name} is open in another program or locked, so the "
                "export was kept under this name)"
            )
        return text


def check_delimiter(delimiter: str) -> str:
    """``delimiter`` when it is one CSV may use (comma, semicolon, tab).

    Raises:
        ValidationError: anything else.
    """
    if delimiter not in CSV_DELIMITERS:
        raise ValidationError(
            "Choose the CSV delimiter comma (,), semicolon (;) or tab.", field="delimiter"
        )
    return delimiter


def check_target(target: Path | str, fmt: str | None = None) -> tuple[Path, Format]:
    """The absolute target path and its format (from ``fmt``, else the file suffix).

    Raises:
        ValidationError: unknown format, a folder or another non-regular file given as
            the file (a symlink is followed), or a folder that does not exist.
    """
    path = Path(target).expanduser()
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise ValidationError(
            "Choose the format csv or xlsx (or end the file name in .csv or .xlsx).",
            field="format",
        )
    if not path.name or path.is_dir():
        raise ValidationError(f"{path} is a folder; choose a file name.", field="path")
    # A device, a pipe or a socket is refused; a symlink is written through (its file is
    # replaced atomically, the link stays).
    path = regular_target(path)
    if not path.parent.is_dir():
        raise ValidationError(
            f"The folder {path.parent} does not exist. Choose an existing folder.", field="path"
        )
    return path, chosen


def default_file_name(kind: str, stem: str, fmt: str) -> str:
    """A file name like ``history-P123-2026-06-15.csv``."""
    return f"{kind}-{stem}.{fmt}"


def _os_error_message(err: OSError, target: Path) -> str:
    if isinstance(err, PermissionError):
        return f"You may not write to {target.parent} (permission denied). Choose another folder."
    reason = err.strerror or type(err).__name__
    return f"Could not write {target}: {reason}. Choose another folder or free some disk space."


def throttled(progress: Progress | None) -> Callable[[int, int, bool], None]:
    """A reporter that passes (done, total) on to ``progress`` at most every
    :data:`PROGRESS_INTERVAL_S`, and always when forced."""
    last = 0.0

    def report(done: int, total: int, force: bool = False) -> None:
        nonlocal last
        if progress is None:
            return
        now = time.monotonic()
        if force or now - last >= PROGRESS_INTERVAL_S:
            last = now
            progress(done, total)

    return report


def _run(
    clinic: Clinic,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    patient_id: int | None,
    target: Path | str,
    fmt: str | None,
    title: str,
    columns: Sequence[Column],
    open_rows: Callable[[], Rows],
    count_rows: Callable[[], int],
    progress: Progress | None,
    should_cancel: ShouldCancel | None,
    details: dict[str, Any],
    delimiter: str = ",",
) -> ExportResult:
    """Check, stream, write atomically, audit. The shared body of every export."""
    path, chosen = check_target(target, fmt)
    check_delimiter(delimiter)
    if chosen == "csv":
        details = {**details, "delimiter": delimiter}
    started = time.monotonic()
    written = 0
    report = throttled(progress)
    rows: Rows | None = None

    def log_outcome(outcome: str, **extra: Any) -> None:
        if clinic.db.read_only:
            # Nothing can be written to a read-only database, and whoever may read the
            # file can read every row without us: the application log keeps the event.
            log.warning(
                "export %s by %s from the read-only database: %s, %s rows to %s (%s)",
                action,
                actor.username,
                outcome,
                written,
                path,
                "not in the audit log",
            )
            return
        audit.record_now(
            clinic,
            actor,
            action,
            entity,
            entity_id,
            patient_id=patient_id,
            outcome=outcome,
            format=chosen,
            file=str(path),
            rows=written,
            **details,
            **extra,
        )

    try:
        rows = open_rows()
        # The first row runs the access check, before any file exists.
        first = next(rows, None)
        total = count_rows()
        if chosen == "xlsx" and total >= XLSX_MAX_ROWS:
            raise ValidationError(
                f"This export has {total:,} rows; Excel holds at most {XLSX_MAX_ROWS - 1:,}. "
                "Export to CSV instead, or narrow the date range.",
                field="format",
            )
        report(0, total, True)
        with AtomicFile(path) as out:
            table = open_table(chosen, out.file, columns, title, delimiter=delimiter)
            try:
                try:
                    if first is not None:
                        table.write(first)
                    write_rows(table, rows, total, report, should_cancel)
                except CellTooLongError as err:
                    raise _refuse_long_text(columns, err, table.rows + 1, rows) from None
                written = table.rows
                if should_cancel is not None and should_cancel():
                    raise OperationCancelledError()
                # The last report comes before the rename, so a failing callback still
                # leaves nothing behind (and a caller never sees an error after success).
                report(written, max(total, written), True)
                table.close()
            except BaseException:
                written = table.rows  # for the audit: how far it got
                table.abort()
                raise
            placed = place(out)
        path = placed.path  # the audit names the file that exists, not the one asked for
        # Audited once the file is in place, so "completed" is true when it is written.
        _audit_placed(log_outcome, placed.path, placed.instead_of)
    except BaseException as err:
        if rows is not None:
            rows.close()  # ends the generator's read session now, not at garbage collection
        audit_failure(log_outcome, err)
        if isinstance(err, OSError):
            raise ExportError(_os_error_message(err, path)) from err
        raise
    rows.close()
    return ExportResult(
        placed.path, written, placed.bytes, time.monotonic() - started, placed.instead_of
    )


def _audit_placed(log_outcome: Callable[..., None], placed: Path, instead_of: Path | None) -> None:
    """Record a completed export; an export the log cannot record is not kept."""
    extra = {"instead_of": str(instead_of)} if instead_of is not None else {}
    try:
        log_outcome("completed", **extra)
    except BaseException:
        placed.unlink(missing_ok=True)
        raise


def _refuse_long_text(
    columns: Sequence[Column], err: CellTooLongError, row: int, rest: Iterable[Sequence[Any]]
) -> ValidationError:
    """Name every row whose text an Excel cell cannot hold (the rest are read, not written),
    so the whole answer comes at once, and offer CSV."""
    found = [(row, err.header, err.length)]
    for number, values in enumerate(rest, row + 1):
        found += [
            (number, header, length) for header, length in too_long_for_excel(columns, values)
        ]
    shown = "; ".join(
        f"row {n}: {header}, {length:,} characters" for n, header, length in found[:5]
    )
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    rows = len({n for n, _h, _l in found})
    return ValidationError(
        f"{rows} row{'s' if rows > 1 else ''} hold text longer than the {XLSX_MAX_CELL:,} "
        f"characters an Excel cell can hold ({shown}{more}). Nothing was written, so nothing "
        "is cut: export to CSV instead, which keeps every text whole.",
        field="format",
    )


def write_rows(
    table: TableWriter,
    rows: Iterable[Sequence[Any]],
    total: int,
    report: Callable[[int, int, bool], None],
    should_cancel: ShouldCancel | None,
) -> None:
    """Write ``rows`` into ``table``, polling ``should_cancel`` before each row.

    The per-row loop of every export (and of the export benchmark, which measures
    exactly this); ``table.rows`` counts what was written, also after an error.

    Raises:
        OperationCancelledError: ``should_cancel`` returned True.
    """
    write = table.write
    for row in rows:
        if should_cancel is not None and should_cancel():
            raise OperationCancelledError()
        write(row)
        report(table.rows, total, False)


def audit_failure(log_outcome: Callable[..., None], err: BaseException) -> None:
    """Audit an export that did not finish (cancelled, refused, failed), never hiding
    ``err`` behind an audit error; the exports of tables and of whole records share it."""
    if isinstance(err, DatabaseUnavailableError):
        # The database is what failed (locked, gone): writing the audit row would wait
        # for the same lock again, and fail the same way. The log keeps the event.
        log.warning("export failed and could not be audited: %s", err)
        return
    if isinstance(err, OperationCancelledError):
        outcome, extra = "cancelled", {}
    elif isinstance(err, PermissionDeniedError):
        outcome, extra = "refused", {"error": str(err)}
    else:
        outcome, extra = "failed", {"error": f"{type(err).__name__}: {err}"[:300]}
    try:
        log_outcome(outcome, **extra)
    except Exception as audit_err:  # never hide the original error behind this one
        log.warning("could not audit the %s export: %s", outcome, audit_err)
        log.debug("audit failure", exc_info=True)


def stream(session: Session, stmt: Select[Any]) -> Generator[Row[Any], None, None]:
    """Rows in batches (``yield_per``: a server-side cursor on PostgreSQL, which needs the
    transaction of a ``db.read(streaming=True)`` session), closed when done.

    Executed on the session's connection (Core), not through the ORM: the statements
    select columns, not entities, and the ORM's per-row layer would only cost time.
    """
    result = session.connection().execute(stmt.execution_options(yield_per=FETCH_BATCH))
    try:
        yield from result
    finally:
        result.close()


def _count(clinic: Clinic, stmt: Select[Any]) -> int:
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    with clinic.db.read() as session:
        return int(session.scalar(counted) or 0)


def export_history(
    clinic: Clinic,
    actor: Actor,
    patient_id: int,
    target: Path | str,
    fmt: str | None = None,
    *,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    delimiter: str = ",",
    all_visits: bool = False,
    patient_request: str = "",
) -> ExportResult:
    """Write a patient's full history to ``target``: one row per treatment, oldest first.

    Each treatment's current version is written (amendments keep earlier ones apart).

    Columns: Patient ID, Patient Name, Doctor, Appointment Date, Time (the start), Visit
    Type, Symptoms, Diagnosis, Treatment Given, Prescription, Notes. ``target`` appears only when the
    export is complete; otherwise it is left as it was and no temporary file remains.
    When ``target`` is open or locked elsewhere the export is kept under a new name
    (``result.instead_of`` says so); the audit row is written once the file is in place.

    Args:
        fmt: "csv" or "xlsx"; None takes it from the file suffix.
        delimiter: the CSV delimiter: "," ";" or tab.
        all_visits: every visit (upcoming, cancelled, no-show too), with a Status column.
        progress: called with (rows written, total rows) now and then.
        should_cancel: polled for every row; True stops the export.
        patient_request: the front desk exports only at the patient's own request, and
            types it here (audited with the export).

    Raises:
        PermissionDeniedError: a patient exporting another's history, a doctor without
            care relationship, the front desk without the patient's request.
        NotFoundError: no such patient.
        ValidationError: bad format or target, or too many rows for Excel.
        ExportError: the file could not be written.
        OperationCancelledError: ``should_cancel`` returned True.
    """

    def rows() -> Rows:
        with clinic.db.read(streaming=True) as session:
            # The history's access check, in a session this module closes
            # itself: a cancelled export must not leave a server-side cursor open.
            if session.get(Patient, patient_id) is None:
                raise NotFoundError(f"There is no patient with id {patient_id}.")
            require_record_access(
                session, clinic, actor, patient_id, "export the history",
                patient_request=patient_request,
            )  # fmt: skip
            with contextlib.closing(stream(session, statement)) as rs:
                for r in rs:
                    row = (
                        r[0],
                        r[1],
                        r[3],
                        r[5],
                        r[6],
                        VISIT_LABELS.get(r[7], r[7]),
                        r[8],
                        r[9],
                        r[10],
                        r[11],
                        r[12],
                    )
                    yield (*row, STATUS_LABELS.get(r[13], r[13])) if all_visits else row

    statement = (
        all_visits_statement(patient_id) if all_visits else records.history_statement(patient_id)
    )
    return _run(
        clinic,
        actor,
        action="history.export",
        entity="patient",
        entity_id=patient_id,
        patient_id=patient_id,
        target=target,
        fmt=fmt,
        title=f"History P{patient_id}",
        columns=(*HISTORY_COLUMNS, HISTORY_STATUS_COLUMN) if all_visits else HISTORY_COLUMNS,
        open_rows=rows,
        count_rows=lambda: _count(clinic, statement),
        progress=progress,
        should_cancel=should_cancel,
        details={
            **({"all_visits": True} if all_visits else {}),
            **({"patient_request": patient_request} if patient_request else {}),
        },
        delimiter=delimiter,
    )


def export_appointments(
    clinic: Clinic,
    actor: Actor,
    flt: AppointmentFilter,
    target: Path | str,
    fmt: str | None = None,
    *,
    progress: Progress | None = None,
    should_cancel: ShouldCancel | None = None,
    delimiter: str = ",",
) -> ExportResult:
    """Write the appointments matching ``flt`` to ``target``, by date and time.

    Columns: Date, Time, Patient ID, Patient, Doctor, Department, Visit Type, Status.
    The same guarantees as :func:`export_history`.

    Raises:
        PermissionDeniedError: anyone but the front desk or an administrator.
        ValidationError: bad format or target, a date range that ends before it
            starts, or too many rows for Excel.
        ExportError: the file could not be written.
        OperationCancelledError: ``should_cancel`` returned True.
    """
    if flt.date_from and flt.date_to and flt.date_to < flt.date_from:
        raise ValidationError("The end date is before the start date.", field="date_to")
    flt = AppointmentFilter(**{**flt.__dict__, "newest_first": False})

    def rows() -> Rows:
        require_staff(actor, "export appointment lists")
        stmt = appointments_statement(scoped_filter(actor, flt))
        with (
            clinic.db.read(streaming=True) as session,
            contextlib.closing(stream(session, stmt)) as rs,
        ):
            for r in rs:
                yield (
                    r[1],
                    r[2],
                    r[6],
                    r[7],
                    r[4],
                    r[5],
                    VISIT_LABELS.get(r[8], r[8]),
                    STATUS_LABELS.get(r[9], r[9]),
                )

    return _run(
        clinic,
        actor,
        action="appointments.export",
        entity="appointment",
        entity_id=None,
        patient_id=flt.patient_id,
        target=target,
        fmt=fmt,
        title="Appointments",
        columns=APPOINTMENT_COLUMNS,
        open_rows=rows,
        count_rows=lambda: _count(clinic, appointments_statement(scoped_filter(actor, flt))),
        progress=progress,
        should_cancel=should_cancel,
        details={
            "date_from": flt.date_from,
            "date_to": flt.date_to,
            "doctor_id": flt.doctor_id,
            "department_id": flt.department_id,
            "statuses": list(flt.statuses),
        },
        delimiter=delimiter,
    )
