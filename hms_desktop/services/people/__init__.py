"""Accounts, patients, doctors and departments, and the checks on their fields."""
