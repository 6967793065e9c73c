"""The REQUEST authorizer driven with events/authorizer_request.json."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_event
from tests.support.lambda_context import FakeContext
from tests.support.teams import register_team
from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import team_repository


def authorize(authorization: str | None) -> dict[str, Any]:
    from authorizer import app

    event = copy.deepcopy(load_event("authorizer_request.json"))
    event["headers"] = {"Authorization": authorization} if authorization else {}
    reply: dict[str, Any] = app.handler(event, FakeContext())
    return reply


def test_a_valid_key_allows_the_whole_api_and_names_the_team(aws: dict[str, str]) -> None:
    key = register_team("team-a")
    policy = authorize(f"Bearer {key}")
    assert policy["principalId"] == "team-a"
    assert policy["context"] == {"teamId": "team-a"}
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    # Cached decisions are reused for every route, so the policy must cover every route:
    # the method ARN's API and stage, any method, any path.
    method_arn = load_event("authorizer_request.json")["methodArn"]
    api_and_stage = "/".join(method_arn.split("/")[:2])
    assert api_and_stage == "arn:aws:execute-api:us-east-1:123456789012:abcdef123/dev"
    assert statement["Resource"] == [f"{api_and_stage}/*/*"]


@pytest.mark.parametrize(
    ("partition", "region"), [("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")]
)
def test_the_policy_is_in_the_partition_of_the_api_that_asked(
    aws: dict[str, str], partition: str, region: str
) -> None:
    """An allow for arn:aws:... would not match a request to an API in another partition."""
    from authorizer import app

    key = register_team("team-a")
    event = copy.deepcopy(load_event("authorizer_request.json"))
    event["headers"] = {"Authorization": f"Bearer {key}"}
    event["methodArn"] = (
        f"arn:{partition}:execute-api:{region}:123456789012:abc123defg/dev/GET/v1/jobs"
    )
    policy = app.handler(event, FakeContext())
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Resource"] == [
        f"arn:{partition}:execute-api:{region}:123456789012:abc123defg/dev/*/*"
    ]


def test_the_scheme_is_case_insensitive(aws: dict[str, str]) -> None:
    key = register_team("team-a")
    assert authorize(f"bearer {key}")["principalId"] == "team-a"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer tjk_not-a-real-key", "tjk_no-scheme"],
)
def test_missing_or_unknown_keys_are_unauthorized(aws: dict[str, str], header: str | None) -> None:
    register_team("team-a")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(header)


def test_a_revoked_key_is_unauthorized(aws: dict[str, str]) -> None:
    key = register_team("team-a")
    assert team_repository.delete_api_key(team_id="team-a", key_id=api_keys.key_id(key))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(f"Bearer {key}")


def test_keys_are_stored_only_as_hashes(aws: dict[str, str]) -> None:
    import boto3

    key = register_team("team-a")
    items = boto3.client("dynamodb").scan(TableName=aws["table"])["Items"]
    assert key not in repr(items)
    assert api_keys.key_hash(key) in repr(items)
