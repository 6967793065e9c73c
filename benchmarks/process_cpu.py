"""CPU seconds spent by each part of a running local stack (from /proc), to see where the time of
a measured window went: DynamoDB Local, moto, the runtime, each function's workers, ..."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from local.stack.launcher import descendants

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime
    return None


def _function_name(pid: int) -> str | None:
    """A Lambda worker's function, from the environment the runtime gave it."""
    with contextlib.suppress(OSError):
        for variable in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if variable.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
                return variable.split(b"=", 1)[1].decode()
    return None


def part_of(pid: int, root: int) -> str:
    """What a process of the stack is, in a word or two."""
    if pid == root:
        return "runtime (API Gateway, pollers)"
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "DynamoDBLocal" in command:
            return "DynamoDB Local"
        if "moto_server" in command:
            return "moto (SQS, EventBridge, KMS)"
        if "s3rver" in command:
            return "s3rver"
        if "sagemaker_service" in command:
            return "local SageMaker"
        if "lambda_worker" in command:
            name = _function_name(pid) or "unknown"
            return f"function {name.removeprefix('transform-jobs-')}"
    return "other"


class CpuWindow:
    """CPU seconds per part of the stack (and of this process) between start() and stop()."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.before: dict[int, float] = {}
        self.parts: dict[int, str] = {}

    def _sample(self) -> dict[int, float]:
        pids = descendants(self.root) | {self.root}
        seconds = {}
        for pid in pids:
            used = _cpu_seconds(pid)
            if used is not None:
                seconds[pid] = used
                if pid not in self.parts:
                    self.parts[pid] = part_of(pid, self.root)
        own = _cpu_seconds(os.getpid())
        if own is not None:
            seconds[os.getpid()] = own
            self.parts[os.getpid()] = "benchmark (clients, publisher)"
        return seconds

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds per part since start(), most first."""
        after = self._sample()
        by_part: dict[str, float] = {}
        for pid, used in after.items():
            part = self.parts[pid]
            by_part[part] = by_part.get(part, 0.0) + used - self.before.get(pid, 0.0)
        ordered = dict(sorted(by_part.items(), key=lambda item: -item[1]))
        return {name: round(seconds, 2) for name, seconds in ordered.items() if seconds >= 0.01}
