"""``hms check``, ``hms backup`` and ``hms restore`` through the real command line entry point."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from hms_desktop.cli import main
from hms_desktop.db.engine import sqlite_path
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.scheduling import booking
from tests import factories as f


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_on_a_sound_database_on_both_backends(clinic, capsys) -> None:
    f.world(clinic)
    code, out, _ = _run(capsys, "--database", clinic.db.url, "check", "--json")
    report = json.loads(out)
    assert code == 0, out
    assert report["ok"] is True
    assert report["counts"]["doctors"] == 2 and report["counts"]["patients"] == 2
    assert report["schema"]["current"] == report["schema"]["head"]
    assert report["orphans"] == {}


def test_check_reports_orphans_and_double_bookings_with_a_failing_status(
    sqlite_clinic, clock, capsys
) -> None:
    w = f.world(sqlite_clinic)
    appt = booking.book(
        sqlite_clinic,
        f.RECEPTION,
        patient_id=w.patient_id,
        doctor_id=w.doctor_id,
        day=w.day,
        at="09:00",
    )
    clock.advance(timedelta(days=1, hours=2))
    booking.complete(sqlite_clinic, f.doctor_actor(w.doctor_id), appt)
    records.record_treatment(
        sqlite_clinic, f.doctor_actor(w.doctor_id), appt, TreatmentForm(diagnosis="flu")
    )
    sqlite_clinic.close()
    path = sqlite_path(sqlite_clinic.db.url)
    assert path is not None
    # What a manual edit with foreign keys off, or an old bug, could leave behind.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DROP INDEX uq_appointments_doctor_live_slot")
        conn.execute("DROP INDEX uq_appointments_patient_live_slot")
        conn.execute("DROP TRIGGER tr_appointments_overlap_insert")
        conn.execute("DROP TRIGGER tr_appointments_overlap_update")
        day = w.day.isoformat()
        rows = [
            (999, w.patient_id, day, "10:00:00.000000"),  # doctor does not exist
            (w.doctor_id, 998, day, "10:30:00.000000"),  # patient does not exist
            (w.other_doctor_id, w.other_patient_id, day, "11:00:00.000000"),  # double booking
            (w.other_doctor_id, w.patient_id, day, "11:00:00.000000"),
            # The second patient again, with the first doctor, inside their 11:00 visit.
            (w.doctor_id, w.other_patient_id, day, "11:15:00.000000"),
        ]
        for doctor_id, patient_id, d, t in rows:
            start = time.fromisoformat(t)
            end = (
                (datetime.combine(w.day, start) + timedelta(minutes=30))
                .time()
                .isoformat("microseconds")
            )
            conn.execute(
                "INSERT INTO appointments (doctor_id, patient_id, day, start_time, end_time, "
                "visit_type, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
                "'consultation', 'booked', '2026-06-15 08:00:00', '2026-06-15 08:00:00')",
                (doctor_id, patient_id, d, t, end),
            )
        conn.execute("UPDATE appointments SET status = 'booked' WHERE id = ?", (appt,))
        conn.execute(
            "INSERT INTO treatments (appointment_id, created_at, updated_at) "
            "VALUES (4242, '2026-06-15 08:00:00', '2026-06-15 08:00:00')"
        )
        conn.commit()

    code, out, _ = _run(capsys, "--database", sqlite_clinic.db.url, "check")
    assert code == 1, out
    assert "appointments whose doctor does not exist" in out
    assert "appointments whose patient does not exist" in out
    assert "treatments whose appointment does not exist" in out
    assert "treatments on appointments that are not completed" in out
    assert "sharing a doctor's slot with another live one" in out
    assert "point at missing rows" in out
    assert out.rstrip().endswith("problem(s)")

    code, out, _ = _run(capsys, "--database", sqlite_clinic.db.url, "check", "--json")
    report = json.loads(out)
    assert code == 1
    assert report["orphans"]["treatments_on_open_visits"] == [1]
    assert len(report["orphans"]["double_booked_doctor_slots"]) == 2
    assert len(report["orphans"]["double_booked_patient_slots"]) == 2  # 11:00 and 11:15


def test_check_fails_on_a_damaged_file(sqlite_clinic, capsys) -> None:
    f.world(sqlite_clinic)
    for n in range(60):
        f.patient(sqlite_clinic, f"Filler Patient {n}")
    sqlite_clinic.close()
    path = sqlite_path(sqlite_clinic.db.url)
    assert path is not None
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(path.read_bytes())
    # Scribble over the last pages (patients' rows and index pages), keeping page 1 sound.
    for offset in range((pages - 3) * page_size + 8, pages * page_size, 3):
        data[offset] = 0x5A
    path.write_bytes(bytes(data))
    code, out, _ = _run(capsys, "--database", sqlite_clinic.db.url, "check")
    assert code == 1, out
    assert "PROBLEM:" in out


def test_check_on_a_missing_file_is_a_user_error(tmp_path: Path, capsys) -> None:
    code, _, err = _run(capsys, "--database", f"sqlite:///{tmp_path / 'nope.sqlite3'}", "check")
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err


def test_backup_and_restore_commands(sqlite_clinic, tmp_path: Path, capsys) -> None:
    w = f.world(sqlite_clinic)
    url = sqlite_clinic.db.url
    target = tmp_path / "out" / "monday.sqlite3"
    code, out, _ = _run(capsys, "--database", url, "backup", str(target))
    assert code == 0 and str(target) in out
    f.patient(sqlite_clinic, "Added After Backup")
    sqlite_clinic.db.dispose()

    code, out, _ = _run(capsys, "--database", url, "restore", str(target))
    assert code == 0, out
    assert "replaced database is kept as" in out
    live = sqlite_path(url)
    assert live is not None
    with closing(sqlite3.connect(live)) as conn:
        names = [r[0] for r in conn.execute("SELECT full_name FROM patients ORDER BY id")]
    assert names == ["José Núñez", "Anna Smith"]
    assert w.patient_id == 1

    code, _, err = _run(capsys, "--database", url, "restore", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
