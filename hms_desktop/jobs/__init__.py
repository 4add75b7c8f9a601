"""In-process scheduled jobs (reminders, monthly reports, backups). No Qt here."""
