"""EventBridge Scheduler's rate and cron expressions, evaluated in a time zone."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.schedules.expressions import (
    MAX_EXPRESSION_LENGTH,
    InvalidSchedule,
    Recurrence,
    parse,
)

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def times(
    recurrence: Recurrence, after: datetime, count: int, anchor: datetime | None = None
) -> list[datetime]:
    found: list[datetime] = []
    moment: datetime | None = after
    while moment is not None and len(found) < count:
        moment = recurrence.next_after(moment, anchor=anchor or after)
        if moment is not None:
            found.append(moment)
    return found


def local_days(recurrence: Recurrence, after: datetime, count: int) -> list[int]:
    return [moment.day for moment in times(recurrence, after, count)]


# --- cron: hand-worked times ------------------------------------------------------------------


def test_every_15_minutes_starts_at_the_next_quarter_hour() -> None:
    every_15 = parse("cron(0/15 * * * ? *)")
    assert times(every_15, utc(2026, 3, 1, 10, 7, 30), 4) == [
        utc(2026, 3, 1, 10, 15),
        utc(2026, 3, 1, 10, 30),
        utc(2026, 3, 1, 10, 45),
        utc(2026, 3, 1, 11, 0),
    ]


def test_a_time_exactly_on_the_schedule_is_not_after_itself() -> None:
    every_15 = parse("cron(*/15 * * * ? *)")
    assert every_15.next_after(utc(2026, 3, 1, 10, 15), anchor=utc(2026, 1, 1)) == utc(
        2026, 3, 1, 10, 30
    )


def test_weekdays_at_0230_in_berlin_follow_its_clock_through_summer_time() -> None:
    weekdays = parse("cron(30 2 ? * MON-FRI *)", BERLIN)
    # Friday 6 March 02:30 CET (UTC+1) is 01:30 UTC; the next run is Monday.
    assert weekdays.next_after(utc(2026, 3, 6, 1, 30), anchor=utc(2026, 1, 1)) == utc(
        2026, 3, 9, 1, 30
    )
    # After the switch on Sunday 29 March, 02:30 CEST (UTC+2) is 00:30 UTC.
    assert weekdays.next_after(utc(2026, 3, 27, 1, 30), anchor=utc(2026, 1, 1)) == utc(
        2026, 3, 30, 0, 30
    )


def test_fields_are_separated_by_spaces() -> None:
    assert parse("cron( 0  2 * * ?  * )").next_after(
        utc(2026, 1, 1), anchor=utc(2026, 1, 1)
    ) == utc(2026, 1, 1, 2)


def test_names_are_case_insensitive() -> None:
    lower = parse("cron(0 12 ? jan-mar mon,Fri *)")
    upper = parse("cron(0 12 ? 1-3 2,6 *)")
    start = utc(2026, 1, 1)
    assert times(lower, start, 20) == times(upper, start, 20)


def test_last_day_of_month() -> None:
    last_day = parse("cron(0 0 L * ? *)")
    assert times(last_day, utc(2026, 1, 31), 3) == [
        utc(2026, 2, 28),
        utc(2026, 3, 31),
        utc(2026, 4, 30),
    ]
    assert last_day.next_after(utc(2028, 2, 1), anchor=utc(2028, 1, 1)) == utc(2028, 2, 29)


def test_last_weekday_of_month() -> None:
    # 31 January 2026 is a Saturday, 28 February a Saturday, 31 March a Tuesday.
    assert local_days(parse("cron(0 0 LW * ? *)"), utc(2026, 1, 1), 3) == [30, 27, 31]


def test_first_monday_of_month() -> None:
    first_monday = parse("cron(0 9 ? * 2#1 *)")
    assert times(first_monday, utc(2026, 3, 1), 3) == [
        utc(2026, 3, 2, 9),
        utc(2026, 4, 6, 9),
        utc(2026, 5, 4, 9),
    ]


def test_last_friday_of_month() -> None:
    assert local_days(parse("cron(0 9 ? * 6L *)"), utc(2026, 3, 1), 3) == [27, 24, 29]
    assert local_days(parse("cron(0 9 ? * FRIL *)"), utc(2026, 3, 1), 1) == [27]


def test_l_alone_in_day_of_week_is_every_saturday() -> None:
    assert local_days(parse("cron(0 9 ? * L *)"), utc(2026, 3, 1), 3) == [7, 14, 21]


def test_fifth_monday_skips_months_without_one() -> None:
    fifth_monday = parse("cron(0 0 ? * 2#5 *)")
    assert [m.date() for m in times(fifth_monday, utc(2026, 3, 1), 3)] == [
        date(2026, 3, 30),
        date(2026, 6, 29),
        date(2026, 8, 31),
    ]


@pytest.mark.parametrize(
    ("expression", "after", "day"),
    [
        # 15 March 2026 is a Sunday: Monday the 16th.
        ("cron(0 12 15W * ? *)", utc(2026, 3, 1), date(2026, 3, 16)),
        # 15 August 2026 is a Saturday: Friday the 14th.
        ("cron(0 12 15W * ? *)", utc(2026, 8, 1), date(2026, 8, 14)),
        # 15 April 2026 is a Wednesday: that day.
        ("cron(0 12 15W * ? *)", utc(2026, 4, 1), date(2026, 4, 15)),
        # 1 August 2026 is a Saturday: not back into July, but on to Monday the 3rd.
        ("cron(0 12 1W * ? *)", utc(2026, 7, 31), date(2026, 8, 3)),
        # 31 May 2026 is a Sunday: not on into June, but back to Friday the 29th.
        ("cron(0 12 31W * ? *)", utc(2026, 5, 1), date(2026, 5, 29)),
        # April has no 31st, so 31W skips it.
        ("cron(0 12 31W * ? *)", utc(2026, 4, 1), date(2026, 5, 29)),
        # 30 November 2026 is a Monday.
        ("cron(0 12 30W * ? *)", utc(2026, 11, 1), date(2026, 11, 30)),
    ],
)
def test_nearest_weekday(expression: str, after: datetime, day: date) -> None:
    found = parse(expression).next_after(after, anchor=after)
    assert found == datetime.combine(day, datetime.min.time(), UTC).replace(hour=12)


def test_february_29th_runs_only_in_leap_years() -> None:
    leap_day = parse("cron(0 0 29 2 ? *)")
    assert times(leap_day, utc(2026, 1, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


def test_day_31_skips_shorter_months() -> None:
    assert [m.month for m in times(parse("cron(0 0 31 * ? *)"), utc(2026, 1, 1), 4)] == [
        1,
        3,
        5,
        7,
    ]


def test_ranges_lists_and_steps() -> None:
    recurrence = parse("cron(10-50/20 8,17 ? * MON-FRI 2026)")
    assert times(recurrence, utc(2026, 3, 2), 7) == [
        utc(2026, 3, 2, 8, 10),
        utc(2026, 3, 2, 8, 30),
        utc(2026, 3, 2, 8, 50),
        utc(2026, 3, 2, 17, 10),
        utc(2026, 3, 2, 17, 30),
        utc(2026, 3, 2, 17, 50),
        utc(2026, 3, 3, 8, 10),
    ]


def test_a_start_with_a_step_runs_to_the_end_of_the_field() -> None:
    assert [m.hour for m in times(parse("cron(0 5/6 * * ? *)"), utc(2026, 3, 1), 4)] == [
        5,
        11,
        17,
        23,
    ]


def test_the_last_year_ends_the_schedule() -> None:
    last = parse("cron(0 0 1 1 ? 2199)")
    assert last.next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1)) == utc(2199, 1, 1)
    assert last.next_after(utc(2199, 1, 1), anchor=utc(2026, 1, 1)) is None
    assert (
        parse("cron(0 0 1 1 ? 1970-2025)").next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1))
        is None
    )
    assert times(parse("cron(0 0 1 1 ? 2027,2030)"), utc(2026, 1, 1), 3) == [
        utc(2027, 1, 1),
        utc(2030, 1, 1),
    ]
    every_minute = parse("cron(* * * * ? *)")
    assert every_minute.next_after(utc(2199, 12, 31, 23, 58), anchor=utc(2026, 1, 1)) == utc(
        2199, 12, 31, 23, 59
    )
    assert every_minute.next_after(utc(2199, 12, 31, 23, 59), anchor=utc(2026, 1, 1)) is None
    assert every_minute.next_after(utc(2300, 1, 1), anchor=utc(2026, 1, 1)) is None


def test_a_cron_never_runs_before_its_anchor() -> None:
    hourly = parse("cron(0 * * * ? *)")
    assert hourly.next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1, 5, 0, 30)) == utc(
        2026, 1, 1, 6
    )
    assert hourly.next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 5)


def test_results_are_utc_on_the_minute() -> None:
    found = parse("cron(30 9 * * ? *)", "Asia/Kolkata").next_after(
        datetime(2026, 1, 1, 12, 0, 7, 123, tzinfo=ZoneInfo(BERLIN)), anchor=utc(2026, 1, 1)
    )
    assert found == utc(2026, 1, 2, 4)
    assert found is not None
    assert found.tzinfo is UTC
    assert found.microsecond == 0


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse("rate(1 hour)").next_after(datetime(2026, 1, 1), anchor=utc(2026, 1, 1))


# --- daylight saving --------------------------------------------------------------------------


def test_a_local_time_skipped_in_spring_does_not_run_that_day() -> None:
    # New York springs forward at 02:00 on Sunday 8 March 2026: 02:30 does not exist.
    nightly = parse("cron(30 2 * * ? *)", NEW_YORK)
    assert times(nightly, utc(2026, 3, 7, 12), 2) == [
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT (UTC-4)
        utc(2026, 3, 10, 6, 30),
    ]
    assert parse("cron(30 2 * * ? *)", BERLIN).next_after(
        utc(2026, 3, 28, 1, 30), anchor=utc(2026, 1, 1)
    ) == utc(2026, 3, 30, 0, 30)


def test_a_local_time_repeated_in_autumn_runs_once_at_its_first_occurrence() -> None:
    # New York falls back at 02:00 EDT on Sunday 1 November 2026: 01:30 happens twice.
    nightly = parse("cron(30 1 * * ? *)", NEW_YORK)
    assert times(nightly, utc(2026, 10, 31, 12), 2) == [
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT (UTC-4), not 01:30 EST an hour later
        utc(2026, 11, 2, 6, 30),  # 01:30 EST (UTC-5)
    ]
    # From inside the second 01:00-02:00, the repeated times have run already.
    assert nightly.next_after(utc(2026, 11, 1, 6, 0), anchor=utc(2026, 1, 1)) == utc(
        2026, 11, 2, 6, 30
    )
    # Berlin falls back at 03:00 CEST on Sunday 25 October 2026: 02:30 happens twice.
    assert times(parse("cron(30 2 * * ? *)", BERLIN), utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


def test_every_15_minutes_pauses_through_the_repeated_hour() -> None:
    every_15 = parse("cron(0/15 * * * ? *)", NEW_YORK)
    # 01:45 EDT is 05:45 UTC; 01:00-01:45 EST repeat it, so the next run is 02:00 EST.
    assert every_15.next_after(utc(2026, 11, 1, 5, 45), anchor=utc(2026, 1, 1)) == utc(
        2026, 11, 1, 7
    )
    assert every_15.shortest_gap(anchor=utc(2026, 10, 31)) == timedelta(minutes=15)


def test_every_15_minutes_jumps_the_skipped_hour() -> None:
    every_15 = parse("cron(0/15 * * * ? *)", NEW_YORK)
    # 01:45 EST is 06:45 UTC; the clock then reads 03:00 EDT, 07:00 UTC.
    assert every_15.next_after(utc(2026, 3, 8, 6, 45), anchor=utc(2026, 1, 1)) == utc(2026, 3, 8, 7)


def test_half_hour_daylight_saving_in_lord_howe() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30 on 4 October 2026.
    recurrence = parse("cron(15 2 * * ? *)", "Australia/Lord_Howe")
    found = times(recurrence, utc(2026, 10, 2, 12), 2)
    zone = ZoneInfo("Australia/Lord_Howe")
    assert [moment.astimezone(zone).date() for moment in found] == [
        date(2026, 10, 3),
        date(2026, 10, 5),
    ]


# --- rate -------------------------------------------------------------------------------------


def test_rate_counts_from_its_anchor() -> None:
    every_5 = parse("rate(5 minutes)")
    start_at = utc(2026, 1, 1, 0, 2, 30)
    assert every_5.next_after(utc(2026, 1, 1, 0, 10), anchor=start_at) == utc(2026, 1, 1, 0, 12, 30)
    assert every_5.next_after(utc(2026, 1, 1, 0, 12, 30), anchor=start_at) == utc(
        2026, 1, 1, 0, 17, 30
    )


def test_rate_runs_first_at_its_anchor() -> None:
    start_at = utc(2026, 6, 1, 9)
    assert parse("rate(1 day)").next_after(utc(2026, 1, 1), anchor=start_at) == start_at
    assert parse("rate(1 day)").next_after(start_at, anchor=start_at) == utc(2026, 6, 2, 9)


def test_rate_drops_the_anchors_fraction_of_a_second() -> None:
    anchor = datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)
    assert parse("rate(1 hour)").next_after(anchor, anchor=anchor) == utc(2026, 1, 1, 1)


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(1 minutes)", timedelta(minutes=1)),
        ("rate(5 minute)", timedelta(minutes=5)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(7 days)", timedelta(days=7)),
        ("rate(1000000 days)", timedelta(days=1_000_000)),
    ],
)
def test_rate_interval(expression: str, interval: timedelta) -> None:
    assert parse(expression).shortest_gap(anchor=utc(2026, 1, 1)) == interval


def test_rate_days_are_24_hours_whatever_the_zone_does() -> None:
    daily = parse("rate(1 day)", NEW_YORK)
    anchor = utc(2026, 3, 7, 12)
    assert daily.next_after(anchor, anchor=anchor) == utc(2026, 3, 8, 12)


def test_minute_seconds_speeds_rates_up_for_local_tests() -> None:
    fast = parse("rate(5 minutes)", minute_seconds=1)
    anchor = utc(2026, 1, 1)
    assert fast.shortest_gap(anchor=anchor) == timedelta(seconds=5)
    assert fast.next_after(utc(2026, 1, 1, 0, 0, 7), anchor=anchor) == utc(2026, 1, 1, 0, 0, 10)
    assert parse("rate(1 minute)", minute_seconds=0.01).shortest_gap(anchor=anchor) == timedelta(
        seconds=1
    )
    # Cron keeps real minutes.
    assert parse("cron(0/5 * * * ? *)", minute_seconds=1).shortest_gap(anchor=anchor) == timedelta(
        minutes=5
    )


@pytest.mark.parametrize("minute_seconds", [0, -1, float("nan"), float("inf")])
def test_minute_seconds_must_be_a_positive_duration(minute_seconds: float) -> None:
    with pytest.raises(ValueError, match="minute_seconds"):
        parse("rate(5 minutes)", minute_seconds=minute_seconds)


def test_rate_past_the_end_of_the_calendar_has_no_next_time() -> None:
    anchor = utc(2026, 1, 1)
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert parse("rate(1000000 days)").next_after(far, anchor=anchor) is None


# --- shortest gap -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "timezone", "gap"),
    [
        ("cron(* * * * ? *)", "UTC", timedelta(minutes=1)),
        ("cron(0/15 * * * ? *)", "UTC", timedelta(minutes=15)),
        ("cron(0 8,9 * * ? *)", "UTC", timedelta(hours=1)),
        ("cron(0 0 L * ? *)", "UTC", timedelta(days=28)),
        ("cron(0 12 ? * MON-FRI *)", "UTC", timedelta(days=1)),
        # The spring-forward day is 23 hours long.
        ("cron(30 1 * * ? *)", NEW_YORK, timedelta(hours=23)),
        # A single run, and none at all.
        ("cron(0 0 1 1 ? 2026)", "UTC", timedelta.max),
        ("cron(0 0 31 2 ? *)", "UTC", timedelta.max),
        # 29 February 2028 is beyond 366 days of the anchor.
        ("cron(0 0 29 2 ? *)", "UTC", timedelta.max),
    ],
)
def test_shortest_gap(expression: str, timezone: str, gap: timedelta) -> None:
    assert parse(expression, timezone).shortest_gap(anchor=utc(2026, 1, 1)) == gap


def test_shortest_gap_sees_a_near_pair_across_the_skipped_hour() -> None:
    recurrence = parse("cron(0,59 1-3 8 3 ? 2026)", NEW_YORK)
    # 01:00 and 01:59 EST, 02:00 and 02:59 skipped, 03:00 and 03:59 EDT: 01:59 EST and 03:00 EDT
    # are a minute apart.
    assert recurrence.shortest_gap(anchor=utc(2026, 1, 1)) == timedelta(minutes=1)


def test_shortest_gap_looks_366_days_ahead() -> None:
    # Two hours apart, except on the spring-forward day: 01:30 EST and 03:30 EDT are one hour.
    twice_a_night = parse("cron(30 1,3 * * ? *)", NEW_YORK)
    # From 14 March 2026, 14 March 2027 is within 366 days; from 9 March 2026 it is not.
    assert twice_a_night.shortest_gap(anchor=utc(2026, 3, 14)) == timedelta(hours=1)
    assert twice_a_night.shortest_gap(anchor=utc(2026, 3, 9)) == timedelta(hours=2)


def test_shortest_gap_looks_at_1000_times() -> None:
    four_a_night = parse("cron(30 1,3,5,7 * * ? *)", NEW_YORK)
    # 14 March 2027 is within 366 days of 14 March 2026 but some 1,460 times later.
    assert four_a_night.shortest_gap(anchor=utc(2026, 3, 14)) == timedelta(hours=2)
    assert four_a_night.shortest_gap(anchor=utc(2026, 12, 1)) == timedelta(hours=1)
    started = time.perf_counter()
    assert parse("cron(* * * * ? *)").shortest_gap(anchor=utc(2026, 1, 1)) == timedelta(minutes=1)
    assert time.perf_counter() - started < 0.5


# --- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_EXPRESSION_LENGTH + 1), "at most 256"),
        ("every day", "neither rate(value unit) nor cron("),
        ("rate 5 minutes", "neither"),
        ("Rate(5 minutes)", "neither"),
        ("cron(0 2 * * ? *", "neither"),
        (" rate(5 minutes)", "neither"),
        ("at(2026-01-01T00:00:00)", "One-time at(...) schedules are not supported"),
        ("rate()", "must be rate(value unit)"),
        ("rate(5)", "must be rate(value unit)"),
        ("rate(5  minutes)", "must be rate(value unit)"),
        ("rate(5 minutes extra)", "must be rate(value unit)"),
        ("rate(0 minutes)", "from 1 to 1,000,000"),
        ("rate(-5 minutes)", "from 1 to 1,000,000"),
        ("rate(1.5 hours)", "from 1 to 1,000,000"),
        ("rate(1000001 days)", "from 1 to 1,000,000"),
        ("rate(99999999999999999999 days)", "from 1 to 1,000,000"),
        ("rate(\u0665 minutes)", "from 1 to 1,000,000"),
        ("rate(five minutes)", "from 1 to 1,000,000"),
        ("rate(30 seconds)", "must be one of minute, minutes, hour, hours, day, days"),
        ("rate(1 week)", "must be one of minute, minutes, hour, hours, day, days"),
        ("rate(5 Minutes)", "must be one of"),
        ("cron()", "has 0 fields; it needs 6"),
        ("cron(0 2 * * ?)", "has 5 fields; it needs 6"),
        ("cron(0 2 * * ? * *)", "has 7 fields"),
        ("cron(60 2 * * ? *)", "minutes field has '60': 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours field has '24': 24 is outside 0-23"),
        ("cron(0 2 0 * ? *)", "day-of-month field has '0': 0 is outside 1-31"),
        ("cron(0 2 32 * ? *)", "day-of-month field has '32'"),
        ("cron(0 2 * 13 ? *)", "month field has '13': 13 is outside 1-12"),
        ("cron(0 2 * JANUARY ? *)", "month field has 'JANUARY': it is not a number 1-12 or a name"),
        ("cron(0 2 ? * 8 *)", "day-of-week field has '8': 8 is outside 1-7"),
        ("cron(0 2 ? * 0 *)", "day-of-week field has '0'"),
        ("cron(0 2 ? * MONDAY *)", "day-of-week field has 'MONDAY'"),
        ("cron(0 2 * * ? 1969)", "year field has '1969': 1969 is outside 1970-2199"),
        ("cron(0 2 * * ? 2200)", "year field has '2200'"),
        ("cron(0 2 * * * *)", "both have a value; exactly one must be '?'"),
        ("cron(0 2 1 * MON *)", "both have a value"),
        ("cron(0 2 ? * ? *)", "both '?'"),
        ("cron(? 2 * * ? *)", "minutes field has '?': it is not a number 0-59"),
        ("cron(0 ? * * ? *)", "hours field has '?'"),
        ("cron(0 2 * ? ? *)", "month field has '?'"),
        ("cron(0 2 * * ? ?)", "year field has '?'"),
        ("cron(0 2 L * ? ?)", "year field has '?'"),
        ("cron(5-1 * * * ? *)", "the range starts at 5, after its end 1"),
        ("cron(0 2 ? * FRI-MON *)", "the range starts at 6, after its end 2"),
        ("cron(0/0 * * * ? *)", "the step after '/' must be a whole number from 1 to 60"),
        ("cron(0/61 * * * ? *)", "from 1 to 60"),
        ("cron(0/x * * * ? *)", "the step after '/'"),
        ("cron(*/ * * * ? *)", "the step after '/'"),
        ("cron(1,,2 * * * ? *)", "a list has an empty item"),
        ("cron(1, * * * ? *)", "a list has an empty item"),
        ("cron(1-2-3 * * * ? *)", "minutes field has '2-3'"),
        ("cron(-1 * * * ? *)", "minutes field has ''"),
        ("cron(0 2 ? * 2/2 *)", "'/' is not allowed here"),
        ("cron(0 2 ? * 2#6 *)", "the number after '#' must be 1 to 5"),
        ("cron(0 2 ? * 2#0 *)", "the number after '#' must be 1 to 5"),
        ("cron(0 2 ? * 8#1 *)", "day-of-week field has '8'"),
        ("cron(0 2 ? * 2#1,3#2 *)", "'2#1,3#2': L (as in 6L) and # (as in 2#1) must stand alone"),
        ("cron(0 2 ? * 6L,2 *)", "must stand alone"),
        ("cron(0 2 ? * 8L *)", "day-of-week field has '8'"),
        ("cron(0 2 L,15 * ? *)", "L, LW and W (as in 15W) must stand alone"),
        ("cron(0 2 L-2 * ? *)", "must stand alone"),
        ("cron(0 2 1-5W * ? *)", "must stand alone"),
        ("cron(0 2 32W * ? *)", "day-of-month field has '32': 32 is outside 1-31"),
        ("cron(0 2 0W * ? *)", "day-of-month field has '0'"),
        ("cron(0 2 W * ? *)", "must stand alone"),
        ("cron(0 2 15 * L *)", "both have a value"),
        ("cron(0 2 * * ? 99999)", "year field has '99999'"),
        ("cron(0 2 * * ? *)\n", "neither"),
        ("cron(0 2 ? * \u017fat *)", "may hold only ASCII"),
        ("cron(0\u20032 * * ? *)", "may hold only ASCII"),
        ("cron(0\t2 * * ? *)", "has 5 fields"),
    ],
)
def test_malformed_expressions_are_refused_with_a_sentence(expression: str, message: str) -> None:
    with pytest.raises(InvalidSchedule) as refused:
        parse(expression)
    assert message in str(refused.value)
    assert refused.value.field == "ScheduleExpression"
    assert isinstance(refused.value, ValueError)
    assert_one_sentence(str(refused.value))


@pytest.mark.parametrize(
    "timezone",
    [
        "",
        "Mars/Olympus_Mons",
        "../etc/passwd",
        "Europe/../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "/etc/localtime",
        "Europe/",
        "Europe",
        "America",
        "UTC ",
        " UTC",
        "Europe/Berlin\x00",
        "Europe//Berlin",
        "a" * 51,
        "Europe/" + "B" * 10_000,
        "leapseconds",
        "tzdata.zi",
        "zone1970.tab",
        "Europe\\Berlin",
        "C:\\Windows",
        "~",
        "UTC+2",
    ],
)
def test_unknown_time_zones_are_refused(timezone: str) -> None:
    with pytest.raises(InvalidSchedule) as refused:
        parse("rate(1 hour)", timezone)
    assert refused.value.field == "Timezone"
    assert "Timezone" in str(refused.value)
    assert_one_sentence(str(refused.value))


@pytest.mark.parametrize(
    "timezone",
    [
        "UTC",
        "Europe/Berlin",
        NEW_YORK,
        "Asia/Kolkata",
        "Etc/GMT+5",
        "America/Argentina/Buenos_Aires",
    ],
)
def test_iana_time_zones_are_accepted(timezone: str) -> None:
    assert parse("cron(0 2 * * ? *)", timezone).timezone == timezone


def test_the_recurrence_keeps_what_it_was_given() -> None:
    recurrence = parse("cron(0 2 * * ? *)", BERLIN)
    assert (recurrence.expression, recurrence.timezone) == ("cron(0 2 * * ? *)", BERLIN)
    assert recurrence == parse("cron(0 2 * * ? *)", BERLIN)


def test_long_input_is_cut_short_in_messages() -> None:
    with pytest.raises(InvalidSchedule) as refused:
        parse("rate(" + "9" * 200 + " days)")
    assert len(str(refused.value)) < 200


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert message[0].isupper()


# --- speed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0/15 * * * ? *)",
        "cron(30 2 ? * MON-FRI *)",
        "cron(0 0 L * ? *)",
        "cron(0 9 ? * 2#1 *)",
    ],
)
def test_typical_expressions_take_well_under_a_millisecond(expression: str) -> None:
    recurrence = parse(expression, BERLIN)
    moment = utc(2026, 1, 1)
    started = time.perf_counter()
    for _ in range(200):
        found = recurrence.next_after(moment, anchor=utc(2026, 1, 1))
        assert found is not None
        moment = found
    assert (time.perf_counter() - started) / 200 < 0.001


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 29 2 ? *)",
        "cron(0 0 ? * 2#5 *)",
        "cron(0 0 1 1 ? 2199)",
        "cron(0 0 31 2 ? *)",  # never
        "cron(0 0 30 2 ? *)",  # never
        "cron(30 2 ? 3 1#2 *)",  # only New York's skipped hour: never
        "cron(59 23 31 12 ? 2199)",
    ],
)
def test_rare_expressions_stay_fast(expression: str) -> None:
    recurrence = parse(expression, NEW_YORK)
    started = time.perf_counter()
    recurrence.next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1))
    assert time.perf_counter() - started < 0.05


# --- properties against a minute-by-minute reference ------------------------------------------

ZONES = ["UTC", NEW_YORK, BERLIN, "Australia/Lord_Howe", "Asia/Kathmandu"]
# Near each zone's clock changes in 2026, and one quiet day.
AROUND = [
    utc(2026, 3, 8, 7),
    utc(2026, 11, 1, 6),
    utc(2026, 3, 29, 1),
    utc(2026, 10, 25, 1),
    utc(2026, 4, 4, 15),
    utc(2026, 10, 3, 15),
    utc(2026, 6, 15, 12),
]
HORIZON = timedelta(days=1)

DateTest = Callable[[date], bool]


@dataclass(frozen=True)
class Generated:
    """A cron expression and, built alongside it, plain predicates for what it selects."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day: DateTest

    def matches(self, wall: datetime) -> bool:
        return (
            wall.minute in self.minutes
            and wall.hour in self.hours
            and wall.month in self.months
            and wall.year in self.years
            and self.day(wall.date())
        )


