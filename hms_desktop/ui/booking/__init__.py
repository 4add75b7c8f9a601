"""Finding free time and booking it: the slot browser, slot picker and booking dialog."""
