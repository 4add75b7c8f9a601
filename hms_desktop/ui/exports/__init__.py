"""Export dialogs: choosing what to export and where, and the progress of the export."""
