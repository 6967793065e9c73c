"""`make bench-engine` runs benchmarks/engine_throughput.py; here it runs once, tiny, so it
cannot rot (s3rver from package.json, the echo model, the engine CLI, the ratios)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.build
def test_the_engine_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed for s3rver")
    subprocess.run(["make", "node_modules/.installed"], cwd=ROOT, check=True)  # noqa: S607
    output = tmp_path / "engine.json"
    reply = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "benchmarks/engine_throughput.py"),
            "--sizes",
            "4MB,8MB",
            "--no-sdk",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert reply.returncode == 0, reply.stderr[-3000:]
    result = json.loads(output.read_text())
    for size in ("4MB", "8MB"):
        engine = result["sizes"][size]["steps"]["engine"]
        assert engine["verified"]["equal_size"] is True
        assert engine["progress"]["bytes_out"] == engine["progress"]["bytes_in"]
    assert "### Targets" in reply.stdout
