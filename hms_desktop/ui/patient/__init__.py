"""The Patient tab: a patient's profile, visits and bookings."""
