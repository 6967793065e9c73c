"""Schedule events: rate expressions."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from local.runtime.event_sources.async_invoke import AsyncInvoker
from local.runtime.event_sources.polling import (
    Loop,
    LoopSource,
    now_iso,
)

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs for an EventBridge rate expression."""
    match = _RATE.fullmatch(expression.strip())
    if not match:
        raise ValueError(
            f"schedule {expression!r}: the local runtime runs rate(N minute|minutes|hour|hours|"
            "day|days) expressions; write the schedule as a rate for local mode"
        )
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value < 1 or (value == 1) != (not match.group(2).endswith("s")):
        raise ValueError(f"schedule {expression!r}: use 1 with a singular unit, N>1 with plural")
    return value * _UNIT_SECONDS[unit]


log = logging.getLogger(__name__)


class ScheduleSource(LoopSource):
    """A Schedule event: the scheduled event, every period, invoked asynchronously."""

    def __init__(
        self,
        invoker: AsyncInvoker,
        properties: Mapping[str, Any],
        *,
        rule_arn: str,
        region: str,
        account_id: str,
        period_s: float | None = None,
    ) -> None:
        self.invoker = invoker
        self.period_s = period_s or rate_seconds(str(properties["Schedule"]))
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self.input = properties.get("Input")
        self.rule_arn, self.region, self.account_id = rule_arn, region, account_id
        self._next = time.monotonic() + self.period_s
        self._loop = Loop(f"schedule-{rule_arn.rsplit('/', 1)[-1]}", self._tick)

    def event(self) -> dict[str, Any]:
        if self.input:
            return dict(json.loads(str(self.input)))
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": now_iso(),
            "region": self.region,
            "resources": [self.rule_arn],
            "detail": {},
        }

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    def _tick(self) -> float:
        now = time.monotonic()
        if now < self._next:
            return min(1.0, self._next - now)
        self._next += self.period_s
        # EventBridge invokes on every tick, and Lambda gives each invocation its own machine.
        # Here all share two cores: a tick that comes while the last one's invocation is still
        # queued or running is skipped, as scheduled functions sweep whatever is due anyway.
        # (Without this, ticks a second apart started a cold worker each, faster than any
        # finished its init on a busy machine.)
        if self.invoker.busy:
            log.debug("%s: tick skipped, the last one still runs", self.rule_arn)
            return 0.0
        self.invoker.submit(self.event())
        return 0.0
