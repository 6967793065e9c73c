"""Time in one format: UTC, millisecond precision, ISO 8601 with Z (sorts as text)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def now() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def to_iso(moment: datetime) -> str:
    # isoformat pads the year to four digits (strftime's %Y does not on Linux: year 246 gave
    # "246-...", which sorts after "2026-..." and broke the range of a listing).
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def from_epoch_millis(millis: float) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


# A datetime that the API and the table show as `2026-11-25T12:26:13.123Z` (a date-time in the
# OpenAPI document, so generated clients read it as a datetime).
UtcTime = Annotated[
    datetime,
    PlainSerializer(to_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def parse(text: str) -> datetime:
    """The inverse of to_iso (any ISO 8601 time with an offset or Z)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
