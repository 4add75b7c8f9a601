"""The benchmark code at a few thousand rows, so it cannot rot. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks import clinic_builder, harness

pytestmark = pytest.mark.slow


def test_benchmarks_run_end_to_end_at_smoke_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_builder, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(
        harness, "build", lambda scale: clinic_builder.build(scale, tmp_path / "cache", log=False)
    )
    results = harness.run_all(clinic_builder.SMOKE)
    names = [r.name for r in results]
    for expected in (
        "dashboard stats, fresh",
        "dashboard stats, from cache",
        "patient history",
        "patient search",
        "CSV export",
        "Excel export",
        "appointments table",
        "UI timer's largest gap",
        "cold start",
        "book day view",
        "book: memory growth",
        "next free time",
    ):
        assert any(n.startswith(expected) for n in names), f"no result for {expected}"
    for r in results:
        assert r.value > 0, r
        if r.floor is not None:
            assert r.floor > 0, r
    text = harness.table_text(results)
    assert text.count("\n|") >= len(results)
