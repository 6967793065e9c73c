"""The size DynamoDB counts for an item, against its 400 KB limit.

The rules of "DynamoDB item sizes and formats" (developer guide): an attribute counts its
name's UTF-8 bytes plus its value's size; a string its UTF-8 bytes, a binary its raw bytes, a
number about 1 byte per two significant digits plus 1 (exactly: see _number_bytes), a Boolean
or null 1 byte; a list or map 3 bytes plus, per element, 1 byte and the element's size (a map
element's name included). Checked at the 400 KB limit against DynamoDB Local, AWS's engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# 400 KB, as DynamoDB counts it: the largest item it stores.
ITEM_LIMIT_BYTES = 400 * 1024


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item in DynamoDB's JSON form ({"Name": {"S": "..."}}, as boto3's client takes it)."""
    return sum(_text_bytes(name) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Mapping[str, Any]) -> int:
    [(kind, inner)] = value.items()
    if kind == "S":
        return _text_bytes(inner)
    if kind == "N":
        return _number_bytes(inner)
    if kind == "B":
        return len(bytes(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_text_bytes(text) for text in inner)
    if kind == "NS":
        return sum(_number_bytes(number) for number in inner)
    if kind == "BS":
        return sum(len(bytes(data)) for data in inner)
    if kind == "L":
        return 3 + sum(1 + _value_bytes(element) for element in inner)
    if kind == "M":
        return 3 + sum(
            1 + _text_bytes(name) + _value_bytes(element) for name, element in inner.items()
        )
    raise ValueError(f"not a DynamoDB attribute value type: {kind}")


def _text_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _number_bytes(number: str) -> int:
    """DynamoDB keeps a number as base-100 digits aligned on the decimal point, plus a byte for
    the exponent and one more when negative (measured against DynamoDB Local: 1.5 is 3 bytes,
    15 is 2, -6 is 3). Past 21 significant digits its count is irregular, so a byte per digit
    bounds it (the service writes no such number)."""
    value = Decimal(number).normalize()  # leading and trailing zeros trimmed
    if value.is_zero():
        return 1
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 (a finite number: DynamoDB has no others)
    lowest, highest = exponent, exponent + len(digits) - 1
    pairs = highest // 2 - lowest // 2 + 1
    if len(digits) > 21:
        pairs = max(pairs, len(digits))
    return 1 + pairs + sign
