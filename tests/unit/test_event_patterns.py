"""EventBridge event-pattern matching, as the local runtime applies it to rules and filters."""

from __future__ import annotations

from typing import Any

import pytest

from local.runtime.patterns import PatternError, matches, validate

# The pattern of RecordStateChangeFunction's EventBridge rule in template.yaml, Stage=dev.
TEMPLATE_PATTERN = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Transform Job State Change"],
    "detail": {"TransformJobName": [{"prefix": "tj-dev-"}]},
}


def _sagemaker_event(job_name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Transform Job State Change",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job_name}"],
        "detail": {"TransformJobName": job_name, "TransformJobStatus": "Completed"},
    }


@pytest.mark.parametrize(
    ("job_name", "expected"),
    [("tj-dev-abc", True), ("tj-prod-abc", False), ("TJ-DEV-abc", False), ("tj-dev", False)],
)
def test_template_pattern(job_name: str, expected: bool) -> None:
    validate(TEMPLATE_PATTERN)
    assert matches(TEMPLATE_PATTERN, _sagemaker_event(job_name)) is expected


def test_template_pattern_needs_the_other_fields() -> None:
    event = _sagemaker_event("tj-dev-abc") | {"source": "aws.s3"}
    assert not matches(TEMPLATE_PATTERN, event)


