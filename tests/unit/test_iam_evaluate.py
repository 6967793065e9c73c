"""IAM's decision for one request (local/iam/evaluate.py): Deny over Allow, wildcards, and the
condition operators, as AWS documents them."""

from __future__ import annotations

from typing import Any

import pytest

from local.iam.evaluate import Request, evaluate, parse_statements

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/jobs"
BUCKET = "arn:aws:s3:::data"


def decide(statements: list[dict[str, Any]], action: str, resource: str, **context: Any) -> Any:
    values = {k.replace("__", ":"): v if isinstance(v, list) else [v] for k, v in context.items()}
    return evaluate(parse_statements(statements), Request(action, resource, values))


def allow(action: Any, resource: Any, **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def test_nothing_is_allowed_without_a_statement_that_allows_it() -> None:
    decision = decide([allow("dynamodb:GetItem", TABLE)], "dynamodb:PutItem", TABLE)
    assert not decision.allowed
    assert not decision.explicit_deny
    assert decide([allow("dynamodb:GetItem", TABLE)], "dynamodb:GetItem", TABLE).allowed
    assert not decide([allow("dynamodb:GetItem", TABLE)], "dynamodb:GetItem", TABLE + "2").allowed


def test_an_explicit_deny_beats_any_allow_in_any_order() -> None:
    deny = {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": "*"}
    everything = allow("dynamodb:*", "*")
    for statements in ([everything, deny], [deny, everything]):
        decision = decide(statements, "dynamodb:DeleteItem", TABLE)
        assert not decision.allowed
        assert decision.explicit_deny
        assert decision.statement == "NoDeletes"
    assert decide([everything, deny], "dynamodb:GetItem", TABLE).allowed


def test_actions_match_case_insensitively_with_wildcards_resources_case_sensitively() -> None:
    statements = [allow("SQS:sendmessage*", "arn:aws:sqs:us-east-1:123456789012:q-?")]
    queue = "arn:aws:sqs:us-east-1:123456789012:q-1"
    assert decide(statements, "sqs:SendMessage", queue).allowed
    assert decide(statements, "sqs:SendMessageBatch", queue).allowed
    assert not decide(statements, "sqs:ReceiveMessage", queue).allowed
    assert not decide(statements, "sqs:SendMessage", queue + "0").allowed  # ? is one character
    assert not decide(statements, "sqs:SendMessage", queue.replace("q-1", "Q-1")).allowed
    objects = [allow("s3:GetObject", "arn:*:s3:::data/*.transform-jobs/*")]
    assert decide(objects, "s3:GetObject", f"{BUCKET}/team/out/.transform-jobs/j/1.csv").allowed
    assert not decide(objects, "s3:GetObject", f"{BUCKET}/team/out/result.csv").allowed


def test_not_action_and_not_resource_invert_the_match() -> None:
    statements = [
        {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/*"},
    ]
    assert decide(statements, "s3:GetObject", f"{BUCKET}/k").allowed
    assert not decide(statements, "s3:DeleteObject", f"{BUCKET}/k").allowed
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::other/k").explicit_deny


def test_string_like_on_a_prefix_requires_the_key() -> None:
    listing = [allow("s3:ListBucket", BUCKET, StringLike={"s3:prefix": ["team-a/*", "shared/"]})]
    assert decide(listing, "s3:ListBucket", BUCKET, s3__prefix="team-a/in/").allowed
    assert decide(listing, "s3:ListBucket", BUCKET, s3__prefix="shared/").allowed
    assert not decide(listing, "s3:ListBucket", BUCKET, s3__prefix="team-b/").allowed
    # A listing without a prefix does not carry the key: the condition is false.
    assert not decide(listing, "s3:ListBucket", BUCKET).allowed


def test_negated_operators_hold_for_an_absent_key_and_nor_their_values() -> None:
    statements = [allow("s3:ListBucket", BUCKET, StringNotEquals={"s3:prefix": ["a/", "b/"]})]
    assert decide(statements, "s3:ListBucket", BUCKET).allowed  # absent: true
    assert decide(statements, "s3:ListBucket", BUCKET, s3__prefix="c/").allowed
    assert not decide(statements, "s3:ListBucket", BUCKET, s3__prefix="b/").allowed


def test_if_exists_and_null_test_whether_the_key_is_there() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    if_exists = [allow("kms:Decrypt", key, StringEqualsIfExists={"kms:ViaService": "s3.x"})]
    assert decide(if_exists, "kms:Decrypt", key).allowed
    assert not decide(if_exists, "kms:Decrypt", key, kms__ViaService="sqs.x").allowed
    needs_context = [allow("kms:Decrypt", key, Null={"kms:EncryptionContext:TeamId": "false"})]
    assert not decide(needs_context, "kms:Decrypt", key).allowed
    assert decide(needs_context, "kms:Decrypt", key, **{"kms__EncryptionContext__TeamId": "t"})


def test_condition_key_names_are_case_insensitive_values_are_not() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    statements = [allow("kms:Encrypt", key, StringEquals={"kms:encryptioncontext:teamid": "t1"})]
    context = {"kms__EncryptionContext__TeamId": "t1"}
    assert decide(statements, "kms:Encrypt", key, **context).allowed
    assert not decide(statements, "kms:Encrypt", key, kms__EncryptionContext__TeamId="T1").allowed
    ignore_case = [
        allow("kms:Encrypt", key, StringEqualsIgnoreCase={"kms:EncryptionContext:TeamId": "t1"})
    ]
    assert decide(ignore_case, "kms:Encrypt", key, kms__EncryptionContext__TeamId="T1").allowed


def test_set_operators_over_multivalued_keys() -> None:
    table = [
        allow(
            "dynamodb:GetItem",
            TABLE,
            **{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["team-a#*"]}},
        )
    ]
    assert decide(table, "dynamodb:GetItem", TABLE, dynamodb__LeadingKeys=["team-a#1"]).allowed
    mixed = ["team-a#1", "team-b#1"]
    assert not decide(table, "dynamodb:GetItem", TABLE, dynamodb__LeadingKeys=mixed).allowed
    assert decide(table, "dynamodb:GetItem", TABLE).allowed  # ForAllValues of nothing holds
    any_value = [allow("s3:GetObject", "*", **{"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}})]
    assert decide(any_value, "s3:GetObject", "x", aws__TagKeys=["b", "a"]).allowed
    assert not decide(any_value, "s3:GetObject", "x").allowed


def test_conditions_are_anded_across_operators_and_keys() -> None:
    condition = {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        "Bool": {"kms:GrantIsForAWSResource": "true"},
    }
    statements = [allow("kms:CreateGrant", "*", **condition)]
    both = {"kms__ViaService": "s3.us-east-1.amazonaws.com", "kms__GrantIsForAWSResource": "true"}
    assert decide(statements, "kms:CreateGrant", "k", **both).allowed
    assert not decide(
        statements, "kms:CreateGrant", "k", **{**both, "kms__GrantIsForAWSResource": "false"}
    ).allowed


def test_numeric_and_arn_operators() -> None:
    numeric = [allow("s3:ListBucket", BUCKET, NumericLessThanEquals={"s3:max-keys": "100"})]
    assert decide(numeric, "s3:ListBucket", BUCKET, **{"s3__max-keys": "100"}).allowed
    assert not decide(numeric, "s3:ListBucket", BUCKET, **{"s3__max-keys": "1000"}).allowed
    arn = [
        allow(
            "sagemaker:CreateTransformJob",
            "*",
            ArnLike={"sagemaker:ModelArn": "arn:aws:sagemaker:*:*:model/iris-*"},
        )
    ]
    model = "arn:aws:sagemaker:us-east-1:123456789012:model/iris-2"
    assert decide(arn, "sagemaker:CreateTransformJob", "j", sagemaker__ModelArn=model).allowed
    other = model.replace("iris-2", "churn")
    assert not decide(arn, "sagemaker:CreateTransformJob", "j", sagemaker__ModelArn=other).allowed


@pytest.mark.parametrize("operator", ["DateLessThan", "IpAddress", "ForEachValue:StringLike"])
def test_what_cannot_be_decided_fails_closed(operator: str) -> None:
    undecidable = {operator: {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    allowed = decide([allow("s3:GetObject", "*", **undecidable)], "s3:GetObject", "x")
    assert not allowed.allowed  # an Allow we cannot decide grants nothing
    assert operator in allowed.undecidable[0]
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*", "Condition": undecidable}
    denied = decide([allow("s3:*", "*"), deny], "s3:GetObject", "x")
    assert denied.explicit_deny  # a Deny we cannot decide denies


def test_a_condition_on_a_key_the_caller_cannot_supply_fails_closed() -> None:
    statements = parse_statements(
        [
            allow("s3:*", "*"),
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/locked": "true"}},
            },
        ]
    )
    request = Request("s3:GetObject", "x")
    # Without knowing which keys exist, an absent key is just absent...
    assert evaluate(statements, request).allowed
    # ...but a key nobody can supply here might be present in AWS: the Deny applies.
    decision = evaluate(statements, request, known_key=lambda key: key.startswith("s3:"))
    assert decision.explicit_deny
    assert "aws:ResourceTag/locked" in decision.undecidable[0]
