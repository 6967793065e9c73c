"""`make bench` runs benchmarks/cold_start.py; here it runs once, small, so it cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build.benchmark_runs import run_benchmark


@pytest.mark.build
def test_the_cold_start_benchmark_measures_both_variants(tmp_path: Path) -> None:
    output = tmp_path / "cold_start.json"
    reply = run_benchmark(
        "cold_start.py",
        *("--runs", "1", "--warmup", "0", "--functions", "authorizer", "--output", str(output)),
    )
    if reply.returncode != 0 and "python3.13" in reply.stderr and "not found" in reply.stderr:
        pytest.skip("no python3.13 on this machine")
    assert reply.returncode == 0, reply.stderr[-2000:]
    result = json.loads(output.read_text())["functions"]["authorizer"]
    assert result["error"] is None
    assert len(result["pyc"]["import_ms"]["samples"]) == 1
    assert len(result["no-pyc"]["import_ms"]["samples"]) == 1
    # The cookbook-style yardstick ran in the same round, in both variants.
    for variant in ("pyc", "no-pyc"):
        assert len(result["cookbook"][variant]["import_ms"]["samples"]) == 1
        assert 0 < result["ratio_to_cookbook"][variant] < 10
    assert isinstance(result["target_met"], bool)
    assert "| authorizer |" in reply.stdout and "Target (each function" in reply.stdout
