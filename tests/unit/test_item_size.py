"""item_bytes counts an item as DynamoDB's "item sizes and formats" rules do (worked by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from transform_jobs.adapters.dynamodb.item_size import item_bytes


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"PK": {"S": "JOB#1"}}, 2 + 5),
        ({"Name": {"S": "é€😀"}}, 4 + 2 + 3 + 4),  # UTF-8 bytes, not characters
        # Numbers: base-100 digits aligned on the decimal point, 1 byte for the exponent, 1
        # more when negative (as DynamoDB Local counts them).
        ({"n": {"N": "0012300"}}, 1 + 1 + 2),  # 1|23|00: zeros trimmed, two pairs
        ({"n": {"N": "15"}}, 1 + 1 + 1),
        ({"n": {"N": "1.5"}}, 1 + 1 + 2),  # 01.50
        ({"n": {"N": "-6"}}, 1 + 1 + 1 + 1),
        ({"n": {"N": "-1.5E+10"}}, 1 + 1 + 2 + 1),  # 1|50|00|00|00|00
        ({"n": {"N": "0"}}, 1 + 1),
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # raw bytes, not base64
        ({"f": {"BOOL": False}, "z": {"NULL": True}}, 1 + 1 + 1 + 1),
        ({"e": {"L": []}, "m": {"M": {}}}, 1 + 3 + 1 + 3),
        # A list: 3 bytes, then per element 1 byte and the element's size.
        ({"L": {"L": [{"S": "ab"}, {"N": "7"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),
        # A map: 3 bytes, then per element 1 byte, its name and its value.
        ({"M": {"M": {"k": {"S": "v"}, "kk": {"M": {}}}}}, 1 + 3 + (1 + 1 + 1) + (1 + 2 + 3)),
        ({"s": {"SS": ["a", "bc"]}, "ns": {"NS": ["1", "22"]}}, 1 + 3 + 2 + 2 + 2),
    ],
)
def test_sizes_follow_dynamodbs_rules(item: dict[str, Any], size: int) -> None:
    assert item_bytes(item) == size


def test_an_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="XX"):
        item_bytes({"a": {"XX": 1}})
