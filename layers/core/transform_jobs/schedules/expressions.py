"""EventBridge Scheduler's recurrence expressions, `rate(...)` and `cron(...)`, in a time zone.

Parsed and evaluated here so that a schedule is refused, and its next times computed, exactly as
EventBridge Scheduler would: cron in the wall-clock time of an IANA zone (a local time that does
not exist is skipped, one that occurs twice runs at its first occurrence), rate at fixed
intervals from an anchor.
"""

from __future__ import annotations

import calendar
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_EXPRESSION_LENGTH = 256
MAX_TIMEZONE_LENGTH = 50
MAX_RATE_VALUE = 1_000_000
GAP_SAMPLE_TIMES = 1_000
GAP_SAMPLE_SPAN = timedelta(days=366)

EXPRESSION_FIELD = "ScheduleExpression"
TIMEZONE_FIELD = "Timezone"

_RATE_UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}
_RATE_UNITS = "minute, minutes, hour, hours, day, days"
_CRON_FIELDS = "minutes hours day-of-month month day-of-week year"
_ZONE_EXAMPLES = "UTC or Europe/Berlin"
_EXAMPLES = "for example rate(1 hour) or cron(0 2 * * ? *)"

_MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

_NUMBER = re.compile(r"[0-9]{1,4}")
_TIMEZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
# Files of a tz database that are not IANA zone names: the host's own zone (which would make a
# schedule run at other times in Lambda than on a laptop), the legacy rules and the copies.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_ONE_MINUTE = timedelta(minutes=1)
_JUST_BEFORE = timedelta(microseconds=1)


class InvalidSchedule(ValueError):
    """str(error) is one sentence for a user: what is wrong and how to fix it."""

    def __init__(self, message: str, field: str = EXPRESSION_FIELD) -> None:
        super().__init__(message)
        self.field = field


def parse(expression: str, timezone: str = "UTC", *, minute_seconds: float = 60.0) -> Recurrence:
    """Parse and check a schedule expression and its time zone, or raise InvalidSchedule."""
    return Recurrence(expression, timezone, minute_seconds=minute_seconds)


