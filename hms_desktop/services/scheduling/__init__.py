"""Doctors' availability and the booking of appointments."""
