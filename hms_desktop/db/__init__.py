"""Database layer: engine, ORM models and migrations."""
