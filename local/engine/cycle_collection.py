"""Python's cycle collector held off while the CLI starts, then back on for the rest of the job.

Starting a job makes a few hundred thousand objects that live as long as the process: the
imports, and botocore's S3 model and endpoint rules read from JSON. Every few hundred of them
set off a collection that walks the ones made before, none of which is garbage; that is about
a sixth of the half second a start costs. Held off until the job has listed its input (its S3
client made), and with what it made by then frozen (left out of every later collection), the
start takes about 0.06 s less. Objects are still freed by reference counting meanwhile; only
reference cycles wait, and the start makes few.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """No cycle collection until `resume()`: for a process's start, not for library code."""
    global _paused  # noqa: PLW0603 (one switch for the process, as gc's own state is)
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collection back on, with every object made so far frozen; nothing if `pause()` did not
    turn it off (a job run inside another program leaves that program's collector alone)."""
    global _paused  # noqa: PLW0603
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
