"""Migrations: first revision -> head keeps the data; repeatable; a newer schema is refused."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hms_desktop.config import Settings
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import (
    MIGRATIONS_DIR,
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from hms_desktop.db.models import Appointment, Patient
from hms_desktop.errors import DatabaseUnavailableError, SlotTakenError
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.clinic_settings.values import ClinicSettings
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import patients
from hms_desktop.services.people.validation import fold
from hms_desktop.services.records import records
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f
from tests.core import race_worker

_AUDIT_0001 = sa.table(
    "audit_log",
    *(
        sa.column(name, kind)
        for name, kind in (
            ("at", sa.DateTime),
            ("actor_user_id", sa.Integer),
            ("actor", sa.String),
            ("action", sa.String),
            ("entity", sa.String),
            ("entity_id", sa.Integer),
            ("patient_id", sa.Integer),
            ("details", sa.Text),
        )
    ),
)


def _record_as_0001(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    *,
    patient_id: int | None = None,
    **details: object,
) -> None:
    """Audit entries as a 0001 database stored them: no hash chain (0008)."""
    session.execute(
        sa.insert(_AUDIT_0001).values(
            at=datetime.now(UTC).replace(tzinfo=None),
            actor_user_id=actor.user_id,
            actor=actor.username,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_id=patient_id,
            details=json.dumps(details, default=str, sort_keys=True) if details else "",
        )
    )


def test_first_revision_upgrades_to_head_with_its_data(
    blank_database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(blank_database_url)
    monkeypatch.setattr(audit, "record", _record_as_0001)
    try:
        assert current_revision(db) is None
        assert upgrade(db, "0001").current == "0001"
        # The settings table comes with 0006: this clinic's settings are given, not read.
        clinic = Clinic(
            db=db,
            pc=Settings(database_url=blank_database_url),
            clock=clock,
            pinned=ClinicSettings(timezone="Europe/Berlin"),
        )
        # Departments are written with the newest models; doctors, patients, availability,
        # visits and treatments as a 0001 database stored them (later revisions added
        # columns).
        dept = f.department(clinic, "General Medicine")
        doctors_0001 = sa.table(
            "doctors",
            sa.column("id", sa.Integer),
            sa.column("full_name", sa.String),
            sa.column("department_id", sa.Integer),
            sa.column("email", sa.String),
            sa.column("created_at", sa.DateTime),
        )
        with db.write() as session:
            doctor_id, _other_doctor = (
                session.scalar(
                    sa.insert(doctors_0001)
                    .values(
                        full_name=name,
                        department_id=dept,
                        email=f"{n}@clinic.test",
                        created_at=datetime(2026, 6, 1, 8, 0),
                    )
                    .returning(doctors_0001.c.id)
                )
                for n, name in enumerate(("Dr. Ada Lovelace", "Dr. Alan Turing"))
            )
        # Patients as a 0001 database held them: no reversed phone key (0005).
        patients_0001 = sa.table(
            "patients",
            sa.column("id", sa.Integer),
            sa.column("full_name", sa.String),
            sa.column("name_key", sa.String),
            sa.column("surname_key", sa.String),
            sa.column("phone", sa.String),
            sa.column("phone_key", sa.String),
            sa.column("created_at", sa.DateTime),
        )
        with db.write() as session:
            ids = [
                session.scalar(
                    sa.insert(patients_0001)
                    .values(
                        full_name=name,
                        name_key=key,
                        surname_key=key.rsplit(" ", 1)[-1],
                        phone=phone,
                        phone_key="".join(ch for ch in phone if ch.isdigit()),
                        created_at=datetime(2026, 6, 1, 8, 0),
                    )
                    .returning(patients_0001.c.id)
                )
                for name, key, phone in (
                    ("José Núñez", "jose nunez", "+49 175 6206524"),
                    ("Anna Smith", "anna smith", "+49 30 1234567"),
                )
            ]
        patient_id, other_patient_id = ids
        day = clinic.today() + timedelta(days=1)
        # The window and the booking as a 0001 database held them (typed inserts of the
        # 0001 columns: the newest availability code reads the 0004 slot grid column).
        window_0001 = sa.table(
            "availability",
            sa.column("doctor_id", sa.Integer),
            sa.column("day", sa.Date),
            sa.column("start_time", sa.Time),
            sa.column("end_time", sa.Time),
        )
        with db.write() as session:
            session.execute(
                sa.insert(window_0001).values(
                    doctor_id=doctor_id, day=day, start_time=time(9, 0), end_time=time(12, 0)
                )
            )
            appointments_0001 = sa.table(
                "appointments",
                sa.column("id", sa.Integer),
                sa.column("doctor_id", sa.Integer),
                sa.column("patient_id", sa.Integer),
                sa.column("day", sa.Date),
                sa.column("start_time", sa.Time),
                sa.column("visit_type", sa.String),
                sa.column("status", sa.String),
                sa.column("created_at", sa.DateTime),
                sa.column("updated_at", sa.DateTime),
            )
            appt = session.scalar(
                sa.insert(appointments_0001)
                .values(
                    doctor_id=doctor_id,
                    patient_id=patient_id,
                    day=day,
                    start_time=time(9, 0),
                    visit_type="consultation",
                    status="completed",
                    created_at=datetime(2026, 6, 1, 8, 0),
                    updated_at=datetime(2026, 6, 1, 8, 0),
                )
                .returning(appointments_0001.c.id)
            )
            treatments_0001 = sa.table(
                "treatments",
                sa.column("appointment_id", sa.Integer),
                sa.column("diagnosis", sa.String),
                sa.column("created_at", sa.DateTime),
                sa.column("updated_at", sa.DateTime),
            )
            session.execute(
                sa.insert(treatments_0001).values(
                    appointment_id=appt,
                    diagnosis="flu",
                    created_at=datetime(2026, 6, 1, 8, 0),
                    updated_at=datetime(2026, 6, 1, 8, 0),
                )
            )
        assert appt is not None
        w = SimpleNamespace(
            doctor_id=doctor_id, patient_id=patient_id, other_patient_id=other_patient_id, day=day
        )
        clock.advance(days=1)

        with db.read() as session:
            written = int(session.scalar(text("SELECT count(*) FROM audit_log")) or 0)
        assert written >= 1  # the department
        monkeypatch.undo()

        state = upgrade(db)
        assert (state.current, state.is_current) == (head_revision(), True)
        # 0006 gave the visit the end of its window's 30-minute slot.
        with db.read() as session:
            assert session.scalar(sa.select(Appointment.end_time)) == time(9, 30)
        # 0008 chained the entries already there, in the order they were written.
        assert audit_chain.verify(db).message == f"ok, {written} entries"
        # 0011: the dated window became extra hours on its date; the visit stays inside.
        assert [
            (x.start_time, x.end_time) for x in availability.get_windows(clinic, doctor_id, [day])
        ] == [(time(9, 0), time(12, 0))]
        history = records.patient_history(clinic, SYSTEM, w.patient_id)
        assert [(h.doctor, h.date, h.diagnosis) for h in history] == [
            ("Dr. Ada Lovelace", w.day, "flu")
        ]
        assert [p.full_name for p in patients.search_patients(clinic, SYSTEM, "jose")] == [
            "José Núñez"
        ]
        # 0005 filled the reversed phone key of the patients already there.
        for local in ("0175 6206524", "6206524"):
            found = patients.search_patients(clinic, SYSTEM, local)
            assert [p.full_name for p in found] == ["José Núñez"]
        # The upgraded database keeps working: a new booking on it.
        f.open_day(clinic, w.doctor_id, clinic.today() + timedelta(days=1))
        booking.book(
            clinic,
            f.RECEPTION,
            patient_id=w.other_patient_id,
            doctor_id=w.doctor_id,
            day=clinic.today() + timedelta(days=1),
            at="10:00",
        )
        # ...and the database refuses an overlap with the visit 0006 gave an end.
        with pytest.raises(SlotTakenError, match=r"Dr\. Ada Lovelace already has a visit at 10:00"):
            booking.book(
                clinic,
                f.RECEPTION,
                patient_id=w.patient_id,
                doctor_id=w.doctor_id,
                day=clinic.today() + timedelta(days=1),
                at="10:00",
            )
        # Repeating the upgrade is a no-op that keeps everything.
        assert upgrade(db).current == head_revision()
        assert upgrade(db).current == head_revision()
        assert len(booking.list_appointments(clinic, SYSTEM)) == 2
        with db.read() as session:
            now_written = int(session.scalar(text("SELECT count(*) FROM audit_log")) or 0)
        assert now_written > written  # new entries continue the chain the migration built
        assert audit_chain.verify(db).message == f"ok, {now_written} entries"
        # The append-only guard survived the upgrade.
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    finally:
        db.dispose()


def test_a_fresh_database_migrates_to_exactly_the_models(blank_database_url: str) -> None:
    from hms_desktop.db.models import Base

    db = Database(blank_database_url)
    try:
        upgrade(db)
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert tables - set(Base.metadata.tables) == {"alembic_version"}
    finally:
        db.dispose()


def test_a_database_from_a_newer_version_is_refused(blank_database_url: str) -> None:
    db = Database(blank_database_url)
    try:
        upgrade(db)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        for attempt in (check_schema, upgrade):
            with pytest.raises(DatabaseUnavailableError, match="newer version of HMS Desktop"):
                attempt(db)
        with pytest.raises(DatabaseUnavailableError, match="schema 9999_future"):
            open_clinic(Settings(database_url=blank_database_url))
        # Nothing was touched: the stamp is still the newer one.
        assert current_revision(db) == "9999_future"
    finally:
        db.dispose()


def test_open_clinic_without_migrating_asks_for_hms_init(blank_database_url: str) -> None:
    with pytest.raises(DatabaseUnavailableError, match="hms init"):
        open_clinic(Settings(database_url=blank_database_url), migrate=False)
    clinic = open_clinic(Settings(database_url=blank_database_url))
    try:
        assert check_schema(clinic.db).is_current
    finally:
        clinic.close()


@pytest.mark.slow
def test_two_programs_initialising_one_new_database_at_once(blank_database_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=race_worker.migrate, args=(blank_database_url, start, results))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = sorted(results.get(timeout=120) for _ in procs)
    finally:
        for proc in procs:
            proc.join(timeout=30)
    assert outcomes == [("ok", head_revision()), ("ok", head_revision())]
    db = Database(blank_database_url)
    try:
        assert check_schema(db).is_current
    finally:
        db.dispose()


def test_every_migration_goes_down_and_up_again_with_its_guards(blank_database_url: str) -> None:
    """Down to 0005 and back to the head: each downgrade finds what the next one expects
    (a table copy would have dropped 0006's overlap triggers), and the guards are back."""
    db = Database(blank_database_url)
    try:
        assert upgrade(db).current == head_revision()
        downgrade(db, "0005")
        assert current_revision(db) == "0005"
        assert upgrade(db).current == head_revision()
        clinic = Clinic(db=db, pc=Settings(database_url=blank_database_url), clock=FakeClock(
            datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
        ))  # fmt: skip
        world = f.world(clinic)
        booking.book(
            clinic,
            SYSTEM,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            day=world.day,
            at="09:00",
        )
        # The database itself still refuses an overlap (0006's guard, as 0013 left it).
        with pytest.raises(DBAPIError, match="overlap"), db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO appointments (doctor_id, patient_id, day, start_time, end_time, "
                    "visit_type, reason, status, created_at, updated_at) VALUES "
                    "(:d, :p, :day, '09:15:00', '09:45:00', 'consultation', '', 'booked', "
                    "'2026-06-15 07:00:00', '2026-06-15 07:00:00')"
                ),
                {"d": world.doctor_id, "p": world.other_patient_id, "day": world.day},
            )
    finally:
        db.dispose()


