"""The application window: start-up, sign-in, first run, the main window, its menus and style; the features meet here."""
