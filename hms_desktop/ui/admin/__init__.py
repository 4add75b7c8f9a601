"""The Admin tab: dashboard, lists of patients, doctors and appointments, jobs, audit log, backup."""
