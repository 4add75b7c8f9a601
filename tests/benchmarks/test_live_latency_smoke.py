"""The live-latency benchmark at a few bookings, so its code cannot rot. No timing asserted."""

from __future__ import annotations

import pytest

from tests.benchmarks import live_latency

pytestmark = pytest.mark.slow


def test_live_latency_measures_every_booking(pg_schema_url: str) -> None:
    from tests.conftest import _empty_pg

    samples = live_latency.measure(_empty_pg(pg_schema_url), 5)
    assert len(samples) == 5
    assert all(0 <= s < 60 for s in samples)
