"""Clinic-wide settings and visit types: stored once in the database, changed by admins."""
