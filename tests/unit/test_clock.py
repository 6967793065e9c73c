"""Times as the API and the table show them: text that sorts as the times do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from transform_jobs.clock import parse, to_iso


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 3, 16, 37, 7, 390_999, tzinfo=UTC), "2026-12-03T16:37:07.390Z"),
        (datetime(246, 8, 28, 6, 51, 51, 783_100, tzinfo=UTC), "0246-08-28T06:51:51.783Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))), "2025-12-31T23:00:00.000Z"),
    ],
)
def test_times_are_utc_milliseconds_with_a_four_digit_year(moment: datetime, text: str) -> None:
    assert to_iso(moment) == text
    assert parse(text) == moment.astimezone(UTC).replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


def test_the_text_sorts_as_the_times_do() -> None:
    times = [datetime(year, 6, 1, tzinfo=UTC) for year in (9, 246, 999, 1000, 2026, 9999)]
    assert sorted(map(to_iso, times)) == [to_iso(moment) for moment in times]
