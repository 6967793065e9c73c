"""The local stack as a child process, as a user or a script runs it: `python -m local.stack`
in its own process group, up once it has written its stack.json; stopped by SIGTERM to that
group (or killed by SIGKILL), with whatever outlived it reported (and killed). Used by the e2e
tests and the benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0


def _children() -> dict[int, int]:
    """pid → parent pid of every process (from /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = _children()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class StackProcess:
    """One `python -m local.stack` with its data under `data_dir`, on free ports (the API on
    `port`, when given)."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int = 0) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.log_path = data_dir.parent / f"{data_dir.name}-stack.log"
        self.started_in_s = 0.0

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def start(self) -> Self:
        env = {**os.environ, **self.env}
        env.pop("PORT", None)
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the project's own entry point
                [
                    sys.executable,
                    "-m",
                    "local.stack",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not (info := self._written_by(self.process.pid)):
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() - started > START_TIMEOUT_S:
                self.stop()
                raise TimeoutError(f"the stack was not up in {START_TIMEOUT_S:g} s:\n{self.log()}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - started
        self.info = info
        return self

    def _written_by(self, pid: int) -> dict[str, Any]:
        """stack.json once the stack `pid` has written it; a file left by an earlier stack
        (one that was killed), or one that does not parse, is not it."""
        try:
            info = json.loads(self.stack_file.read_text())
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) and info.get("pid") == pid else {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def family(self) -> set[int]:
        """The stack's process and every process it started, as of now."""
        if self.process is None:
            return set()
        return descendants(self.process.pid) | {self.process.pid}

    def kill(self, timeout_s: float = STOP_TIMEOUT_S) -> set[int]:
        """SIGKILL to the process group, as a crash or `kill -9` would end it: no clean-up runs.
        Returns what of its family is still running `timeout_s` later (and then kills that)."""
        if self.process is None:
            return set()
        family = self.family()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        deadline = time.monotonic() + timeout_s
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = {pid for pid in family if alive(pid)}
        for pid in survivors:  # never leave a process behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return survivors

    def stop(self) -> tuple[float, set[int]]:
        """SIGTERM to the process group; returns the seconds it took and what outlived it."""
        if self.process is None:
            return 0.0, set()
        family = self.family()
        started = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        deadline = started + STOP_TIMEOUT_S
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        took = time.monotonic() - started
        survivors = {pid for pid in family if alive(pid)}
        for pid in survivors:  # never leave a process behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
        return took, survivors
