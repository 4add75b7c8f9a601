"""A patient's medical history as the Doctor and Patient tabs show it."""