@dataclass(frozen=True)
class Recurrence:
    """A checked rate or cron expression: its scheduled times and how close together they come."""

    expression: str
    timezone: str
    minute_seconds: float = field(default=60.0, kw_only=True, repr=False)
    _rule: _Rate | _Cron = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = _zone(self.timezone)
        object.__setattr__(self, "_rule", _rule(self.expression, zone, self.minute_seconds))

    def next_after(self, after: datetime, *, anchor: datetime) -> datetime | None:
        """The first scheduled time strictly later than `after` (UTC), or None if none is left.

        The anchor is the schedule's StartAt or creation time: rate times count from it, and no
        cron time comes before it.
        """
        return self._rule.next_after(_utc(after, "after"), _utc(anchor, "anchor"))

    def shortest_gap(self, *, anchor: datetime) -> timedelta:
        """The shortest time between two consecutive scheduled times (timedelta.max if < 2).

        For cron, over the first 1,000 times from the anchor or those within 366 days of it,
        whichever ends first.
        """
        return self._rule.shortest_gap(_utc(anchor, "anchor"))


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidSchedule(
            f"Timezone is empty; use an IANA time zone name such as {_ZONE_EXAMPLES}.",
            TIMEZONE_FIELD,
        )
    shown = _show(name)
    if (
        len(name) > MAX_TIMEZONE_LENGTH
        or not _TIMEZONE.fullmatch(name)
        or name in _NOT_ZONES
        or name.startswith(("posix/", "right/"))
    ):
        raise InvalidSchedule(
            f"Timezone {shown} is not an IANA time zone name; use one such as {_ZONE_EXAMPLES}.",
            TIMEZONE_FIELD,
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ZoneInfoNotFoundError is a KeyError; some names reach a directory or a bad file instead.
        raise InvalidSchedule(
            f"Timezone {shown} is not a known IANA time zone; use one such as {_ZONE_EXAMPLES}.",
            TIMEZONE_FIELD,
        ) from None


def _show(text: str) -> str:
    """Quote user input for a message: cut short, control characters escaped."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _cut(text: str) -> str:
    return _show(text)[1:-1]


def _rule(expression: str, zone: ZoneInfo, minute_seconds: float) -> _Rate | _Cron:
    if not 0 < minute_seconds < math.inf:
        raise ValueError("minute_seconds must be a positive number of seconds")
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidSchedule(f"ScheduleExpression is empty; write one, {_EXAMPLES}.")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise InvalidSchedule(
            f"ScheduleExpression is {len(expression)} characters long; "
            f"at most {MAX_EXPRESSION_LENGTH} are allowed."
        )
    if expression.startswith("rate(") and expression.endswith(")"):
        return _rate(expression[5:-1], minute_seconds)
    if expression.startswith("cron(") and expression.endswith(")"):
        return _cron(expression[5:-1], zone)
    if expression.startswith("at("):
        raise InvalidSchedule(
            f"One-time at(...) schedules are not supported; write a recurring one, {_EXAMPLES}."
        )
    raise InvalidSchedule(
        f"ScheduleExpression {_show(expression)} is neither rate(value unit) nor "
        f"cron({_CRON_FIELDS}); write one, {_EXAMPLES}."
    )


# --- rate -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rate:
    interval: timedelta

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        start = anchor.replace(microsecond=0)
        if after < start:
            return start
        steps = (after - start) // self.interval + 1
        try:
            return start + steps * self.interval
        except OverflowError:
            return None

    def shortest_gap(self, anchor: datetime) -> timedelta:
        return self.interval


def _rate(inner: str, minute_seconds: float) -> _Rate:
    match = re.fullmatch(r"(\S+) (\S+)", inner)
    if match is None:
        raise InvalidSchedule(
            f"The rate expression rate({_cut(inner)}) must be rate(value unit), the two "
            "separated by one space, "
            "for example rate(5 minutes) or rate(1 day)."
        )
    value_text, unit = match.groups()
    if not re.fullmatch(r"[0-9]{1,7}", value_text) or not 1 <= int(value_text) <= MAX_RATE_VALUE:
        raise InvalidSchedule(
            f"The rate's value {_show(value_text)} must be a whole number "
            f"from 1 to {MAX_RATE_VALUE:,}, for example rate(5 minutes)."
        )
    if unit not in _RATE_UNIT_MINUTES:
        raise InvalidSchedule(f"The rate's unit {_show(unit)} must be one of {_RATE_UNITS}.")
    seconds = int(value_text) * _RATE_UNIT_MINUTES[unit] * minute_seconds
    # Times are whole seconds, and a sped-up test minute must not round an interval down to 0.
    return _Rate(timedelta(seconds=max(1, round(seconds))))


# --- cron -------------------------------------------------------------------------------------

# The days of one month (year, month) that a cron's day fields select, in ascending order.
DayRule = Callable[[int, int], Sequence[int]]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    allows: str
    names: dict[str, int] = field(default_factory=dict)

    def fail(self, token: str, problem: str) -> InvalidSchedule:
        return InvalidSchedule(
            f"The cron {self.name} field has {_show(token)}: {problem}; "
            f"{self.name} allows {self.allows}."
        )


_MINUTES = _Field("minutes", 0, 59, "0-59 with , - * /")
_HOURS = _Field("hours", 0, 23, "0-23 with , - * /")
_DAY_OF_MONTH = _Field("day-of-month", 1, 31, "1-31 with , - * ? / or L, LW, or one day like 15W")
_MONTH = _Field("month", 1, 12, "1-12 or JAN-DEC with , - * /", _MONTHS)
_DAY_OF_WEEK = _Field(
    "day-of-week", 1, 7, "1-7 or SUN-SAT (1 is Sunday) with , - * ? or one of L, 6L, 2#1", _WEEKDAYS
)
_YEAR = _Field("year", 1970, 2199, "1970-2199 with , - * /")


@dataclass(frozen=True)
class _Cron:
    zone: ZoneInfo
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DayRule
    months: tuple[int, ...]
    years: tuple[int, ...]

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        bound = max(after, anchor - _JUST_BEFORE)
        if bound.year > _YEAR.high:
            return None
        local = bound.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        wall = local + _ONE_MINUTE
        # Wall times in order map to ever later instants (each at its first occurrence), so the
        # first that exists and lies after the bound is the answer; the loop only passes over
        # skipped times, and the repeated hour when `after` is in its second occurrence.
        while (found := self._next_wall(wall)) is not None:
            instant = self._instant(found)
            if instant is not None and instant > bound:
                return instant
            wall = found + _ONE_MINUTE
        return None

    def shortest_gap(self, anchor: datetime) -> timedelta:
        # Two times of one day are as close on every day the cron runs, however rarely that is
        # (a cron of every minute on 29 February runs every minute, if only then).
        daily = sorted(hour * 60 + minute for hour in self.hours for minute in self.minutes)
        closest = min((later - earlier for earlier, later in pairwise(daily)), default=None)
        shortest = timedelta.max if closest is None else timedelta(minutes=closest)
        end = anchor + GAP_SAMPLE_SPAN
        previous = self.next_after(anchor - _JUST_BEFORE, anchor)
        for _ in range(GAP_SAMPLE_TIMES - 1):
            current = None if previous is None else self.next_after(previous, anchor)
            if previous is None or current is None or current > end:
                break
            shortest = min(shortest, current - previous)
            previous = current
        return shortest

    def _instant(self, wall: datetime) -> datetime | None:
        """The UTC instant of a wall time (its first occurrence), or None if clocks skip it."""
        instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) != wall:
            return None
        return instant

    def _next_wall(self, start: datetime) -> datetime | None:
        """The first wall time at or after `start` that the fields select."""
        day = self._next_day(start.date())
        while day is not None:
            floor = (start.hour, start.minute) if day == start.date() else (0, 0)
            time_of_day = self._first_time(*floor)
            if time_of_day is not None:
                return datetime(day.year, day.month, day.day, *time_of_day)
            day = self._next_day(day + timedelta(days=1))
        return None

    def _next_day(self, start: date) -> date | None:
        for year in self.years[bisect_left(self.years, start.year) :]:
            first_month = start.month if year == start.year else 1
            for month in self.months[bisect_left(self.months, first_month) :]:
                days = self.days(year, month)
                first_day = start.day if (year, month) == (start.year, start.month) else 1
                index = bisect_left(days, first_day)
                if index < len(days):
                    return date(year, month, days[index])
        return None

    def _first_time(self, hour: int, minute: int) -> tuple[int, int] | None:
        for candidate in self.hours[bisect_left(self.hours, hour) :]:
            floor = minute if candidate == hour else 0
            index = bisect_left(self.minutes, floor)
            if index < len(self.minutes):
                return candidate, self.minutes[index]
        return None


def _cron(inner: str, zone: ZoneInfo) -> _Cron:
    if not inner.isascii():
        # Checked before str.upper(), which maps some non-ASCII letters to ASCII (U+017F to S).
        raise InvalidSchedule(
            f"The cron expression cron({_cut(inner)}) may hold only ASCII digits, letters, "
            "spaces and , - * ? / #."
        )
    fields = [text for text in inner.upper().split(" ") if text]
    if len(fields) != 6:
        raise InvalidSchedule(
            f"The cron expression cron({_cut(inner)}) has {len(fields)} fields; "
            f"it needs 6 ({_CRON_FIELDS}), "
            "for example cron(0 2 * * ? *)."
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    return _Cron(
        zone=zone,
        minutes=_sorted(minutes, _MINUTES),
        hours=_sorted(hours, _HOURS),
        days=_day_rule(day_of_month, day_of_week),
        months=_sorted(month, _MONTH),
        years=_sorted(year, _YEAR),
    )


def _sorted(text: str, spec: _Field) -> tuple[int, ...]:
    return tuple(sorted(_values(text, spec)))


def _values(text: str, spec: _Field, *, steps: bool = True) -> set[int]:
    """The values of a list of items: `*`, `a`, `a-b`, each optionally with `/step`."""
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, spec, steps=steps)
    return values


def _item(item: str, spec: _Field, *, steps: bool) -> set[int]:
    if not item:
        raise spec.fail(item, "a list has an empty item")
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not steps:
            raise spec.fail(item, "'/' is not allowed here")
        step = _step(step_text, item, spec)
    if base == "*":
        return set(range(spec.low, spec.high + 1, step))
    first_text, dash, last_text = base.partition("-")
    first = _value(first_text, spec)
    last = _value(last_text, spec) if dash else spec.high if slash else first
    if first > last:
        raise spec.fail(item, f"the range starts at {first}, after its end {last}")
    return set(range(first, last + 1, step))


def _step(text: str, item: str, spec: _Field) -> int:
    most = spec.high - spec.low + 1
    if not _NUMBER.fullmatch(text) or not 1 <= int(text) <= most:
        raise spec.fail(item, f"the step after '/' must be a whole number from 1 to {most}")
    return int(text)


def _value(token: str, spec: _Field) -> int:
    if token in spec.names:
        return spec.names[token]
    if not _NUMBER.fullmatch(token):
        what = f"a number {spec.low}-{spec.high}" + (" or a name" if spec.names else "")
        raise spec.fail(token, f"it is not {what}")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise spec.fail(token, f"{value} is outside {spec.low}-{spec.high}")
    return value


def _day_rule(day_of_month: str, day_of_week: str) -> DayRule:
    by_month = _day_of_month_rule(day_of_month)
    by_week = _day_of_week_rule(day_of_week)
    if by_month is not None and by_week is not None:
        raise InvalidSchedule(
            "The cron day-of-month and day-of-week fields both have a value; exactly one "
            "must be '?', for example cron(0 2 * * ? *) or cron(0 2 ? * MON-FRI *)."
        )
    rule = by_month if by_month is not None else by_week
    if rule is None:
        raise InvalidSchedule(
            "The cron day-of-month and day-of-week fields are both '?'; "
            "give a value in one of them, for example cron(0 2 * * ? *)."
        )
    return rule


def _day_of_month_rule(text: str) -> DayRule | None:
    if text == "?":
        return None
    if text == "L":
        return lambda year, month: (_month_length(year, month),)
    if text == "LW":
        return _last_weekday
    nearest = re.fullmatch(r"([0-9]{1,2})W", text)
    if nearest is not None:
        return _nearest_weekday_rule(_value(nearest.group(1), _DAY_OF_MONTH))
    if "L" in text or "W" in text:
        raise _DAY_OF_MONTH.fail(text, "L, LW and W (as in 15W) must stand alone")
    ordered = tuple(sorted(_values(text, _DAY_OF_MONTH)))
    return lambda year, month: ordered[: bisect_left(ordered, _month_length(year, month) + 1)]


def _day_of_week_rule(text: str) -> DayRule | None:
    if text == "?":
        return None
    if text == "L":  # the last day of the week: every Saturday
        text = "7"
    last = re.fullmatch(r"([0-9A-Z]+)L", text)
    if last is not None:
        return _last_of_weekday_rule(_value(last.group(1), _DAY_OF_WEEK))
    nth = re.fullmatch(r"([0-9A-Z]+)#([0-9]+)", text)
    if nth is not None:
        weekday = _value(nth.group(1), _DAY_OF_WEEK)
        if not re.fullmatch(r"[1-5]", nth.group(2)):
            raise _DAY_OF_WEEK.fail(text, "the number after '#' must be 1 to 5")
        return _nth_weekday_rule(weekday, int(nth.group(2)))
    if "L" in text or "#" in text:
        raise _DAY_OF_WEEK.fail(text, "L (as in 6L) and # (as in 2#1) must stand alone")
    weekdays = frozenset(_values(text, _DAY_OF_WEEK, steps=False))
    return lambda year, month: [
        day
        for day in range(1, _month_length(year, month) + 1)
        if _weekday(year, month, day) in weekdays
    ]


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _weekday(year: int, month: int, day: int) -> int:
    """Cron's day of the week: 1 is Sunday, 7 is Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _last_weekday(year: int, month: int) -> Sequence[int]:
    last = _month_length(year, month)
    return (last - {7: 1, 1: 2}.get(_weekday(year, month, last), 0),)


def _nearest_weekday_rule(target: int) -> DayRule:
    def days(year: int, month: int) -> Sequence[int]:
        last = _month_length(year, month)
        if target > last:
            return ()
        weekday = _weekday(year, month, target)
        # The nearest weekday never leaves the month: a Saturday the 1st moves on to Monday the
        # 3rd, and a Sunday on the last day back to Friday.
        if weekday == 7:
            return (target - 1 if target > 1 else target + 2,)
        if weekday == 1:
            return (target + 1 if target < last else target - 2,)
        return (target,)

    return days


def _last_of_weekday_rule(weekday: int) -> DayRule:
    def days(year: int, month: int) -> Sequence[int]:
        last = _month_length(year, month)
        return (last - (_weekday(year, month, last) - weekday) % 7,)

    return days


def _nth_weekday_rule(weekday: int, nth: int) -> DayRule:
    def days(year: int, month: int) -> Sequence[int]:
        day = 1 + (weekday - _weekday(year, month, 1)) % 7 + 7 * (nth - 1)
        return (day,) if day <= _month_length(year, month) else ()

    return days
