"""The outbox: reminders and reports as messages, and their delivery by email."""