@st.composite
def field_items(
    draw: st.DrawFn, low: int, high: int, *, steps: bool = True
) -> tuple[str, set[int]]:
    kind = draw(
        st.sampled_from(
            ["*", "value", "range", "*/step", "value/step", "range/step"]
            if steps
            else ["*", "value", "range"]
        )
    )
    first = draw(st.integers(low, high))
    last = draw(st.integers(first, high))
    step = draw(st.integers(1, high - low + 1))
    match kind:
        case "*":
            return "*", set(range(low, high + 1))
        case "value":
            return str(first), {first}
        case "range":
            return f"{first}-{last}", set(range(first, last + 1))
        case "*/step":
            return f"*/{step}", set(range(low, high + 1, step))
        case "value/step":
            return f"{first}/{step}", set(range(first, high + 1, step))
        case _:
            return f"{first}-{last}/{step}", set(range(first, last + 1, step))


@st.composite
def field_lists(
    draw: st.DrawFn, low: int, high: int, *, steps: bool = True
) -> tuple[str, frozenset[int]]:
    items = draw(st.lists(field_items(low, high, steps=steps), min_size=1, max_size=3))
    return ",".join(text for text, _ in items), frozenset().union(*(values for _, values in items))


def cron_weekday(day: date) -> int:
    return day.isoweekday() % 7 + 1