def test_0006_downgrades_and_upgrades_again(blank_database_url: str) -> None:
    db = Database(blank_database_url)
    try:
        upgrade(db)
        downgrade(db, "0005")
        insp = inspect(db.engine)
        assert "clinic_settings" not in insp.get_table_names()
        assert "end_time" not in {c["name"] for c in insp.get_columns("appointments")}
        assert upgrade(db).current == head_revision()
        insp = inspect(db.engine)
        assert {"clinic_settings", "visit_types"} <= set(insp.get_table_names())
        with db.read() as session:
            assert session.scalar(text("SELECT count(*) FROM visit_types")) == 5
    finally:
        db.dispose()


def test_0015_keeps_every_visit_and_guard_and_an_undone_id_is_never_given_again(
    blank_database_url: str,
) -> None:
    """SQLite gave a deleted (undone) booking's id to the next booking; 0015 rebuilds the
    table with AUTOINCREMENT, keeping the rows, their children, indexes and triggers."""
    from hms_desktop.services.scheduling import undo

    db = Database(blank_database_url)
    try:
        # The visits are made by today's services, then the clinic goes back to 0014
        # (its appointments table as 0014 had it: no AUTOINCREMENT, no sequence kept).
        upgrade(db)
        clock = FakeClock(datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")))
        clinic = Clinic(db=db, pc=Settings(database_url=blank_database_url), clock=clock)
        world = f.world(clinic)
        kept = booking.book(
            clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=world.day, at="09:00",
        )  # fmt: skip
        undone = booking.book(
            clinic, SYSTEM, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
            day=world.day, at="10:00",
        )  # fmt: skip
        assert undo.undo_booking(clinic, SYSTEM, undone) is True  # deleted: nothing else happened
        clock.advance(timedelta(days=1, hours=3))  # the 09:00 visit is over: its treatment
        booking.set_status(clinic, f.doctor_actor(world.doctor_id), kept, "completed")
        records.record_treatment(
            clinic, f.doctor_actor(world.doctor_id), kept, records.TreatmentForm(diagnosis="Flu")
        )
        downgrade(db, "0014")
        with db.read() as session:
            counts_before = session.execute(
                text("SELECT day, status, n FROM appointment_counts ORDER BY day, status")
            ).all()

        assert upgrade(db).current == head_revision()

        with db.read() as session:
            assert (
                session.execute(
                    text("SELECT day, status, n FROM appointment_counts ORDER BY day, status")
                ).all()
                == counts_before
            )  # the copy counted nothing twice, the drop removed nothing
            treated = text("SELECT count(*) FROM treatments WHERE appointment_id = :id")
            assert session.scalar(treated, {"id": kept}) == 1
            if db.is_sqlite:
                assert session.execute(text("PRAGMA foreign_key_check")).all() == []
                ddl = session.scalar(
                    text("SELECT sql FROM sqlite_master WHERE name = 'appointments'")
                )
                assert "AUTOINCREMENT" in str(ddl)
        # The next booking does not get the undone visit's id (on SQLite it did): the
        # upgrade knows it from the audit log.
        again = booking.book(
            clinic, SYSTEM, patient_id=world.other_patient_id, doctor_id=world.doctor_id,
            day=world.day, at="10:30",
        )  # fmt: skip
        assert again > undone
        # And a visit undone now leaves its id unused as well.
        undone_now = booking.book(
            clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=world.day, at="11:30",
        )  # fmt: skip
        assert undo.undo_booking(clinic, SYSTEM, undone_now) is True
        last = booking.book(
            clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
            day=world.day, at="11:30",
        )  # fmt: skip
        assert last > undone_now > again
        # The guards came back with the table: an overlap, and the day's counts kept.
        with pytest.raises(SlotTakenError):
            booking.book(
                clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                day=world.day, at="10:30",
            )  # fmt: skip
        with pytest.raises(DBAPIError, match="overlap"), db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO appointments (doctor_id, patient_id, day, start_time, end_time, "
                    "visit_type, reason, status, created_at, updated_at) VALUES "
                    "(:d, :p, :day, '10:45:00', '11:15:00', 'consultation', '', 'booked', "
                    "'2026-06-15 07:00:00', '2026-06-15 07:00:00')"
                ),
                {"d": world.doctor_id, "p": world.patient_id, "day": world.day},
            )
        with db.read() as session:  # the count triggers keep counting after the rebuild
            kept_counts = session.execute(
                text("SELECT day, status, n FROM appointment_counts WHERE n <> 0 ORDER BY 1, 2")
            ).all()
            counted = session.execute(
                text(
                    "SELECT day, status, count(*) FROM appointments GROUP BY day, status "
                    "ORDER BY 1, 2"
                )
            ).all()
        assert kept_counts == counted and sum(r[2] for r in counted) == 3  # kept, again, last
    finally:
        db.dispose()


