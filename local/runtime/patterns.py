"""Amazon EventBridge event patterns: `matches` an event against one, `validate` one.

The local runtime uses the same syntax twice: for EventBridge rule patterns and for Lambda
event-source-mapping filters (FilterCriteria.Filters[].Pattern, applied to a DynamoDB stream
record or an SQS message whose JSON body the caller has parsed).

It is written here because no maintained Python implementation of EventBridge's matching
exists: AWS's own engine (aws/event-ruler) is Java, the PyPI wrapper of it (event-ruler) is an
unmaintained binary-only wheel, and moto's matcher is a private class of its EventBridge mock.

Semantics follow the EventBridge "event patterns" and "content filtering" docs and Event
Ruler's README:

* object keys are ANDed; a pattern object matches the event object at the same path;
* a leaf is a list of matchers, ORed; an event array matches when any element does, arrays are
  flattened, and an object pattern against an array of objects needs one element to match all
  of it (Ruler's "array-consistent" matching);
* only leaf (non-object) event values count as present, so `{"exists": false}` matches a
  field that is absent, an empty array, or an object;
* `"$or": [pattern, pattern, ...]` may appear at any object level, ANDed with its siblings.
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

__all__ = ["PatternError", "matches", "validate"]

_OR = "$or"
_LOWER = frozenset({">", ">="})
_UPPER = frozenset({"<", "<="})
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class PatternError(ValueError):
    """A pattern EventBridge would reject; the message names the path and the problem."""


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether `event` matches `pattern`; raises PatternError when the pattern is invalid."""
    # Validating here keeps a bad pattern from silently matching nothing (or everything).
    validate(pattern)
    return _match_object(pattern, event)


def validate(pattern: Mapping[str, Any]) -> None:
    """Raise PatternError for a pattern EventBridge would reject."""
    _check_object(pattern, "")


# --- matching (assumes a validated pattern) ---------------------------------------------


def _match_object(pattern: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    for key, sub in pattern.items():
        if key == _OR:
            ok = any(_match_object(alternative, obj) for alternative in sub)
        elif isinstance(sub, Mapping):
            ok = _match_nested(sub, obj.get(key))
        else:
            ok = _match_leaf(sub, list(_leaves(obj[key])) if key in obj else [])
        if not ok:
            return False
    return True


def _match_nested(pattern: Mapping[str, Any], value: Any) -> bool:
    candidates = [value] if isinstance(value, Mapping) else list(_objects(value))
    if not candidates:
        # A missing parent still lets exists:false below it match, as in Ruler's flattened paths.
        return _match_object(pattern, {})
    return any(_match_object(pattern, candidate) for candidate in candidates)


def _objects(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                yield item
            else:
                yield from _objects(item)


def _leaves(value: Any) -> Iterator[Any]:
    # Objects are not leaves: a leaf matcher never sees them (exists:true is false for one).
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif not isinstance(value, Mapping):
        yield value


def _match_leaf(matchers: Sequence[Any], values: list[Any]) -> bool:
    if not values:
        return any(_is_operator(m, "exists") and m["exists"] is False for m in matchers)
    return any(_match_value(m, v) for m in matchers for v in values)


def _match_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equal(matcher, value)
    ((name, arg),) = matcher.items()
    if name == "exists":
        return bool(arg)  # reached only when a value is present
    if name == "numeric":
        return _is_number(value) and _in_range(arg, value)
    if name == "anything-but":
        return _anything_but(arg, value)
    if name == "cidr":
        return _in_cidr(arg, value)
    return isinstance(value, str) and _string_match(name, arg, value)


def _string_match(name: str, arg: Any, value: str) -> bool:
    if name == "wildcard":
        return _wildcard(arg).fullmatch(value) is not None
    expected: str = arg
    if isinstance(arg, Mapping) or name == "equals-ignore-case":
        # {"prefix": {"equals-ignore-case": ...}}, the suffix form, and equals-ignore-case itself
        expected = arg["equals-ignore-case"] if isinstance(arg, Mapping) else arg
        expected, value = expected.casefold(), value.casefold()
    if name == "prefix":
        return value.startswith(expected)
    if name == "suffix":
        return value.endswith(expected)
    return value == expected


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        ((name, inner),) = arg.items()
        # The string forms (prefix, wildcard, ...) say nothing about non-strings: no match.
        if not isinstance(value, str):
            return False
        options = inner if isinstance(inner, list) else [inner]
        return not any(_string_match(name, option, value) for option in options)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(x, value) for x in excluded)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return bool(expected == value)  # 5 matches 5.0
    # Type first: in Python True == 1, but in a pattern true only matches true.
    return type(expected) is type(value) and bool(expected == value)


def _in_range(conditions: Sequence[Any], value: float) -> bool:
    pairs = zip(conditions[0::2], conditions[1::2], strict=True)
    return all(_COMPARISONS[op](value, bound) for op, bound in pairs)


def _in_cidr(block: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address in ipaddress.ip_network(block, strict=False)


@lru_cache(maxsize=256)
def _wildcard(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars)))  # validated: \* or \\
        elif char == "*":
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_operator(matcher: Any, name: str) -> bool:
    return isinstance(matcher, Mapping) and name in matcher


# --- validation ------------------------------------------------------------------------


def _fail(path: str, problem: str) -> PatternError:
    return PatternError(f"{path or 'pattern'}: {problem}")


