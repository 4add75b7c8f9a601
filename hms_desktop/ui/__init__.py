"""The PySide6 desktop front end. Widgets call services; they never touch the database."""