def test_0015_keeps_the_planners_statistics_of_the_rebuilt_table(tmp_path: Path) -> None:
    """Dropping the old table deleted its ``sqlite_stat1`` rows; with the other tables'
    statistics and none for appointments, SQLite listed all visits department by
    department and sorted them (3.4 s on a million) instead of reading the day index."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    db = Database(url)
    try:
        upgrade(db)
        clinic = Clinic(
            db=db,
            pc=Settings(database_url=url),
            clock=FakeClock(datetime(2026, 6, 15, 9, tzinfo=UTC)),
        )
        world = f.world(clinic)
        for at in ("09:00", "10:00", "11:00"):
            booking.book(
                clinic, SYSTEM, patient_id=world.patient_id, doctor_id=world.doctor_id,
                day=world.day, at=at,
            )  # fmt: skip
        downgrade(db, "0014")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            before = conn.exec_driver_sql(
                "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'appointments' ORDER BY idx"
            ).all()
        assert len(before) > 1  # the indexes' statistics, not only the table's

        upgrade(db)

        with db.engine.connect() as conn:
            after = conn.exec_driver_sql(
                "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'appointments' ORDER BY idx"
            ).all()
        assert after == before
    finally:
        db.dispose()


def _migration(name: str) -> ModuleType:
    """A revision's module, loaded from its file (the versions folder is no package)."""
    path = MIGRATIONS_DIR / "versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_0016_lists_every_character_whose_folding_changed() -> None:
    """0016 picks the names to make keys for again by these characters: a character
    missing from its list would leave its names with keys the search cannot find."""
    m0016 = _migration("0016_patient_name_keys_plain_letters.py")
    changed = {
        ch
        for ch in map(chr, range(sys.maxunicode + 1))
        if not 0xD800 <= ord(ch) <= 0xDFFF and fold(ch) != m0016.fold_0015(ch)
    }
    assert changed == set(m0016._CHANGED)


