"""`python tether.py SIGNAL PARENT_PID COMMAND...`: becomes COMMAND (same pid, by exec), set to
receive SIGNAL when the thread that started it ends, however it ends.

The stack's servers run in their own sessions so that stopping one stops all it started; but a
session outlives its parent, so a stack killed with SIGKILL would leave DynamoDB Local, s3rver,
moto and the local SageMaker running, holding the data directory the next start opens. Linux
delivers a parent-death signal (prctl PR_SET_PDEATHSIG, kept across exec) to the process whichever
way its parent ends; elsewhere the command simply runs untethered.

Run as a script with the standard library only (`python -I tether.py`): it starts in a few
milliseconds and leaves nothing of itself in the command's process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
USAGE = "usage: tether.py SIGNAL PARENT_PID COMMAND [ARGUMENT...]"


def tie_to_parent(signum: int) -> bool:
    """Asks the kernel for `signum` when the parent ends; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)  # this process's own symbols, libc's among them
    return bool(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or not argv[1].isdigit():
        print(USAGE, file=sys.stderr)
        return 2
    signum, parent, command = signal.Signals[argv[0]], int(argv[1]), argv[2:]
    tie_to_parent(signum)
    # The parent may have ended before the tie was made: then no signal will ever come.
    if os.getppid() != parent:
        return 1
    os.execvp(command[0], command)  # noqa: S606 - the caller's own command line, no shell


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
