"""In-process scheduled jobs (reminders, monthly reports, email delivery). No Qt here.

Wiring in the main window (the UI layer owns the Qt side)::

    bridge = JobBridge(self)                                  # hms_desktop.ui.common.job_bridge
    bridge.status_message.connect(self.statusBar().showMessage)
    scheduler = ClinicScheduler(clinic, on_event=bridge.post)  # hms_desktop.jobs.scheduler
    scheduler.start()                                          # also catches up missed periods
    panel = JobsPanel(clinic, actor, ops, scheduler)           # Admin tab
    bridge.event_received.connect(panel.on_job_event)
    ...
    # on close, before the database is closed:
    scheduler.shutdown(wait=True)
    bridge.close()

Modules: ``definitions`` (schedules and periods), ``runner`` (one run through the
ledger), ``scheduler`` (APScheduler wiring), ``desk`` (what the Jobs panel asks).
"""
