"""The JSONPath subset SageMaker accepts in DataProcessing filters."""

from __future__ import annotations

import pytest

from transform_jobs.models.jsonpath_filter import (
    MAX_FILTER_LENGTH,
    Indexes,
    JsonPathError,
    Names,
    Slice,
    Wildcard,
    parse,
)


@pytest.mark.parametrize(
    ("expression", "segments"),
    [
        ("$", ()),
        ("$.features", (Names(("features",)),)),
        ("$.a.b_c.d-e", (Names(("a",)), Names(("b_c",)), Names(("d-e",)))),
        ("$.*", (Wildcard(),)),
        ("$[*]", (Wildcard(),)),
        ("$['a','b']", (Names(("a", "b")),)),
        ("$['id', 'features']", (Names(("id", "features")),)),
        ("$['a']", (Names(("a",)),)),
        ("$[1]", (Indexes((1,)),)),
        ("$[-1]", (Indexes((-1,)),)),
        ("$[0]", (Indexes((0,)),)),
        ("$[1,3,5]", (Indexes((1, 3, 5)),)),
        ("$[2:5]", (Indexes((Slice(2, 5),)),)),
        ("$[:5]", (Indexes((Slice(None, 5),)),)),
        ("$[2:]", (Indexes((Slice(2, None),)),)),
        ("$[0:0]", (Indexes((Slice(0, 0),)),)),
        ("$[0,5:]", (Indexes((0, Slice(5, None))),)),
        ("$[1:]", (Indexes((Slice(1, None),)),)),
        ("$[0,-1]", (Indexes((0, -1)),)),
        ("$[ 1 , 2 ]", (Indexes((1, 2)),)),
        ("$.features[0]", (Names(("features",)), Indexes((0,)))),
        ("$.data[*].id", (Names(("data",)), Wildcard(), Names(("id",)))),
        ("$['a'][1:3]", (Names(("a",)), Indexes((Slice(1, 3),)))),
    ],
)
def test_sagemaker_form_parses_into_its_segments(expression: str, segments: tuple[object]) -> None:
    assert parse(expression) == segments


def test_filter_of_63_characters_is_accepted() -> None:
    expression = "$." + "a" * 61

    assert len(expression) == MAX_FILTER_LENGTH == 63
    assert parse(expression) == (Names(("a" * 61,)),)


def test_filter_over_63_characters_is_refused_naming_the_limit() -> None:
    with pytest.raises(JsonPathError, match=r"^is 64 characters; SageMaker allows at most 63$"):
        parse("$." + "a" * 62)


@pytest.mark.parametrize("expression", ["features", ".features", "", "[0]", " $"])
def test_filter_without_leading_dollar_is_refused(expression: str) -> None:
    with pytest.raises(JsonPathError, match=r"must start with '\$'"):
        parse(expression)


@pytest.mark.parametrize("expression", ["$..a", "$..", "$.", "$.1a", "$.[0]"])
def test_recursive_descent_or_missing_member_name_is_refused(expression: str) -> None:
    with pytest.raises(JsonPathError, match=r"needs a member name or '\*' after '\.'"):
        parse(expression)


@pytest.mark.parametrize(("expression", "position"), [("$[", 1), ("$[0", 1), ("$.a['b'", 3)])
def test_unclosed_bracket_is_refused_with_its_position(expression: str, position: int) -> None:
    with pytest.raises(JsonPathError, match=rf"^has an unclosed '\[' at position {position}$"):
        parse(expression)


@pytest.mark.parametrize(
    "expression", ["$[]", "$[ ]", "$[a]", "$[1,]", "$[,1]", "$[1:2:3]", "$[--1]", "$[1.5]"]
)
def test_empty_or_non_integer_index_is_refused(expression: str) -> None:
    with pytest.raises(JsonPathError, match=r"has a bad index .* at position 1"):
        parse(expression)


@pytest.mark.parametrize(
    "expression", ["$['a'b']", "$['a''b']", "$['']", "$['a',]", "$['a', b]", "$['a]"]
)
def test_nested_quotes_or_empty_names_are_refused(expression: str) -> None:
    with pytest.raises(JsonPathError, match=r"has a bad quoted name list at position 1"):
        parse(expression)


@pytest.mark.parametrize(("expression", "char"), [("$a", "a"), ("$ ", " "), ("$[0]]", "]")])
def test_unexpected_character_after_a_segment_is_refused(expression: str, char: str) -> None:
    with pytest.raises(JsonPathError, match=rf"has an unexpected {char!r}"):
        parse(expression)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must start"):
        parse("a")