def test_0016_makes_the_keys_of_special_letters_and_apostrophes_again(
    blank_database_url: str,
) -> None:
    """Names saved before 0016 kept keys with "ł", "ı", "'": "lukasz" did not find
    "Łukasz". The upgrade makes their keys as the search now folds; the downgrade makes
    them as 0015's search did."""
    db = Database(blank_database_url)
    try:
        upgrade(db)
        downgrade(db, "0015")
        patients_0015 = sa.table(
            "patients",
            sa.column("id", sa.Integer),
            sa.column("full_name", sa.String),
            sa.column("name_key", sa.String),
            sa.column("surname_key", sa.String),
            sa.column("created_at", sa.DateTime),
        )
        # The keys as 0015's search made them.
        old_keys = {
            "Łukasz Wójcik": ("łukasz wojcik", "wojcik"),
            "Ayşe Yılmaz": ("ayse yılmaz", "yılmaz"),
            "Seán O'Brien": ("sean o'brien", "o'brien"),
            "Søren Kierkegaard": ("søren kierkegaard", "kierkegaard"),
            "Anna Smith": ("anna smith", "smith"),
            "José Núñez": ("jose nunez", "nunez"),
        }
        with db.write() as session:
            ids = {
                name: session.scalar(
                    sa.insert(patients_0015)
                    .values(
                        full_name=name,
                        name_key=key,
                        surname_key=surname,
                        created_at=datetime(2026, 6, 1, 8, 0),
                    )
                    .returning(patients_0015.c.id)
                )
                for name, (key, surname) in old_keys.items()
            }

        def keys() -> dict[str, tuple[str, str]]:
            with db.read() as session:
                rows = session.execute(
                    sa.select(
                        patients_0015.c.full_name,
                        patients_0015.c.name_key,
                        patients_0015.c.surname_key,
                    )
                ).all()
            return {name: (key, surname) for name, key, surname in rows}

        assert upgrade(db).current == head_revision()
        assert keys() == {
            "Łukasz Wójcik": ("lukasz wojcik", "wojcik"),
            "Ayşe Yılmaz": ("ayse yilmaz", "yilmaz"),
            "Seán O'Brien": ("sean obrien", "obrien"),
            "Søren Kierkegaard": ("soren kierkegaard", "kierkegaard"),
            "Anna Smith": ("anna smith", "smith"),
            "José Núñez": ("jose nunez", "nunez"),
        }
        clinic = Clinic(
            db=db,
            pc=Settings(database_url=blank_database_url),
            clock=FakeClock(datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))),
        )
        for typed, name in (
            ("lukasz", "Łukasz Wójcik"),
            ("Łukasz", "Łukasz Wójcik"),
            ("yilmaz", "Ayşe Yılmaz"),
            ("obrien", "Seán O'Brien"),
            ("o'b", "Seán O'Brien"),
            ("o’brien", "Seán O'Brien"),
            ("soren", "Søren Kierkegaard"),
        ):
            found = patients.search_patients(clinic, SYSTEM, typed)
            assert [p.id for p in found] == [ids[name]], typed
        downgrade(db, "0015")
        assert keys() == old_keys
        assert upgrade(db).current == head_revision()
        assert keys()["Łukasz Wójcik"] == ("lukasz wojcik", "wojcik")
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "name",
    [
        "Anna Smith-Hughes",
        "María García López",
        "Jean-Paul Sartre",
        "Anna Smith-Hughes Jones",
        "Anna -- X",
        "Madonna",
        "Ana Mar Marquez Ruiz",
        "O'Brien-Ó Súilleabháin Seán",
    ],
)
def test_0018_makes_the_words_as_the_patients_service_does(name: str) -> None:
    """0018 holds a copy of the rule, so it stands alone: the copy must not drift."""
    from hms_desktop.services.people.validation import name_words

    m0018 = _migration("0018_patient_name_words.py")
    key = fold(name)
    surname = key.rsplit(" ", 1)[-1]
    assert m0018.name_words(key, surname) == name_words(key, surname)


