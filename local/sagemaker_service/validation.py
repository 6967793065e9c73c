"""Requests checked against botocore's SageMaker service model, as AWS checks them.

botocore checks types, required members and minimums on the client (ParamValidator), and only
when the client leaves validation on; AWS checks every constraint of the model again, maximums,
enums and patterns included. Both are done here, so a request that AWS would refuse is refused
with ValidationException whichever client sent it. Messages take AWS's wording where it is
known ("1 validation error detected: Value 'x' at 'transformResources.instanceType' failed to
satisfy constraint: ..."), and botocore's for what only botocore words (types, unknown members).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationNotFoundError, Shape, StructureShape
from botocore.validate import ParamValidator

from local.sagemaker_service.protocol import validation


@cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern, or None where Python's `re` cannot read it (`\\p{L}`...)."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def check(operation: str, request: dict[str, Any]) -> None:
    """Raises ValidationException for a request the operation's input shape does not allow."""
    try:
        shape = _model().operation_model(operation).input_shape
    except OperationNotFoundError:
        return  # the service answers UnknownOperationException itself
    if shape is None:
        return
    present = _without_nulls(request)  # AWS reads a JSON null as an absent member
    violations = _violations(present, shape, "")
    if violations:
        count = len(violations)
        raise validation(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(violations)
        )
    report = ParamValidator().validate(present, shape)
    if report.has_errors():
        raise validation(report.generate_report())


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [_without_nulls(inner) for inner in value]
    return value


def _member_path(path: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_shown(inner)}" for key, inner in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(inner) for inner in value) + "]"
    return str(value)


def _violations(value: Any, shape: Shape, path: str) -> list[str]:
    """AWS's constraint messages for `value` (and what it holds) against `shape`."""
    found = [
        f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {constraint}"
        for constraint in _constraints(value, shape)
    ]
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name in shape.required_members:
            if name not in value:
                found.append(
                    f"Value null at '{_member_path(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, member in shape.members.items():
            if name in value:
                found += _violations(value[name], member, _member_path(path, name))
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for number, item in enumerate(value, start=1):
            found += _violations(item, shape.member, f"{path}.{number}.member")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        keys = sorted({c for key in value for c in _constraints(key, shape.key)})
        values = sorted({c for inner in value.values() for c in _constraints(inner, shape.value)})
        for what, broken in (("Map keys", keys), ("Map value", values)):
            if broken:
                found.append(
                    f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
                    f"{what} must satisfy constraint: [{', '.join(broken)}]"
                )
    return found


def _constraints(value: Any, shape: Shape) -> list[str]:
    """The constraints of `shape` itself that `value` breaks (not those of its members); a value
    of the wrong type is left to ParamValidator."""
    broken: list[str] = []
    kind = shape.type_name
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    sized = (kind == "string" and isinstance(value, str)) or (
        (kind, type(value)) in (("list", list), ("map", dict))
    )
    numeric = kind in ("integer", "long", "float", "double") and (
        isinstance(value, int | float) and not isinstance(value, bool)
    )
    if sized:
        if low is not None and len(value) < low:
            broken.append(f"Member must have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            broken.append(f"Member must have length less than or equal to {high}")
    elif numeric:
        if low is not None and value < low:
            broken.append(f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            broken.append(f"Member must have value less than or equal to {high}")
    if kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            broken.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            broken.append(f"Member must satisfy regular expression pattern: {pattern}")
    return broken
