"""The JSONPath subset SageMaker accepts in DataProcessing.InputFilter and OutputFilter.

Parsed here so requests are checked before any money is spent; the local engine evaluates the
same parse. No general JSONPath library restricts itself to exactly SageMaker's subset, hence our
own small parser: `$`, then `.name`, `.*`/`[*]`, `['a','b']`, and index lists of integers and
slices (`[1]`, `[-1]`, `[1,3,5]`, `[2:5]`, `[:5]`, `[2:]`, `[0,5:]`). Slice ends are exclusive,
as in JSONPath.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FILTER_LENGTH = 63


@dataclass(frozen=True)
class Names:
    """Select object members by name (`.a` or `['a','b']`)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Wildcard:
    """Select every member or element (`.*` or `[*]`)."""


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None


@dataclass(frozen=True)
class Indexes:
    """Select array elements by index and slice, in the order given."""

    parts: tuple[int | Slice, ...]


Segment = Names | Wildcard | Indexes


class JsonPathError(ValueError):
    """The filter is not in SageMaker's JSONPath subset; the message says where and why."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_QUOTED = re.compile(r"'([^']*)'")
_INDEX_PART = re.compile(r"\s*(-?[0-9]+)?\s*(:)?\s*(-?[0-9]+)?\s*")


def parse(expression: str) -> tuple[Segment, ...]:
    """Parse a filter into segments, or raise JsonPathError naming the problem."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise JsonPathError(f"is {len(expression)} characters; SageMaker allows at most 63")
    if not expression.startswith("$"):
        raise JsonPathError("must start with '$' (the whole record)")
    segments: list[Segment] = []
    pos = 1
    while pos < len(expression):
        char = expression[pos]
        if char == ".":
            pos, segment = _parse_dot(expression, pos + 1)
        elif char == "[":
            end = expression.find("]", pos)
            if end < 0:
                raise JsonPathError(f"has an unclosed '[' at position {pos}")
            segment = _parse_bracket(expression[pos + 1 : end], pos)
            pos = end + 1
        else:
            raise JsonPathError(f"has an unexpected {char!r} at position {pos}")
        segments.append(segment)
    return tuple(segments)


def _parse_dot(expression: str, pos: int) -> tuple[int, Segment]:
    if expression.startswith("*", pos):
        return pos + 1, Wildcard()
    match = _NAME.match(expression, pos)
    if not match:
        raise JsonPathError(f"needs a member name or '*' after '.' at position {pos - 1}")
    return match.end(), Names((match.group(),))


def _parse_bracket(inner: str, pos: int) -> Segment:
    inner = inner.strip()
    if inner == "*":
        return Wildcard()
    if inner.startswith("'"):
        names = []
        for part in inner.split(","):
            quoted = _QUOTED.fullmatch(part.strip())
            if not quoted or not quoted.group(1):
                raise JsonPathError(f"has a bad quoted name list at position {pos}")
            names.append(quoted.group(1))
        return Names(tuple(names))
    parts: list[int | Slice] = []
    for part in inner.split(","):
        match = _INDEX_PART.fullmatch(part)
        if not match or (part.strip() in ("", ":") and not match.group(2)):
            raise JsonPathError(f"has a bad index {part.strip()!r} at position {pos}")
        start, colon, stop = match.groups()
        if colon:
            parts.append(Slice(int(start) if start else None, int(stop) if stop else None))
        elif start is not None and stop is None:
            parts.append(int(start))
        else:
            raise JsonPathError(f"has a bad index {part.strip()!r} at position {pos}")
    return Indexes(tuple(parts))
