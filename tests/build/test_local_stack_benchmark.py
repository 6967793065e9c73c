"""`make bench-local` runs benchmarks/local_stack.py; here it runs with one job, so it cannot rot
(start, a job to Completed, stop, restart, a job after the restart, nothing left running)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build.benchmark_runs import need_node_modules, run_benchmark


@pytest.mark.build
@pytest.mark.stack_benchmark
def test_the_local_stack_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    need_node_modules()
    output = tmp_path / "local.json"
    reply = run_benchmark("local_stack.py", "--jobs", "1", "--output", str(output))
    assert reply.returncode == 0, reply.stderr[-3000:]
    result = json.loads(output.read_text())
    assert result["survivors"] == []
    assert len(result["jobs"]) == 1
    assert set(result["jobs"][0]["history"]) >= {"Submitted", "InProgress", "Completed"}
    assert result["post_to_completed"]["max_s"] > 0
    assert result["job_after_restart"]["post_to_completed_s"] > 0
