"""`make bench-engine` runs benchmarks/engine_throughput.py; here it runs once, tiny, so it
cannot rot (s3rver from package.json, the echo model, the engine CLI, the ratios)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build.benchmark_runs import need_node_modules, run_benchmark


@pytest.mark.build
def test_the_engine_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    need_node_modules()
    output = tmp_path / "engine.json"
    reply = run_benchmark(
        "engine_throughput.py", "--sizes", "4MB,8MB", "--no-sdk", "--output", str(output)
    )
    assert reply.returncode == 0, reply.stderr[-3000:]
    result = json.loads(output.read_text())
    for size in ("4MB", "8MB"):
        steps = result["sizes"][size]["steps"]
        engine = steps["engine"]
        assert engine["verified"]["equal_size"] is True
        assert engine["progress"]["bytes_out"] == engine["progress"]["bytes_in"]
        # The copy run as its own process, skipping what the engine's process skips.
        assert steps["copy_process"]["seconds"] > 0
        assert "awscrt" in steps["copy_process"]["skipped_imports"]
    assert "### Targets" in reply.stdout
    assert "against the copy run as a process too" in reply.stdout
