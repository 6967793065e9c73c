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
        *("--runs", "1", "--warmup", "0", "--output", str(output)),
        *("--functions", "authorizer,floor_event"),
    )
    if reply.returncode != 0 and "python3.13" in reply.stderr and "not found" in reply.stderr:
        pytest.skip("no python3.13 on this machine")
    assert reply.returncode == 0, reply.stderr[-2000:]
    functions = json.loads(output.read_text())["functions"]
    result = functions["authorizer"]
    assert result["error"] is None
    assert len(result["pyc"]["import_ms"]["samples"]) == 1
    assert len(result["no-pyc"]["import_ms"]["samples"]) == 1
    # The cookbook-style yardstick ran in the same round, in both variants.
    for variant in ("pyc", "no-pyc"):
        assert len(result["cookbook"][variant]["import_ms"]["samples"]) == 1
        assert 0 < result["ratio_to_cookbook"][variant] < 10
    assert isinstance(result["target_met"], bool)
    assert "| authorizer |" in reply.stdout and "Target (each function" in reply.stdout
    # A floor handler is measured the same way, reported as a floor and held to no target.
    floor = functions["floor_event"]
    assert floor["error"] is None and floor["floor"] is True and floor["target_met"] is None
    assert 0 < floor["ratio_to_cookbook"]["no-pyc"] < 10
    assert "| floor_event |" in reply.stdout and "met by all 1." in reply.stdout
