"""The benchmark clinic on PostgreSQL: loaded once with COPY, kept in a schema of its own.

The rows are the cached SQLite clinic's (:func:`clinic_builder.build`), so both
databases are measured on the same clinic. Each size lives in its own schema
(``hms_bench_1m``, ``hms_bench_5m``...), apart from the test sessions' schemas; a
marker table there names the size and the generator version it holds, and a later
run finds it and loads nothing. Loading: the schema migrated to the head, the big
tables' foreign keys, exclusion constraints and secondary indexes dropped, every
table streamed from the SQLite file with psycopg 3's ``cursor.copy``, then the
constraints and indexes rebuilt from their own definitions, the sequences moved past
the ids and the tables analysed. The per-day counts' triggers stay on during COPY (a
statement trigger: one grouped upsert for the whole load).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.db.models import Base
from tests.benchmarks.clinic_builder import Scale, cache_key

#: Bump when the loader changes what it writes: a cached schema is then loaded again.
LOADER_VERSION = 1
MARKER = "hms_bench_marker"
#: Tables the loader does not copy: the schema's own, and the counts the triggers keep.
_SKIP = {"alembic_version", "appointment_counts"}
#: Tables big enough that their constraints and indexes are rebuilt after the COPY.
_BIG = ("patients", "appointments", "treatments", "audit_log")


def schema_for(scale: Scale) -> str:
    return "hms_bench_" + "".join(c if c.isalnum() else "_" for c in scale.name.lower())


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (psycopg.connect)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def marker_value(scale: Scale) -> str:
    return f"{scale.name}:{cache_key(scale)}:loader{LOADER_VERSION}"


def _has_marker(conn: psycopg.Connection, schema: str, value: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (schema, MARKER)
    ).fetchone()
    if row is None:
        return False
    got = conn.execute(f'SELECT clinic FROM "{schema}".{MARKER}').fetchone()  # noqa: S608
    return got is not None and got[0] == value


def load(scale: Scale, sqlite_file: Path, base_url: str, *, log: bool = True) -> str:
    """The URL of ``scale``'s clinic on the server at ``base_url``, loaded if not there yet."""
    schema = schema_for(scale)
    url = schema_url(base_url, schema)
    value = marker_value(scale)
    with psycopg.connect(libpq(base_url), autocommit=True) as conn:
        if _has_marker(conn, schema, value):
            db = Database(url)
            upgrade(db)  # a newer schema's migrations reach the cached clinic too
            db.dispose()
            return url
        started = time.perf_counter()
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    db = Database(url)
    upgrade(db)
    db.dispose()
    with (
        psycopg.connect(libpq(url)) as conn,
        closing(sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)) as source,
    ):
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        rebuild = _drop_constraints(conn)
        for table in reversed(Base.metadata.sorted_tables):  # what the migrations put in
            if (
                table.name not in _SKIP
                and conn.execute(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone()  # noqa: S608
            ):
                conn.execute(f"DELETE FROM {table.name}")  # noqa: S608
        total = 0
        for table in Base.metadata.sorted_tables:
            if table.name in _SKIP:
                continue
            total += _copy_table(conn, source, table.name, log=log)
        for statement in rebuild:
            conn.execute(statement)
        for table in Base.metadata.sorted_tables:
            if (
                "id" in table.c
                and table.c.id.autoincrement is not False
                and table.name not in _SKIP
            ):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false) "
                    f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"
                )
        conn.execute(f"CREATE TABLE {MARKER} (clinic text NOT NULL)")
        conn.execute(f"INSERT INTO {MARKER} VALUES (%s)", (value,))  # noqa: S608
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    if log:
        print(
            f"  loaded {scale.name} clinic into PostgreSQL schema {schema} with COPY: "
            f"{total:,} rows in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return url


def _drop_constraints(conn: psycopg.Connection) -> list[str]:
    """Drop the big tables' foreign keys, exclusion/unique constraints and secondary
    indexes (and every foreign key pointing at them); the statements that rebuild them."""
    rebuild: list[str] = []
    fks = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace "
        "AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
        (list(_BIG), list(_BIG)),
    ).fetchall()
    others = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('x', 'u') AND connamespace = current_schema()::regnamespace "
        "AND conrelid::regclass::text = ANY(%s)",
        (list(_BIG),),
    ).fetchall()
    for table, name, _definition in [*fks, *others]:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname AND c.connamespace = current_schema()::regnamespace)",
        (list(_BIG),),
    ).fetchall()
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    rebuild += [definition for _name, definition in indexes]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in others]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in fks]
    return rebuild


def _copy_table(
    conn: psycopg.Connection, source: sqlite3.Connection, table: str, *, log: bool
) -> int:
    pg_columns = {
        name: kind
        for name, kind in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
    }
    columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})") if r[1] in pg_columns]
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
    started, n = time.perf_counter(), 0
    quoted = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        while rows := cursor.fetchmany(10_000):
            for row in rows:  # SQLite's text dates and 0/1 booleans are COPY's text input
                copy.write_row(row)
            n += len(rows)
    if log and n >= 100_000:
        print(f"    COPY {table}: {n:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    return n
