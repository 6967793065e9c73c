"""dynamodb_values.serialize gives what boto3's TypeSerializer gives and refuses what it refuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.adapters.dynamodb.dynamodb_values import serialize
from transform_jobs.adapters.dynamodb.table import from_item, to_item

BOTO3 = TypeSerializer()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**37), max_value=10**37),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, max_value=10**20, min_value=-(10**20)
    ),
    st.text(max_size=20),
    st.binary(max_size=20),
)
sets = st.one_of(
    st.frozensets(st.integers(-(10**37), 10**37), min_size=1, max_size=5).map(set),
    st.frozensets(st.text(max_size=5), min_size=1, max_size=5).map(set),
    st.frozensets(st.binary(max_size=5), min_size=1, max_size=5).map(set),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=20,
)


def _same_sets(value: Any) -> Any:
    """Set members come out in iteration order: compare them as sorted lists."""
    if isinstance(value, dict):
        return {
            key: sorted(inner, key=repr) if key in ("NS", "SS", "BS") else _same_sets(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_same_sets(inner) for inner in value]
    return value


@settings(max_examples=examples(100), deadline=None)
@given(values)
def test_serializes_as_boto3_does(value: Any) -> None:
    assert _same_sets(serialize(value)) == _same_sets(BOTO3.serialize(value))


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        {1, "a"},
        {b"a", "a"},
        object(),
        10**40,
        Decimal("1.00000000000000000000000000000000000001"),
    ],
    ids=["float", "mixed-set", "bytes-and-str-set", "object", "too-many-digits", "inexact"],
)
def test_refuses_what_boto3_refuses(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)) as ours:
        serialize(value)
    with pytest.raises((TypeError, ArithmeticError)) as theirs:
        BOTO3.serialize(value)
    assert type(ours.value) is type(theirs.value)


@settings(max_examples=examples(60), deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5))
def test_items_read_back_as_boto3_reads_them(item: dict[str, Any]) -> None:
    stored = to_item(item)
    deserializer = TypeDeserializer()
    assert from_item(stored) == {
        key: deserializer.deserialize(value) for key, value in stored.items()
    }