def month_days(day: date) -> tuple[date, ...]:
    return _month_days(day.year, day.month)


@cache
def _month_days(year: int, month: int) -> tuple[date, ...]:
    length = calendar.monthrange(year, month)[1]
    return tuple(date(year, month, number) for number in range(1, length + 1))


def nearest_weekday(target: int) -> DateTest:
    def test(day: date) -> bool:
        candidates = [d for d in month_days(day) if d.isoweekday() <= 5]
        if target > len(month_days(day)):
            return False
        return day == min(candidates, key=lambda d: abs(d.day - target))

    return test


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, DateTest]:
    kind = draw(st.sampled_from(["dom", "L", "LW", "W", "dow", "nL", "#"]))
    weekday = draw(st.integers(1, 7))
    match kind:
        case "dom":
            text, values = draw(field_lists(1, 31))
            return text, "?", lambda d: d.day in values
        case "L":
            return "L", "?", lambda d: d == month_days(d)[-1]
        case "LW":
            return "LW", "?", lambda d: d == [x for x in month_days(d) if x.isoweekday() <= 5][-1]
        case "W":
            target = draw(st.integers(1, 31))
            return f"{target}W", "?", nearest_weekday(target)
        case "dow":
            text, values = draw(field_lists(1, 7, steps=False))
            return "?", text, lambda d: cron_weekday(d) in values
        case "nL":
            return (
                "?",
                f"{weekday}L",
                lambda d: cron_weekday(d) == weekday and d.day + 7 > len(month_days(d)),
            )
        case _:
            nth = draw(st.integers(1, 5))
            return (
                "?",
                f"{weekday}#{nth}",
                lambda d: cron_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth,
            )


