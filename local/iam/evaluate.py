"""IAM's decision for one request against one identity's policy statements.

An explicit Deny beats any Allow; without an Allow the request is denied implicitly. Actions
match case-insensitively, resources case-sensitively, both with `*` and `?`. Conditions support
the String, Numeric, Bool, Arn and Null operators, the IfExists suffix and the ForAllValues /
ForAnyValue qualifiers. What cannot be decided here (another operator, a policy variable) fails
closed: such an Allow grants nothing and such a Deny denies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALLOW, DENY = "Allow", "Deny"
KeyCheck = Callable[[str], bool]


@dataclass(frozen=True)
class Request:
    """One authorization: an IAM action on a resource ARN, with the request's condition keys
    (names as AWS spells them; values are lists, one item for a single-valued key)."""

    action: str
    resource: str
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False
    # The statement that decided (its Sid, else its position), and any part of the policy that
    # could not be evaluated here (it was failed closed).
    statement: str | None = None
    undecidable: tuple[str, ...] = ()


class Undecidable(Exception):
    """Part of a statement this evaluator cannot decide."""


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]]
    not_action: bool = False
    not_resource: bool = False
    name: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any], position: int) -> Statement:
        if "NotAction" in raw:
            actions, not_action = raw["NotAction"], True
        else:
            actions, not_action = raw.get("Action", []), False
        if "NotResource" in raw:
            resources, not_resource = raw["NotResource"], True
        else:
            resources, not_resource = raw.get("Resource", []), False
        return cls(
            effect=str(raw.get("Effect", "")),
            actions=_strings(actions),
            resources=_strings(resources),
            condition=dict(raw.get("Condition") or {}),
            not_action=not_action,
            not_resource=not_resource,
            name=str(raw.get("Sid") or f"statement {position}"),
        )

    def applies_to(self, request: Request, known_key: KeyCheck | None = None) -> bool:
        """Whether this statement covers the request; raises Undecidable when it cannot tell."""
        action = any(_action_pattern(a).fullmatch(request.action) for a in self.actions)
        if action == self.not_action:
            return False
        resource = any(_resource_matches(r, request.resource) for r in self.resources)
        if resource == self.not_resource:
            return False
        return conditions_hold(self.condition, request.context, known_key)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value or ())


def parse_statements(raw: Iterable[Mapping[str, Any]]) -> list[Statement]:
    return [Statement.parse(statement, position) for position, statement in enumerate(raw)]


def evaluate(
    statements: Sequence[Statement], request: Request, *, known_key: KeyCheck | None = None
) -> Decision:
    """`known_key` tells the condition keys the caller can supply: a condition on another key
    that the request lacks cannot be decided (AWS might have supplied it)."""
    allowed_by: str | None = None
    undecidable: list[str] = []
    for statement in statements:
        try:
            applies = statement.applies_to(request, known_key)
        except Undecidable as error:
            undecidable.append(f"{statement.name}: {error}")
            # Failing closed: an Allow we cannot decide grants nothing; a Deny denies.
            applies = statement.effect == DENY
        if not applies:
            continue
        if statement.effect == DENY:
            return Decision(False, True, statement.name, tuple(undecidable))
        if statement.effect == ALLOW and allowed_by is None:
            allowed_by = statement.name
    return Decision(allowed_by is not None, False, allowed_by, tuple(undecidable))


# ------------------------------------------------------------------------------ wildcards


def _wildcard(pattern: str) -> str:
    return "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )


@lru_cache(maxsize=4096)
def _action_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_wildcard(pattern), re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def _like(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    return re.compile(_wildcard(pattern), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _resource_matches(pattern: str, resource: str) -> bool:
    if "${" in pattern:
        raise Undecidable(f"policy variable in resource {pattern!r}")
    return bool(_like(pattern).fullmatch(resource))


def action_matches(pattern: str, action: str) -> bool:
    """Whether a policy's action (with wildcards) covers `action`."""
    return bool(_action_pattern(pattern).fullmatch(action))


def resource_matches(pattern: str, resource: str) -> bool:
    """Whether a policy's resource (with wildcards) covers `resource`."""
    return "${" not in pattern and bool(_like(pattern).fullmatch(resource))


# ------------------------------------------------------------------------------ conditions


def _arn_like(policy: str, value: str) -> bool:
    # ArnLike compares the six colon-separated parts, each with wildcards.
    policy_parts, value_parts = policy.split(":", 5), value.split(":", 5)
    if len(policy_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_like(p).fullmatch(v) for p, v in zip(policy_parts, value_parts, strict=True))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise Undecidable(f"{text!r} is not a number") from None


_MATCHERS: dict[str, Any] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: bool(_like(p).fullmatch(v)),
    "NumericEquals": lambda p, v: _number(v) == _number(p),
    "NumericLessThan": lambda p, v: _number(v) < _number(p),
    "NumericLessThanEquals": lambda p, v: _number(v) <= _number(p),
    "NumericGreaterThan": lambda p, v: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda p, v: _number(v) >= _number(p),
    "Bool": lambda p, v: p.lower() == v.lower(),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": _arn_like,
}
# The negated operators: true when no policy value matches (NOR over the values), and true when
# the key is absent from the request.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _context_values(context: Mapping[str, Sequence[str]], key: str) -> Sequence[str] | None:
    """The request's values for a condition key; key names are case-insensitive."""
    wanted = key.lower()
    for name, values in context.items():
        if name.lower() == wanted:
            return values
    return None


def conditions_hold(
    condition: Mapping[str, Mapping[str, Any]],
    context: Mapping[str, Sequence[str]],
    known_key: KeyCheck | None = None,
) -> bool:
    """Every operator, and every key under it, must hold (AND)."""
    for operator, keys in condition.items():
        for key, policy_values in keys.items():
            values = _context_values(context, key)
            if values is None and known_key is not None and not known_key(key):
                raise Undecidable(f"condition key {key} is not known locally")
            if not _holds(operator, _strings(policy_values), values):
                return False
    return True


def _holds(operator: str, policy: tuple[str, ...], values: Sequence[str] | None) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in {"", "ForAllValues", "ForAnyValue"}:
        raise Undecidable(f"unknown condition operator {operator!r}")
    if base == "Null":
        if qualifier:
            raise Undecidable(f"{operator} is not an operator")
        absent = not values
        return all((p.lower() == "true") == absent for p in policy)
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in _NEGATED
    matcher = _MATCHERS.get(_NEGATED.get(base, base))
    if matcher is None:
        raise Undecidable(f"unknown condition operator {operator!r}")

    def value_holds(value: str) -> bool:
        hit = any(matcher(p, value) for p in policy)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(value_holds(v) for v in values or ())
    if qualifier == "ForAnyValue":
        return any(value_holds(v) for v in values or ())
    if not values:
        return if_exists or negated
    if negated:
        return all(value_holds(v) for v in values)
    return any(value_holds(v) for v in values)
