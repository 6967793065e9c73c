"""When to try a failed delivery again: the Standard Webhooks schedule, with jitter, honouring a
receiver's Retry-After; and how the wait is carried (SQS delay up to 15 minutes, else the
delivery record's next attempt time, which retry_deliveries picks up when due)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Waits after attempt 1, 2, ...: the standard's example (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 24 h); so ten attempts in all, over about three days.
STANDARD_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.1  # ± 10 %, so a receiver that comes back is not hit by every retry at once
MAX_RETRY_AFTER_S = 86400


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def next_attempt(
    attempts_made: int,
    now: datetime,
    *,
    schedule: Sequence[float] = STANDARD_SCHEDULE_S,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When attempt `attempts_made + 1` is due, or None when the schedule is used up."""
    if attempts_made < 1:
        return now
    if attempts_made > len(schedule):
        return None
    wait = float(schedule[attempts_made - 1])
    wait *= 1 + (rng or random).uniform(-JITTER, JITTER)  # jitter, not secrecy
    if retry_after_s is not None:
        wait = max(wait, retry_after_s)
    return now + timedelta(seconds=wait)


def parse_schedule(text: str) -> tuple[float, ...]:
    """A schedule from a setting: seconds between attempts, comma separated ("5,300,1800")."""
    try:
        waits = tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a list of seconds like 5,300,1800") from None
    if not waits or any(wait < 0 for wait in waits):
        raise ValueError(f"{text!r} needs at least one wait, none negative")
    return waits
