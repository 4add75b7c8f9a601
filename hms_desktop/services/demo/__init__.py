"""The demo clinic: generated doctors, patients and appointments."""
