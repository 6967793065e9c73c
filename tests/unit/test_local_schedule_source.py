"""The local runtime's schedule ticks: one at a time per function, as a busy laptop needs."""

from __future__ import annotations

import time
from typing import Any

from local.runtime.event_sources.schedule import ScheduleSource


class Invoker:
    def __init__(self) -> None:
        self.busy = False
        self.events: list[Any] = []

    def submit(self, event: Any) -> None:
        self.events.append(event)


def test_a_tick_while_the_last_ones_invocation_runs_is_skipped() -> None:
    invoker = Invoker()
    source = ScheduleSource(
        invoker,  # type: ignore[arg-type]
        {"Schedule": "rate(1 minute)"},
        rule_arn="arn:aws:events:us-east-1:123456789012:rule/sweep",
        region="us-east-1",
        account_id="123456789012",
        period_s=0.01,
    )
    time.sleep(0.02)
    source._tick()
    assert len(invoker.events) == 1
    invoker.busy = True
    time.sleep(0.02)
    source._tick()
    assert len(invoker.events) == 1  # skipped: the last one still runs
    invoker.busy = False
    time.sleep(0.02)
    source._tick()
    assert len(invoker.events) == 2
    assert invoker.events[-1]["detail-type"] == "Scheduled Event"
