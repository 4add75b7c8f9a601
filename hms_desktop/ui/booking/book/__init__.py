"""The appointment book: its model and table, the controls above it, the view that
loads it off the UI thread, and what a person does on a cell (book, move, cancel,
series), each in its own module."""