def _check_object(obj: Any, path: str) -> None:
    if not isinstance(obj, Mapping):
        raise _fail(path, f"must be an object, not {_kind(obj)}")
    if not obj:
        raise _fail(path, "must not be an empty object")
    for key, sub in obj.items():
        if not isinstance(key, str):
            raise _fail(path, f"keys must be strings, not {_kind(key)}")
        here = f"{path}.{key}" if path else key
        if key == _OR:
            if not isinstance(sub, list) or len(sub) < 2:
                raise _fail(here, "must be a list of at least two patterns")
            for i, alternative in enumerate(sub):
                _check_object(alternative, f"{here}[{i}]")
        elif isinstance(sub, Mapping):
            _check_object(sub, here)
        elif isinstance(sub, list):
            if not sub:
                raise _fail(here, "must not be an empty list")
            for i, matcher in enumerate(sub):
                _check_matcher(matcher, f"{here}[{i}]")
        else:
            raise _fail(here, f"must be a list of matchers or an object, not {_kind(sub)}")


def _check_matcher(matcher: Any, path: str) -> None:
    if matcher is None or isinstance(matcher, str | bool):
        return
    if _is_number(matcher):
        _check_number(matcher, path)
        return
    if not isinstance(matcher, Mapping):
        raise _fail(
            path, f"must be a string, number, boolean, null or operator, not {_kind(matcher)}"
        )
    if len(matcher) != 1:
        raise _fail(path, f"an operator object has exactly one key, not {sorted(matcher)}")
    ((name, arg),) = matcher.items()
    check = _CHECKS.get(name)
    if check is None:
        raise _fail(path, f"unknown operator {name!r}; known: {', '.join(sorted(_CHECKS))}")
    check(arg, f"{path}.{name}")


def _check_exists(arg: Any, path: str) -> None:
    if not isinstance(arg, bool):
        raise _fail(path, f"must be true or false, not {arg!r}")


def _check_cidr(arg: Any, path: str) -> None:
    _check_string(arg, path)
    try:
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise _fail(path, f"{arg!r} is not a CIDR block") from None


def _check_affix(arg: Any, path: str) -> None:
    if isinstance(arg, Mapping):
        if set(arg) != {"equals-ignore-case"}:
            raise _fail(path, 'an object here must be {"equals-ignore-case": "..."}')
        _check_string(arg["equals-ignore-case"], f"{path}.equals-ignore-case")
    else:
        _check_string(arg, path)


def _check_anything_but(arg: Any, path: str) -> None:
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            raise _fail(path, f"an operator object has exactly one key, not {sorted(arg)}")
        ((name, inner),) = arg.items()
        here = f"{path}.{name}"
        if name in {"prefix", "suffix"}:
            _check_string(inner, here)
        elif name in {"equals-ignore-case", "wildcard"}:
            options = inner if isinstance(inner, list) else [inner]
            if not options:
                raise _fail(here, "must not be an empty list")
            for i, option in enumerate(options):
                where = f"{here}[{i}]" if isinstance(inner, list) else here
                (_check_wildcard if name == "wildcard" else _check_string)(option, where)
        else:
            raise _fail(
                path,
                f"unknown operator {name!r}; known: equals-ignore-case, prefix, suffix, wildcard",
            )
        return
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise _fail(path, "must not be an empty list")
    # Ruler's rule: entirely strings or entirely numbers.
    if all(isinstance(v, str) for v in values):
        return
    if not all(_is_number(v) for v in values):
        raise _fail(path, "must be a string, a number, or a list of only strings or only numbers")
    for i, v in enumerate(values):
        _check_number(v, f"{path}[{i}]" if isinstance(arg, list) else path)


def _check_numeric(arg: Any, path: str) -> None:
    if not isinstance(arg, list) or len(arg) not in {2, 4}:
        raise _fail(
            path, 'must be [op, number] or [op, number, op, number], e.g. [">", 0, "<=", 5]'
        )
    ops = arg[0::2]
    for i in range(0, len(arg), 2):
        if arg[i] not in _COMPARISONS:
            raise _fail(f"{path}[{i}]", f"{arg[i]!r} is not one of =, <, <=, >, >=")
        if not _is_number(arg[i + 1]):
            raise _fail(f"{path}[{i + 1}]", f"must be a number, not {_kind(arg[i + 1])}")
        _check_number(arg[i + 1], f"{path}[{i + 1}]")
    if len(ops) == 2:
        # A range is one lower bound and one upper bound, lower first.
        if ops[0] not in _LOWER or ops[1] not in _UPPER:
            raise _fail(path, "a range is a lower bound (> or >=) followed by an upper (< or <=)")
        if arg[1] > arg[3]:
            raise _fail(path, f"the lower bound {arg[1]} is above the upper bound {arg[3]}")


def _check_wildcard(arg: Any, path: str) -> None:
    _check_string(arg, path)
    escaped = False
    previous = ""
    for char in arg:
        if escaped:
            if char not in "*\\":
                raise _fail(path, f"only * and \\ may follow a backslash, not {char!r}")
            escaped, previous = False, ""
        elif char == "\\":
            escaped = True
        elif char == "*" and previous == "*":
            raise _fail(path, "consecutive * wildcards are not allowed")
        else:
            previous = char
    if escaped:
        raise _fail(path, "ends with an unfinished backslash escape")


def _check_string(arg: Any, path: str) -> None:
    if not isinstance(arg, str):
        raise _fail(path, f"must be a string, not {_kind(arg)}")


def _check_number(value: float, path: str) -> None:
    if not math.isfinite(value):
        raise _fail(path, f"must be a finite number, not {value}")


_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "anything-but": _check_anything_but,
    "cidr": _check_cidr,
    "equals-ignore-case": _check_string,
    "exists": _check_exists,
    "numeric": _check_numeric,
    "prefix": _check_affix,
    "suffix": _check_affix,
    "wildcard": _check_wildcard,
}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
