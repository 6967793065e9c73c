"""`make bench-csv` runs benchmarks/csv_sharding.py; here it runs once, tiny, so it cannot rot
(s3rver, a moto server with the template's table and queues, every step, the row counts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build.benchmark_runs import need_node_modules, run_benchmark


@pytest.mark.build
def test_the_csv_sharding_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    need_node_modules()
    output = tmp_path / "csv.json"
    reply = run_benchmark(
        "csv_sharding.py", "--sizes", "2MB", "--repeat", "2", "--output", str(output)
    )
    assert reply.returncode == 0, reply.stderr[-3000:]
    result = json.loads(output.read_text())["results"]["2MB"]
    steps = result["steps"]
    assert set(steps) == {"csv.reader", "prepare", "prepare-reorder", "s3-traffic", "reassemble"}
    # The floor moved what reassembly moves: the input, and outputs as large as its data rows.
    assert 1.9 * result["bytes"] < steps["s3-traffic"]["bytes_written"] < 2 * result["bytes"]
    assert steps["reassemble"]["vs_s3_traffic"] > 0
    assert "2MB: reassemble runs at" in reply.stdout
    assert steps["prepare"]["rows"] == steps["csv.reader"]["rows"] == result["rows"]
    assert steps["prepare"]["spans_lines"] is True  # the text column holds line breaks
    assert steps["reassemble"]["status"] == "Completed"
    assert result["rounds"] == 2 and all(len(step["all_seconds"]) == 2 for step in steps.values())
    assert round(steps["prepare"]["seconds"], 3) == min(steps["prepare"]["all_seconds"])
    assert "| 2MB | prepare |" in reply.stdout
