"""Files that leave the clinic: CSV and Excel exports, written atomically and safely."""
