"""How long one invocation of a resumable step (preparation, reassembly) may work."""

from __future__ import annotations

import time

from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.settings import get_settings

# Left for the last shard or part in flight, the checkpoint and the next step's message.
SAFETY_MARGIN_S = 120.0


def deadline(context: LambdaContext) -> float:
    """A time.monotonic() after which the step checkpoints and continues in a new invocation."""
    remaining = context.get_remaining_time_in_millis() / 1000
    budget = max(remaining - SAFETY_MARGIN_S, remaining / 2)
    if get_settings().work_slice_seconds:
        budget = min(budget, get_settings().work_slice_seconds)
    return time.monotonic() + budget
