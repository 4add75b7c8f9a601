"""Treatments, medical history, the dashboard figures and the monthly reports."""
