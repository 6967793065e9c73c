"""`make bench` runs benchmarks/cold_start.py; here it runs once, small, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.build
def test_the_cold_start_benchmark_measures_both_variants(tmp_path: Path) -> None:
    output = tmp_path / "cold_start.json"
    reply = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "benchmarks/cold_start.py"),
            "--runs",
            "1",
            "--warmup",
            "0",
            "--functions",
            "authorizer",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if reply.returncode != 0 and "python3.13" in reply.stderr and "not found" in reply.stderr:
        pytest.skip("no python3.13 on this machine")
    assert reply.returncode == 0, reply.stderr[-2000:]
    result = json.loads(output.read_text())["functions"]["authorizer"]
    assert result["error"] is None
    assert len(result["pyc"]["import_ms"]["samples"]) == 1
    assert len(result["no-pyc"]["import_ms"]["samples"]) == 1
    assert "| authorizer |" in reply.stdout
