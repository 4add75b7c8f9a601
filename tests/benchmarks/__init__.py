"""Benchmarks at clinic scale: ``python -m tests.benchmarks`` (see harness.py)."""