def mostly_every(low: int, high: int) -> st.SearchStrategy[tuple[str, frozenset[int]]]:
    every = st.just(("*", frozenset(range(low, high + 1))))
    return st.one_of(every, every, field_lists(low, high))


def every_day(day: date) -> bool:
    return True


@st.composite
def generated_crons(draw: st.DrawFn) -> Generated:
    # Biased towards `*` so that most expressions run within the reference's horizon.
    minutes_text, minutes = draw(mostly_every(0, 59))
    hours_text, hours = draw(mostly_every(0, 23))
    day_of_month, day_of_week, day = draw(
        st.one_of(
            st.just(("*", "?", every_day)),
            st.just(("?", "*", every_day)),
            day_fields(),
            day_fields(),
        )
    )
    months_text, months = draw(mostly_every(1, 12))
    years_text, years = draw(
        st.sampled_from(
            [
                ("*", frozenset(range(1970, 2200))),
                ("*", frozenset(range(1970, 2200))),
                ("2026", frozenset({2026})),
                ("2025,2027-2030", frozenset({2025, 2027, 2028, 2029, 2030})),
            ]
        )
    )
    text = (
        f"cron({minutes_text} {hours_text} {day_of_month} {months_text} {day_of_week} {years_text})"
    )
    return Generated(text, minutes, hours, months, years, day)


