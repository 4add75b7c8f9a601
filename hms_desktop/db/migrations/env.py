"""Alembic environment: always run programmatically through hms_desktop.db.migrate."""

from alembic import context

from hms_desktop.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached from the plain alembic CLI
    raise RuntimeError("Run migrations with 'hms init' (hms_desktop.db.migrate.upgrade).")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
