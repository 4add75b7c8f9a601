"""What keeps the clinic's data whole: backup, restore, integrity, the instance lock, the audit log and the job ledger."""
