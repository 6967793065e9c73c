"""Python's cycle collector held off while the CLI starts, then back on for the rest of the job.

Starting a job makes a few hundred thousand objects that live as long as the process: the
imports, and botocore's S3 model and endpoint rules read from JSON. As they pile up they are
promoted to the older generations, and each collection of those walks every object that got
there, none of it garbage: about a sixth of the half second a start costs. Held off until the
job has listed its input (its S3 client made by then), and with what it made by then frozen
(left out of every later collection), the start takes about 0.06 s less.

Objects are still freed by reference counting meanwhile; only reference cycles wait, and the
ones a start leaves unreachable are frozen with the rest, never collected. There are few: 46
after the imports, the client and a listing. With --model-data the model's download comes
before the listing too; a 60 MB archive through moto left about 6,000 small ones, a bounded
cost paid once per process.
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
