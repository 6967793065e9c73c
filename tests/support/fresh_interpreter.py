"""Python run in a fresh, isolated interpreter: for what only a new process shows (its imports,
its collector, its memory), with the repository root on its path as sys.argv[1]."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_fresh(code: str, *args: str) -> str:
    """`code`'s standard output; argv is the repository root, then `args`."""
    reply = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-I", "-c", code, str(ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return reply.stdout