def reference_next(
    generated: Generated, zone: ZoneInfo, after: datetime, end: datetime
) -> datetime | None:
    """Minute by minute in UTC: the first instant whose wall time matches, first occurrence only."""
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= end:
        wall = moment.astimezone(zone)
        if wall.fold == 0 and generated.matches(wall.replace(tzinfo=None)):
            return moment
        moment += timedelta(minutes=1)
    return None


instants = st.builds(
    lambda base, minutes, seconds: base + timedelta(minutes=minutes, seconds=seconds),
    st.sampled_from(AROUND),
    st.integers(-1440, 1440),
    st.sampled_from([0, 0, 30]),
)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=generated_crons(), timezone=st.sampled_from(ZONES), after=instants)
def test_cron_agrees_with_a_minute_by_minute_reference(
    generated: Generated, timezone: str, after: datetime
) -> None:
    recurrence = parse(generated.text, timezone)
    zone = ZoneInfo(timezone)
    end = after + HORIZON
    expected = reference_next(generated, zone, after, end)
    found = recurrence.next_after(after, anchor=utc(2020, 1, 1))
    if expected is not None:
        assert found == expected
    else:
        assert found is None or found > end


@settings(max_examples=examples(40), deadline=None)
@given(generated=generated_crons(), timezone=st.sampled_from(ZONES), after=instants)
def test_cron_times_increase_and_match_their_fields(
    generated: Generated, timezone: str, after: datetime
) -> None:
    recurrence = parse(generated.text, timezone)
    zone = ZoneInfo(timezone)
    previous = after
    for found in times(recurrence, after, 10, anchor=utc(2020, 1, 1)):
        assert found > previous
        assert found.tzinfo is UTC
        assert (found.second, found.microsecond) == (0, 0)
        wall = found.astimezone(zone)
        assert wall.fold == 0
        assert generated.matches(wall.replace(tzinfo=None))
        previous = found


