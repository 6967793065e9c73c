"""What the benchmark scripts share: stopping cleanly on Ctrl-C or SIGTERM, machine facts."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path


class StopSignals:
    """Ctrl-C and SIGTERM unwind the stack, so `finally` stops children and removes files; while
    a child is being started they wait until its Popen exists and is on the books."""

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None

    def handler(self, signum: int, frame: object) -> None:
        if self.holding:
            self.pending = signum
        else:
            self.stop(signum)

    @staticmethod
    def stop(signum: int) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def release(self) -> None:
        self.holding = False
        signum, self.pending = self.pending, None
        if signum is not None:
            self.stop(signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. `cmd &` ignores SIGINT
                previous[signum] = signal.signal(signum, self.handler)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @staticmethod
    def ignore() -> None:
        """For the final clean-up: a second Ctrl-C must not cut it short."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, signal.SIG_IGN)


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model")):
                return line.split(":", 1)[1].strip()
    return None


def command_output(argv: list[str]) -> str | None:
    """A command's stdout, or None if it could not run or failed."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return done.stdout.strip()
    return None
