"""Use cases of the clinic, in plain Python (no Qt). Every rule lives here once."""