@settings(max_examples=examples(40), deadline=None)
@given(day_field=day_fields())
def test_day_fields_agree_with_a_day_by_day_reference_over_two_years(
    day_field: tuple[str, str, DateTest],
) -> None:
    day_of_month, day_of_week, day = day_field
    recurrence = parse(f"cron(0 12 {day_of_month} * {day_of_week} *)")
    start = date(2026, 1, 1)
    expected = [start + timedelta(days=n) for n in range(731) if day(start + timedelta(days=n))]
    found = times(recurrence, utc(2025, 12, 31, 12), len(expected) + 1)
    assert [moment.date() for moment in found[: len(expected)]] == expected
    assert all(moment.hour == 12 for moment in found)


@settings(max_examples=examples(40), deadline=None)
@given(
    value=st.integers(1, 1_000_000),
    unit=st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days"]),
    anchor=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset=st.integers(-(10**6), 10**9),
)
def test_rate_times_are_the_anchor_plus_whole_intervals(
    value: int, unit: str, anchor: datetime, offset: int
) -> None:
    recurrence = parse(f"rate({value} {unit})")
    interval = recurrence.shortest_gap(anchor=anchor)
    after = anchor + timedelta(seconds=offset)
    found = recurrence.next_after(after, anchor=anchor)
    start = anchor.replace(microsecond=0)
    assert found is not None
    assert found > after
    assert (found - start) % interval == timedelta(0)
    assert found == start or found - interval <= after