def test_0018_fills_the_words_of_the_patients_there_and_goes_down_again(
    blank_database_url: str,
) -> None:
    """Patients saved before 0018 get their words (in batches: more than one here), so
    "hughes" finds "Anna Smith-Hughes"; the downgrade drops the table and its index."""
    from hms_desktop.db.models import PatientNameWord
    from hms_desktop.services.people.validation import name_words

    db = Database(blank_database_url)
    try:
        upgrade(db)
        clinic = Clinic(
            db=db,
            pc=Settings(database_url=blank_database_url),
            clock=FakeClock(datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))),
        )
        anna = f.patient(clinic, "Anna Smith-Hughes")  # written at the head, with words
        downgrade(db, "0017")
        assert "patient_name_words" not in inspect(db.engine).get_table_names()
        patients_0017 = sa.table(
            "patients",
            sa.column("full_name", sa.String),
            sa.column("name_key", sa.String),
            sa.column("surname_key", sa.String),
            sa.column("created_at", sa.DateTime),
        )
        many = [f"Pat {n} García-López Ruiz" for n in range(2100)]  # _BATCH is 2000
        with db.write() as session:
            session.execute(
                sa.insert(patients_0017),
                [
                    {
                        "full_name": name,
                        "name_key": fold(name),
                        "surname_key": fold(name).rsplit(" ", 1)[-1],
                        "created_at": datetime(2026, 6, 1, 8, 0),
                    }
                    for name in [*many, "María García López"]
                ],
            )
        assert upgrade(db).current == head_revision()
        with db.read() as session:
            keys = session.execute(sa.select(Patient.id, Patient.name_key, Patient.surname_key))
            expected = {
                (word, name_key, pid)
                for pid, name_key, surname_key in keys
                for word in name_words(name_key, surname_key)
            }
            stored = set(
                session.execute(
                    sa.select(
                        PatientNameWord.word_key,
                        PatientNameWord.name_key,
                        PatientNameWord.patient_id,
                    )
                ).tuples()
            )
        # The number, garcia, garcia-lopez and lopez each; smith, hughes; garcia.
        assert len(expected) == 4 * 2100 + 2 + 1
        assert stored == expected
        maria = [p.id for p in patients.search_patients(clinic, SYSTEM, "maria")]
        assert [p.id for p in patients.search_patients(clinic, SYSTEM, "hughes")] == [anna]
        assert [p.id for p in patients.search_patients(clinic, SYSTEM, "garcia maria")] == maria
        # The table as the models describe it: its key in the search's order, and the
        # patient's own words' index.
        insp = inspect(db.engine)
        assert insp.get_pk_constraint("patient_name_words")["constrained_columns"] == [
            "word_key",
            "name_key",
            "patient_id",
        ]
        assert {
            (ix["name"], tuple(ix["column_names"])) for ix in insp.get_indexes("patient_name_words")
        } == {("ix_patient_name_words_patient_word", ("patient_id", "word_key"))}
        (fk,) = insp.get_foreign_keys("patient_name_words")
        assert (fk["referred_table"], fk["options"].get("ondelete")) == ("patients", "CASCADE")
        downgrade(db, "0017")
        assert "patient_name_words" not in inspect(db.engine).get_table_names()
        assert upgrade(db).current == head_revision()
    finally:
        db.dispose()
