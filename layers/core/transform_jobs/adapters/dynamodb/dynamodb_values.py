"""Python values as DynamoDB attribute values, by the rules of boto3's TypeSerializer.

Written here because boto3 keeps its serializer in boto3.dynamodb.types, and importing that loads
all of boto3 during a function's Init (Powertools ships a copy of the deserializer only).
tests/unit/test_dynamodb_values.py holds the two to the same output.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 digits, exponents -130..125; anything it would round is refused.
_NUMBERS = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def _number(value: int | Decimal) -> str:
    return str(_NUMBERS.create_decimal(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _is_binary(value: Any) -> bool:
    return isinstance(value, bytes | bytearray)


def serialize(value: Any) -> dict[str, Any]:
    """{'S': ...}, {'N': ...}, {'M': ...} and so on; TypeError for what DynamoDB cannot store
    (floats, which would lose digits: use Decimal or int, as boto3 asks)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if _is_binary(value):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        return _set(value)
    if isinstance(value, Mapping):
        return {"M": {key: serialize(inner) for key, inner in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(inner) for inner in value]}
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


def _set(values: Set[Any]) -> dict[str, Any]:
    if all(_is_number(value) for value in values):  # an empty set too, as boto3 does
        return {"NS": [_number(value) for value in values]}
    if values and all(isinstance(value, str) for value in values):
        return {"SS": list(values)}
    if values and all(_is_binary(value) for value in values):
        return {"BS": [bytes(value) for value in values]}
    raise TypeError(f"Unsupported set {values!r}: sets hold only numbers, strings or binary")
