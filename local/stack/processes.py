"""Child processes for the local stack: each in its own process group, logging to a file, and
stopped by signalling that group (SIGTERM, then SIGKILL) so nothing outlives `stop()`; and
tethered to the process that started it, so nothing outlives that process either, however it
ends (see tether.py)."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from shutil import which as find_program
from types import TracebackType
from typing import IO, Self

LOOPBACK = "127.0.0.1"
TETHER = Path(__file__).with_name("tether.py")


class ProcessExited(RuntimeError):
    """The process ended while we were waiting for it to become ready."""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member exists but is not ours to signal; it is still there
        return True
    return True


def tethered(
    argv: Sequence[str], signum: signal.Signals, search_path: str | None = None
) -> list[str]:
    """`argv`, run so that it gets `signum` when the thread that starts it ends (as every thread
    does when its process ends). A command that cannot be found fails here, not in the child."""
    if find_program(argv[0], path=search_path) is None:
        raise FileNotFoundError(errno.ENOENT, "no such program", argv[0])
    return [sys.executable, "-I", str(TETHER), signum.name, str(os.getpid()), *argv]


class ManagedProcess:
    """One server process: `start()` (or `with`), `wait_until(check)`, `stop()`.

    It gets `on_parent_death` (None: nothing) when the thread that started it ends, so start it
    from a thread that lives as long as the process should (the main thread, as the stack does).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        on_parent_death: signal.Signals | None = signal.SIGKILL,
    ) -> None:
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.on_parent_death = on_parent_death
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started (pid {self._popen.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        try:
            argv = self.argv
            if self.on_parent_death is not None:
                argv = tethered(argv, self.on_parent_death, self.env.get("PATH"))
            self._popen = subprocess.Popen(  # noqa: S603 (argv is built by our own code)
                argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals all of it
            )
        except BaseException:
            self._log.close()
            self._log = None
            raise
        return self

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, max_chars: int = 2000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-max_chars:]

    def wait_until(
        self, check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1
    ) -> None:
        """Call `check` until it returns True. Raises ProcessExited if the process ends first and
        TimeoutError after `timeout_s`; both carry the end of the log. Exceptions from `check`
        count as "not yet"."""
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not started")
        deadline = time.monotonic() + timeout_s
        while True:
            code = self._popen.poll()
            if code is not None:
                raise ProcessExited(
                    f"{self.name} exited with code {code} before it was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with contextlib.suppress(Exception):
                if check():
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.name} (pid {self._popen.pid}) not ready after {timeout_s:g}s; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(interval_s)

    def stop(self, timeout_s: float = 10) -> int | None:
        """SIGTERM the process group, wait up to `timeout_s`, then SIGKILL it. Returns the exit
        code (None if it was never started). Safe to call more than once."""
        popen = self._popen
        if popen is None:
            return None
        pgid = popen.pid  # start_new_session: the group id is the leader's pid
        try:
            if popen.poll() is None or _group_alive(pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGTERM)
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    popen.poll()  # reaps the leader once it exits
                    if popen.returncode is not None and not _group_alive(pgid):
                        break
                    time.sleep(0.05)
                else:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pgid, signal.SIGKILL)
                    popen.wait(timeout=5)
                    end = time.monotonic() + 5
                    while _group_alive(pgid) and time.monotonic() < end:
                        time.sleep(0.05)
            return popen.wait(timeout=5)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    # --- context manager -------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._popen is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "not started" if self._popen is None else f"pid {self._popen.pid}"
        return f"ManagedProcess({self.name!r}, {state})"