# (leaf matchers for field "f", the event's "f" — or the event itself when a dict —, expected)
LEAF_CASES: list[tuple[str, list[Any], Any, bool]] = [
    # exact values
    ("string", ["a", "b"], "b", True),
    ("string miss", ["a", "b"], "c", False),
    ("string is case sensitive", ["a"], "A", False),
    ("empty string", [""], "", True),
    ("empty string is not null", [""], None, False),
    ("int", [5], 5, True),
    ("int matches float", [5], 5.0, True),
    ("float matches int", [5.0], 5, True),
    ("number miss", [5], 6, False),
    ("number is not its string", [5], "5", False),
    ("string is not its number", ["5"], 5, False),
    ("null", [None], None, True),
    ("null miss", [None], "null", False),
    ("true", [True], True, True),
    ("true is not 1", [True], 1, False),
    ("1 is not true", [1], True, False),
    ("false miss", [False], True, False),
    # prefix / suffix
    ("prefix", [{"prefix": "us-"}], "us-east-1", True),
    ("prefix miss", [{"prefix": "us-"}], "eu-west-1", False),
    ("prefix case", [{"prefix": "us-"}], "US-east-1", False),
    ("prefix only strings", [{"prefix": "1"}], 12, False),
    ("prefix ignore case", [{"prefix": {"equals-ignore-case": "EVENTB"}}], "EventBridge", True),
    ("prefix ignore case miss", [{"prefix": {"equals-ignore-case": "x"}}], "EventBridge", False),
    ("suffix", [{"suffix": ".png"}], "a/b.png", True),
    ("suffix miss", [{"suffix": ".png"}], "a/b.jpg", False),
    ("suffix ignore case", [{"suffix": {"equals-ignore-case": ".PNG"}}], "b.png", True),
    ("suffix ignore case miss", [{"suffix": {"equals-ignore-case": ".PNG"}}], "b.jpg", False),
    # equals-ignore-case
    ("equals-ignore-case", [{"equals-ignore-case": "alice"}], "ALICE", True),
    ("equals-ignore-case miss", [{"equals-ignore-case": "alice"}], "alicia", False),
    ("equals-ignore-case only strings", [{"equals-ignore-case": "1"}], 1, False),
    # wildcard
    ("wildcard", [{"wildcard": "a*b"}], "axxb", True),
    ("wildcard empty run", [{"wildcard": "a*b"}], "ab", True),
    ("wildcard anchored", [{"wildcard": "a*b"}], "axxbc", False),
    ("wildcard several", [{"wildcard": "*/lib/*.so"}], "usr/lib/x/y.so", True),
    ("wildcard regex chars are literal", [{"wildcard": "a.c*"}], "abc", False),
    ("wildcard escaped star", [{"wildcard": r"a\*b"}], "a*b", True),
    ("wildcard escaped star miss", [{"wildcard": r"a\*b"}], "axb", False),
    ("wildcard escaped backslash", [{"wildcard": "a\\\\*"}], "a\\zz", True),
    ("wildcard spans newlines", [{"wildcard": "a*b"}], "a\nb", True),
    ("wildcard only strings", [{"wildcard": "*"}], 3, False),
    # anything-but
    ("anything-but string", [{"anything-but": "init"}], "running", True),
    ("anything-but string miss", [{"anything-but": "init"}], "init", False),
    ("anything-but list", [{"anything-but": ["a", "b"]}], "c", True),
    ("anything-but list miss", [{"anything-but": ["a", "b"]}], "b", False),
    ("anything-but number", [{"anything-but": 100}], 101, True),
    ("anything-but number miss", [{"anything-but": [100, 200]}], 200.0, False),
    ("anything-but prefix", [{"anything-but": {"prefix": "us-"}}], "eu-west-1", True),
    ("anything-but prefix miss", [{"anything-but": {"prefix": "us-"}}], "us-east-1", False),
    ("anything-but suffix", [{"anything-but": {"suffix": ".png"}}], "a.jpg", True),
    ("anything-but suffix miss", [{"anything-but": {"suffix": ".png"}}], "a.png", False),
    ("anything-but ignore case", [{"anything-but": {"equals-ignore-case": "x"}}], "y", True),
    ("anything-but ignore case miss", [{"anything-but": {"equals-ignore-case": "x"}}], "X", False),
    (
        "anything-but ignore case list miss",
        [{"anything-but": {"equals-ignore-case": ["x", "y"]}}],
        "Y",
        False,
    ),
    ("anything-but wildcard", [{"anything-but": {"wildcard": "*/lib/*"}}], "/usr/bin/x", True),
    ("anything-but wildcard miss", [{"anything-but": {"wildcard": "*/lib/*"}}], "/a/lib/x", False),
    ("anything-but prefix only strings", [{"anything-but": {"prefix": "x"}}], 5, False),
    # numeric
    ("numeric range", [{"numeric": [">", 0, "<=", 5]}], 5, True),
    ("numeric range inside", [{"numeric": [">", 0, "<=", 5]}], 0.5, True),
    ("numeric range open bottom", [{"numeric": [">", 0, "<=", 5]}], 0, False),
    ("numeric range above", [{"numeric": [">", 0, "<=", 5]}], 5.01, False),
    ("numeric closed bottom", [{"numeric": [">=", 0, "<", 5]}], 0, True),
    ("numeric open top", [{"numeric": [">=", 0, "<", 5]}], 5, False),
    ("numeric <", [{"numeric": ["<", 10]}], 9.99, True),
    ("numeric < miss", [{"numeric": ["<", 10]}], 10, False),
    ("numeric <=", [{"numeric": ["<=", 10]}], 10, True),
    ("numeric >", [{"numeric": [">", -1]}], 0, True),
    ("numeric >=", [{"numeric": [">=", 1]}], 0, False),
    ("numeric =", [{"numeric": ["=", 301.8]}], 301.8, True),
    ("numeric = exponent", [{"numeric": ["=", 3.018e2]}], 301.8, True),
    ("numeric = miss", [{"numeric": ["=", 3]}], 4, False),
    ("numeric not strings", [{"numeric": [">", 0]}], "5", False),
    ("numeric not booleans", [{"numeric": [">", 0]}], True, False),
    # exists
    ("exists true", [{"exists": True}], "x", True),
    ("exists true for null", [{"exists": True}], None, True),
    ("exists false when present", [{"exists": False}], "x", False),
    ("exists true not for an object", [{"exists": True}], {"c1": 100}, False),
    ("exists false for an object", [{"exists": False}], {"c1": 100}, True),
    ("exists true not for an empty array", [{"exists": True}], [], False),
    ("exists false for an empty array", [{"exists": False}], [], True),
    # cidr
    ("cidr", [{"cidr": "10.0.0.0/24"}], "10.0.0.255", True),
    ("cidr miss", [{"cidr": "10.0.0.0/24"}], "10.0.1.0", False),
    ("cidr ipv6", [{"cidr": "2001:db8::/32"}], "2001:db8::1", True),
    ("cidr ipv6 miss", [{"cidr": "2001:db8::/32"}], "2001:db9::1", False),
    ("cidr other version", [{"cidr": "10.0.0.0/8"}], "::ffff:10.0.0.1", False),
    ("cidr not an address", [{"cidr": "10.0.0.0/8"}], "10.0.0.x", False),
    ("cidr only strings", [{"cidr": "10.0.0.0/8"}], 167772161, False),
    # several matchers are ORed
    ("or of operators", [{"prefix": "a"}, {"suffix": "z"}], "xyz", True),
    ("or of kinds", ["x", {"numeric": [">", 5]}], 6, True),
    ("or of kinds miss", ["x", {"numeric": [">", 5]}], 5, False),
    # event arrays: any element
    ("array any element", ["b"], ["a", "b"], True),
    ("array no element", ["c"], ["a", "b"], False),
    ("array nested lists flatten", ["c"], [["a"], ["b", ["c"]]], True),
    ("array numeric", [{"numeric": [">", 10]}], [1, 20], True),
    ("array numeric miss", [{"numeric": [">", 10]}], [1, 2], False),
    ("array prefix", [{"prefix": "arn:"}], [5, "arn:x"], True),
    ("array anything-but any element", [{"anything-but": "a"}], ["a", "b"], True),
    ("array anything-but every element excluded", [{"anything-but": "a"}], ["a", "a"], False),
    ("array exists", [{"exists": True}], ["a"], True),
    ("array of objects is no leaf", ["a"], [{"x": "a"}], False),
]