# --- fuzzing: any string is parsed or refused with InvalidSchedule ----------------------------

CRON_TOKENS = st.sampled_from(
    [
        "0",
        "1",
        "5",
        "7",
        "15",
        "31",
        "59",
        "60",
        "2199",
        "*",
        "?",
        "L",
        "W",
        "LW",
        "#",
        "/",
        "-",
        ",",
        "MON",
        "fri",
        "JAN",
        "dec",
        "6L",
        "2#1",
        "15W",
        "1/5",
        "*/10",
        "1-5",
        " ",
        "  ",
        "\t",
        "x",
        "é",
        "٣",
    ]
)
TEXT = st.text(max_size=80)
EXPRESSIONS = st.one_of(
    TEXT,
    TEXT.map(lambda text: f"cron({text})"),
    TEXT.map(lambda text: f"rate({text})"),
    st.lists(CRON_TOKENS, max_size=14).map(lambda tokens: f"cron({''.join(tokens)})"),
    st.lists(
        st.lists(CRON_TOKENS, min_size=1, max_size=3).map("".join), min_size=6, max_size=6
    ).map(lambda fields: f"cron({' '.join(fields)})"),
    st.tuples(
        st.text("0123456789-.+ ", max_size=12),
        st.sampled_from(["minute", "days", "hours ", "Hour", ""]),
    ).map(lambda parts: f"rate({parts[0]} {parts[1]})"),
)


@settings(max_examples=examples(150), deadline=None)
@given(expression=EXPRESSIONS, timezone=st.one_of(st.sampled_from(["UTC", BERLIN, NEW_YORK]), TEXT))
def test_any_input_is_parsed_or_refused_with_invalid_schedule(
    expression: str, timezone: str
) -> None:
    outcome = parse_or_refusal(expression, timezone)
    if isinstance(outcome, InvalidSchedule):
        assert outcome.field in {"ScheduleExpression", "Timezone"}
        assert_one_sentence(str(outcome))
    else:
        found = outcome.next_after(utc(2026, 1, 1), anchor=utc(2026, 1, 1))
        assert found is None or found > utc(2026, 1, 1)


def parse_or_refusal(expression: str, timezone: str) -> Recurrence | InvalidSchedule:
    try:
        return parse(expression, timezone)
    except InvalidSchedule as refused:
        return refused
