"""The Doctor tab: the doctor's visits, treatments, availability and monthly reports."""