@pytest.mark.parametrize(
    ("matchers", "value", "expected"),
    [case[1:] for case in LEAF_CASES],
    ids=[case[0] for case in LEAF_CASES],
)
def test_leaf_matchers(matchers: list[Any], value: Any, expected: bool) -> None:
    assert matches({"f": matchers}, {"f": value, "other": "x"}) is expected


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        (["a"], False),
        ([None], False),
        ([{"prefix": ""}], False),
        ([{"anything-but": "a"}], False),
        ([{"numeric": [">", 0]}], False),
        ([{"exists": True}], False),
        ([{"exists": False}], True),
        # exists:false among other matchers still admits an absent field
        (["a", {"exists": False}], True),
    ],
)
def test_absent_field(matchers: list[Any], expected: bool) -> None:
    assert matches({"f": matchers}, {"other": "a"}) is expected


NESTED_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("nested", {"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "x", "d": 1}}}, True),
    ("nested miss", {"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "y"}}}, False),
    ("nested all keys needed", {"a": {"b": ["1"], "c": ["2"]}}, {"a": {"b": "1", "c": "3"}}, False),
    ("nested parent absent", {"a": {"b": ["x"]}}, {"z": 1}, False),
    ("nested parent is a scalar", {"a": {"b": ["x"]}}, {"a": "x"}, False),
    ("nested exists false, parent absent", {"a": {"b": [{"exists": False}]}}, {"z": 1}, True),
    ("nested exists false, child absent", {"a": {"b": [{"exists": False}]}}, {"a": {}}, True),
    ("nested exists false, child there", {"a": {"b": [{"exists": False}]}}, {"a": {"b": 0}}, False),
    ("leaf pattern against an object", {"a": ["x"]}, {"a": {"b": "x"}}, False),
    (
        "array of objects, one element matches",
        {"employees": {"firstName": ["Anna"]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna"}]},
        True,
    ),
    (
        "array of objects, fields from one element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter"}]},
        True,
    ),
    (
        "array of objects, fields from different elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {
            "employees": [
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        },
        False,
    ),
    (
        "nested arrays of objects",
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
    ),
    (
        "dynamodb stream record",
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Status": {"S": ["Failed"]}}}},
        {
            "eventName": "INSERT",
            "dynamodb": {"Keys": {"Id": {"S": "1"}}, "NewImage": {"Status": {"S": "Failed"}}},
        },
        True,
    ),
    (
        "dynamodb stream record, other event",
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Status": {"S": ["Failed"]}}}},
        {"eventName": "MODIFY", "dynamodb": {"NewImage": {"Status": {"S": "Failed"}}}},
        False,
    ),
    (
        "sqs message with a parsed body",
        {"body": {"kind": ["job"], "size": [{"numeric": [">=", 10]}]}},
        {"messageId": "m1", "body": {"kind": "job", "size": 12}},
        True,
    ),
    (
        "sqs message with a plain-text body",
        {"body": {"kind": ["job"]}},
        {"messageId": "m1", "body": "kind=job"},
        False,
    ),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [case[1:] for case in NESTED_CASES],
    ids=[case[0] for case in NESTED_CASES],
)
def test_nested_fields(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected


CLOUDWATCH_OR = {
    "source": ["aws.cloudwatch"],
    "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]},
        {"namespace": ["AWS/EC2", "AWS/ES"], "detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}},
    ],
}

OR_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("first branch", {"source": "aws.cloudwatch", "metricName": "ReadLatency"}, True),
    (
        "second branch with nested $or",
        {"source": "aws.cloudwatch", "namespace": "AWS/ES", "detail": {"b": "2"}},
        True,
    ),
    (
        "second branch, nested $or fails",
        {"source": "aws.cloudwatch", "namespace": "AWS/ES", "detail": {"b": "3"}},
        False,
    ),
    ("no branch", {"source": "aws.cloudwatch", "metricName": "Other"}, False),
    ("branch matches, sibling does not", {"source": "aws.ec2", "metricName": "ReadLatency"}, False),
]


@pytest.mark.parametrize(
    ("event", "expected"),
    [case[1:] for case in OR_CASES],
    ids=[case[0] for case in OR_CASES],
)
def test_or(event: dict[str, Any], expected: bool) -> None:
    assert matches(CLOUDWATCH_OR, event) is expected


VALID_PATTERNS: list[dict[str, Any]] = [
    TEMPLATE_PATTERN,
    CLOUDWATCH_OR,
    {"a": ["x", 1, 2.5, True, None]},
    {"a": [{"prefix": {"equals-ignore-case": "x"}}, {"suffix": ""}]},
    {"a": [{"anything-but": [1, 2]}, {"anything-but": {"wildcard": ["*a", "b*"]}}]},
    {"a": [{"numeric": ["=", 0]}, {"numeric": [">=", 1, "<=", 1]}]},
    {"a": [{"wildcard": r"\\\**x*"}]},
    {"a": [{"cidr": "2001:db8::/32"}, {"cidr": "10.0.0.1"}]},
]


@pytest.mark.parametrize("pattern", VALID_PATTERNS)
def test_validate_accepts(pattern: dict[str, Any]) -> None:
    validate(pattern)


INVALID_PATTERNS: list[tuple[str, Any, str]] = [
    ("not an object", ["a"], "pattern: must be an object"),
    ("empty pattern", {}, "pattern: must not be an empty object"),
    ("empty nested object", {"detail": {}}, "detail: must not be an empty object"),
    ("leaf not a list", {"source": "aws.s3"}, "source: must be a list of matchers or an object"),
    ("leaf a number", {"detail": {"n": 5}}, "detail.n: must be a list of matchers or an object"),
    ("empty list", {"source": []}, "source: must not be an empty list"),
    ("nested list", {"a": [["x"]]}, "a[0]: must be a string, number, boolean, null or operator"),
    ("unknown operator", {"a": [{"contains": "x"}]}, "a[0]: unknown operator 'contains'"),
    ("two keys in an operator", {"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one key"),
    ("prefix not a string", {"a": [{"prefix": 1}]}, "a[0].prefix: must be a string, not int"),
    ("prefix bad object", {"a": [{"prefix": {"wildcard": "x"}}]}, "a[0].prefix: an object here"),
    ("suffix ignore case not a string", {"a": [{"suffix": {"equals-ignore-case": 1}}]}, "int"),
    ("equals-ignore-case list", {"a": [{"equals-ignore-case": ["x"]}]}, "must be a string"),
    ("exists not a boolean", {"a": [{"exists": "true"}]}, "a[0].exists: must be true or false"),
    ("numeric not a list", {"a": [{"numeric": 5}]}, "a[0].numeric: must be [op, number]"),
    ("numeric odd length", {"a": [{"numeric": [">", 0, "<"]}]}, "numeric: must be [op, number]"),
    ("numeric too long", {"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]}, "must be [op, number]"),
    ("numeric bad op", {"a": [{"numeric": ["!=", 0]}]}, "a[0].numeric[0]: '!=' is not one of"),
    ("numeric bound a string", {"a": [{"numeric": [">", "0"]}]}, "numeric[1]: must be a number"),
    ("numeric bound a bool", {"a": [{"numeric": [">", True]}]}, "numeric[1]: must be a number"),
    ("numeric not finite", {"a": [{"numeric": [">", float("inf")]}]}, "must be a finite number"),
    ("numeric two lower bounds", {"a": [{"numeric": [">", 0, ">", 5]}]}, "a range is a lower"),
    ("numeric upper first", {"a": [{"numeric": ["<", 5, ">", 0]}]}, "a range is a lower"),
    ("numeric = in a range", {"a": [{"numeric": ["=", 5, "<", 6]}]}, "a range is a lower"),
    ("numeric empty range", {"a": [{"numeric": [">", 5, "<", 1]}]}, "lower bound 5 is above"),
    ("anything-but mixed list", {"a": [{"anything-but": ["a", 1]}]}, "only strings or only"),
    ("anything-but empty list", {"a": [{"anything-but": []}]}, "must not be an empty list"),
    ("anything-but null", {"a": [{"anything-but": None}]}, "a[0].anything-but: must be a string"),
    ("anything-but bad operator", {"a": [{"anything-but": {"numeric": [">", 1]}}]}, "unknown"),
    ("anything-but prefix list", {"a": [{"anything-but": {"prefix": ["x"]}}]}, "must be a string"),
    ("wildcard double star", {"a": [{"wildcard": "a**b"}]}, "consecutive * wildcards"),
    ("wildcard bad escape", {"a": [{"wildcard": r"a\b"}]}, "only * and \\ may follow"),
    ("wildcard trailing backslash", {"a": [{"wildcard": "a\\"}]}, "unfinished backslash"),
    ("cidr malformed", {"a": [{"cidr": "10.0.0.0/33"}]}, "a[0].cidr: '10.0.0.0/33' is not a CIDR"),
    ("cidr not a string", {"a": [{"cidr": 10}]}, "a[0].cidr: must be a string"),
    ("$or not a list", {"$or": {"a": ["x"]}}, "$or: must be a list of at least two patterns"),
    ("$or one pattern", {"$or": [{"a": ["x"]}]}, "$or: must be a list of at least two patterns"),
    ("$or bad branch", {"d": {"$or": [{"a": ["x"]}, {"b": "y"}]}}, "d.$or[1].b: must be a list"),
    ("$or branch not an object", {"$or": [{"a": ["x"]}, ["b"]]}, "$or[1]: must be an object"),
]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [case[1:] for case in INVALID_PATTERNS],
    ids=[case[0] for case in INVALID_PATTERNS],
)
def test_validate_rejects(pattern: Any, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        validate(pattern)
    assert message in str(caught.value)


def test_pattern_error_is_a_value_error() -> None:
    assert issubclass(PatternError, ValueError)


def test_matches_rejects_an_invalid_pattern() -> None:
    with pytest.raises(PatternError, match=r"source: must be a list"):
        matches({"source": "aws.s3"}, {"source": "aws.s3"})
