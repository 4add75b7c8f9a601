"""The benchmark code at a few thousand rows, so it cannot rot. No timing is asserted."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.benchmarks import clinic_builder, harness

pytestmark = pytest.mark.slow


def test_benchmarks_run_end_to_end_at_smoke_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_builder, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(
        harness, "build", lambda scale: clinic_builder.build(scale, tmp_path / "cache", log=False)
    )
    results = harness.run_all(clinic_builder.SMOKE)
    names = [r.name for r in results]
    for expected in (
        "dashboard stats, fresh",
        "dashboard stats, from cache",
        "patient history",
        "patient search",
        "CSV export",
        "Excel export",
        "appointments table",
        "UI timer's largest gap",
        "cold start",
        "book day view",
        "book: memory growth",
        "next free time",
    ):
        assert any(n.startswith(expected) for n in names), f"no result for {expected}"
    for r in results:
        assert r.value > 0, r
        if r.floor is not None:
            assert r.floor > 0, r
    text = harness.table_text(results)
    assert text.count("\n|") >= len(results)


def test_benchmarks_run_on_postgresql_with_the_copy_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_schema_url: str
) -> None:
    """The PostgreSQL run at smoke scale: COPY into a schema of its own, found again by
    its marker, every PostgreSQL step measured, and the live latency on that clinic.
    (``pg_schema_url``: under CI an unreachable server fails the test, never skips it.)"""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.benchmarks import live_latency, pg_clinic
    from tests.conftest import _pg_base_url

    base = _pg_base_url()
    schema = f"hms_bench_smoke_{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(pg_clinic, "schema_for", lambda scale: schema)
    monkeypatch.setattr(clinic_builder, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(
        harness, "build", lambda scale: clinic_builder.build(scale, tmp_path / "cache", log=False)
    )
    try:
        results = harness.run_all(clinic_builder.SMOKE, database="postgresql", base_url=base)
        names = [r.name for r in results]
        for expected in (
            "dashboard stats, fresh",
            "monthly reports",
            "patient history",
            "patient search",
            "CSV export",
            "Excel export",
            "appointments table",
            "book day view",
            "next free time",
        ):
            assert any(n.startswith(expected) for n in names), f"no result for {expected}"
        assert all(r.floor is None or r.floor > 0 for r in results)
        sqlite_file = clinic_builder.build(clinic_builder.SMOKE, tmp_path / "cache", log=False)
        url = pg_clinic.schema_url(base, schema)
        engine = create_engine(url)
        with engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM appointments")).scalar()
            kept = conn.execute(text("SELECT sum(n) FROM appointment_counts")).scalar()
            marker = conn.execute(text(f"SELECT clinic FROM {pg_clinic.MARKER}")).scalar()  # noqa: S608
        with closing(sqlite3.connect(sqlite_file)) as source:
            (expected_rows,) = source.execute("SELECT count(*) FROM appointments").fetchone()
        assert loaded == kept == expected_rows  # the COPY fired the counting trigger once
        assert marker == pg_clinic.marker_value(clinic_builder.SMOKE)
        # Found by its marker: nothing is loaded again (the rows keep their ids).
        assert pg_clinic.load(clinic_builder.SMOKE, sqlite_file, base, log=False) == url
        samples = live_latency.measure_on_clinic(url, 3, clinic_builder.NOW)
        assert len(samples) == 3 and all(0 <= s < 60 for s in samples)
        with engine.connect() as conn:  # the live bookings were taken away again
            assert conn.execute(text("SELECT count(*) FROM appointments")).scalar() == loaded
        engine.dispose()
    finally:
        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_the_grown_clinic_repeats_its_history_further_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = clinic_builder.build(clinic_builder.SMOKE, tmp_path, log=False)
    grown = clinic_builder.build(clinic_builder.SMOKE_GROWN, tmp_path, log=False)
    with closing(sqlite3.connect(base)) as a, closing(sqlite3.connect(grown)) as b:
        first_a, n_a = a.execute("SELECT min(day), count(*) FROM appointments").fetchone()
        first_b, n_b = b.execute("SELECT min(day), count(*) FROM appointments").fetchone()
        assert first_b < first_a and 4 * n_a < n_b < 5 * n_a
        assert b.execute("SELECT count(*) FROM patients").fetchone()[0] == 5 * 400
        # The kept counts were counted once after the copy, and the triggers are back.
        assert b.execute("SELECT sum(n) FROM appointment_counts").fetchone()[0] == n_b
        assert b.execute("SELECT n FROM table_counts WHERE name = 'patients'").fetchone()[0] == 2000
        assert b.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {r[0] for r in b.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert "tr_appointment_counts_insert" in names
    # The growth measurement: both clinics side by side.
    from tests.benchmarks import growth

    rows = growth.measure(harness.Target("sqlite", str(base)), harness.Target("sqlite", str(grown)))
    assert {r.path.split(",")[0].split(" (")[0] for r in rows} >= {
        "dashboard stats", "book day view data", "next free time", "patient history",
        "patient search", "monthly reports", "today's figures",
    }  # fmt: skip
    assert all(r.small_ms > 0 and r.big_ms > 0 for r in rows)
    assert "| 5M / 1M |" in growth.table_text(rows)


def test_growing_copies_the_patients_name_words(tmp_path: Path) -> None:
    """The copies' patients are found by the words of their names as the originals are
    (the smoke clinic's 400 names may have none: one is given a word here)."""
    base = clinic_builder.build(clinic_builder.SMOKE, tmp_path, log=False)
    copy = tmp_path / "with-a-word.sqlite3"
    shutil.copyfile(base, copy)
    with closing(sqlite3.connect(copy)) as conn, conn:
        conn.execute(
            "INSERT INTO patient_name_words (word_key, name_key, patient_id) "
            "SELECT 'hughes', name_key, id FROM patients WHERE id = 1"
        )
    clinic_builder.grow(copy, 3, clinic_builder.SMOKE.days_back)
    with closing(sqlite3.connect(copy)) as conn:
        rows = conn.execute(
            "SELECT w.word_key, w.patient_id, w.name_key = p.name_key FROM patient_name_words w "
            "JOIN patients p ON p.id = w.patient_id ORDER BY w.patient_id"
        ).fetchall()
    assert rows == [("hughes", 1, 1), ("hughes", 401, 1), ("hughes", 801, 1)]
