"""CSV for every Excel locale, a target open elsewhere, the audit after the file, all visits."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hms_desktop.db.models import Appointment, Doctor, Patient, Treatment
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import csv_locale, exports
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.exports.conftest import leftovers
from tests.exports.helpers import (
    HISTORY_HEADER,
    STATUS,
    VISIT,
    HistoryWorld,
    csv_cell,
    expected_history,
)


def _read(path: Path, delimiter: str) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_delimited_csv_reads_back_to_the_database_rows(
    clinic: Clinic, history: HistoryWorld, out_dir: Path, delimiter: str
) -> None:
    target = out_dir / "jose.csv"
    result = exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        target,
        "csv",
        delimiter=delimiter,
        patient_request="The patient asked for a copy at the desk.",
    )
    rows = _read(target, delimiter)
    expected = expected_history(clinic, history.jose)
    assert rows[0] == HISTORY_HEADER
    assert rows[1:] == [[csv_cell(v) for v in row] for row in expected]
    assert result.rows == 3
    # Read with the wrong delimiter the file is one column: the delimiter really is used.
    assert len(_read(target, ",")[0]) == 1
    entry = audit.list_entries(clinic, SYSTEM, action_prefix="history.export")[0]
    assert json.loads(entry.details)["delimiter"] == delimiter


def test_a_delimiter_csv_cannot_use_is_refused(clinic: Clinic, out_dir: Path) -> None:
    patient = f.patient(clinic)
    with pytest.raises(ValidationError, match="delimiter comma"):
        exports.export_history(clinic, SYSTEM, patient, out_dir / "x.csv", delimiter="|")
    assert leftovers(out_dir) == []


def test_the_default_delimiter_follows_the_decimal_separator_unless_remembered() -> None:
    assert csv_locale.default_delimiter(decimal_point=",") == ";"  # de_DE, fr_FR
    assert csv_locale.default_delimiter(decimal_point=".") == ","  # en_US
    assert csv_locale.default_delimiter("tab", decimal_point=",") == "\t"
    assert csv_locale.default_delimiter("nonsense", decimal_point=",") == ";"
    assert csv_locale.parse_delimiter("semicolon") == ";"
    with pytest.raises(ValidationError):
        csv_locale.parse_delimiter("pipe")
    # The process's own number format is left as it was (Python and Qt parse with "C").
    import locale

    before = locale.setlocale(locale.LC_NUMERIC)
    csv_locale.system_decimal_point()
    assert locale.setlocale(locale.LC_NUMERIC) == before


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Files made immutable (``chattr +i``): the OS refuses to replace them, as Windows
    refuses while Excel holds the file open. Made mutable again at the end."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_locked_target_keeps_the_export_under_a_new_name(
    clinic: Clinic, history: HistoryWorld, out_dir: Path, immutable: list[Path]
) -> None:
    target = out_dir / "jose.csv"
    target.write_text("last week's export, open in Excel\n", encoding="utf-8")
    subprocess.run(["chattr", "+i", str(target)], check=True)
    immutable.append(target)

    result = exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        target,
        delimiter=";",
        patient_request="The patient asked for a copy at the desk.",
    )

    kept = out_dir / "jose (2).csv"
    assert result.path == kept and result.instead_of == target
    assert "open in another program" in result.message and str(kept) in result.message
    assert target.read_text(encoding="utf-8") == "last week's export, open in Excel\n"
    assert len(_read(kept, ";")) == 4
    assert leftovers(out_dir) == ["jose (2).csv", "jose.csv"]
    details = json.loads(
        audit.list_entries(clinic, SYSTEM, action_prefix="history.export")[0].details
    )
    assert details["outcome"] == "completed"
    assert details["file"] == str(kept) and details["instead_of"] == str(target)


def test_a_target_another_program_has_open_is_not_replaced(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
) -> None:
    target = out_dir / "jose.csv"
    target.write_text("old\n", encoding="utf-8")
    (out_dir / ".~lock.jose.csv#").write_text("LibreOffice lock", encoding="utf-8")
    (out_dir / "jose (2).csv").write_text("older\n", encoding="utf-8")  # taken as well

    result = exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        target,
        patient_request="The patient asked for a copy at the desk.",
    )

    assert result.path == out_dir / "jose (3).csv" and result.instead_of == target
    assert target.read_text(encoding="utf-8") == "old\n"
    assert (out_dir / "jose (2).csv").read_text(encoding="utf-8") == "older\n"


def test_the_audit_row_is_written_once_the_file_is_in_place(
    clinic: Clinic, history: HistoryWorld, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []
    record_now = audit.record_now

    def spy(*args: Any, **details: Any) -> None:
        seen.append((details["outcome"], Path(details["file"]).exists()))
        record_now(*args, **details)

    monkeypatch.setattr(audit, "record_now", spy)
    exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        out_dir / "jose.xlsx",
        patient_request="The patient asked for a copy at the desk.",
    )
    assert seen == [("completed", True)]


def test_all_visits_adds_status_and_the_visits_without_treatment(
    clinic: Clinic, history: HistoryWorld, out_dir: Path
) -> None:
    w = history.world
    later = clinic.today() + timedelta(days=2)
    f.open_day(clinic, w.doctor_id, later)
    upcoming = booking.book(
        clinic, f.RECEPTION, patient_id=history.jose, doctor_id=w.doctor_id,
        day=later, at="11:30",
    )  # fmt: skip
    cancelled = booking.book(
        clinic, f.RECEPTION, patient_id=history.jose, doctor_id=w.doctor_id,
        day=later, at="11:00",
    )  # fmt: skip
    booking.cancel(clinic, f.RECEPTION, cancelled)

    default = exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        out_dir / "d.csv",
        patient_request="The patient asked for a copy at the desk.",
    )
    full = exports.export_history(
        clinic,
        f.RECEPTION,
        history.jose,
        out_dir / "a.csv",
        all_visits=True,
        patient_request="The patient asked for a copy at the desk.",
    )

    assert _read(out_dir / "d.csv", ",")[0] == HISTORY_HEADER  # today's eleven columns
    rows = _read(out_dir / "a.csv", ",")
    assert rows[0] == [*HISTORY_HEADER, "Status"]
    stmt = (
        select(
            Patient.id, Patient.full_name, Doctor.full_name, Appointment.day,
            Appointment.start_time, Appointment.visit_type, Treatment.symptoms, Treatment.diagnosis,
            Treatment.treatment_given, Treatment.prescription, Treatment.notes,
            Appointment.status,
        )
        .select_from(Appointment)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .where(Appointment.patient_id == history.jose)
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )  # fmt: skip
    with clinic.db.read() as session:
        expected = [
            [*r[:5], VISIT[r[5]], *("" if v is None else v for v in r[6:11]), STATUS[r[11]]]
            for r in session.execute(stmt)
        ]
    assert rows[1:] == [[csv_cell(v) for v in row] for row in expected]
    assert default.rows == 3 and full.rows == len(expected) >= 5
    statuses = [r[-1] for r in rows[1:]]
    assert statuses[-3:] == ["Booked", "Cancelled", "Booked"]  # 11:00 cancelled, 11:30
    assert upcoming != cancelled
