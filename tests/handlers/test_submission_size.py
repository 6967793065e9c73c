"""A valid request too large for DynamoDB's 400 KB item is refused at submission with a 422
naming the limit, never a 500; one just within the limit is stored."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET, load_event
from tests.support.api import ApiCaller
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs import request_size

COLUMNS = 1000  # InputPreparation allows up to 1,000 names of up to 256 characters


def request_with(*, column_chars: int, env_chars: int, last_env_chars: int, char: str = "x") -> Any:
    """A valid request made large by InputPreparation.Columns and a full Environment (16
    variables); the last variable's length moves the size a byte at a time."""
    request: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/team-a/in/"
    request["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/team-a/out/"
    if column_chars:
        request["InputPreparation"] = {
            "Header": "Present",
            "Columns": [f"c{i:04d}" + "x" * (column_chars - 5) for i in range(COLUMNS)],
        }
    request["Environment"] = {f"SETTING_{i:02d}": char * env_chars for i in range(15)}
    request["Environment"]["SETTING_15"] = char * last_env_chars
    return request


@pytest.fixture
def api(aws: dict[str, str]) -> ApiCaller:
    register_team("team-a")
    return ApiCaller("team-a")


def launch_messages(queue_url: str) -> int:
    reply = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return len(reply.get("Messages", []))


def test_a_request_just_within_the_limit_is_stored_and_one_byte_more_is_a_422(
    api: ApiCaller,
) -> None:
    def status(last_env_chars: int) -> int:
        body = request_with(column_chars=210, env_chars=10240, last_env_chars=last_env_chars)
        return api.call("POST", "/v1/jobs", body=body)[0]

    low, high = 0, 10240  # accepted at low, refused at high (checked first)
    assert (status(low), status(high)) == (202, 422)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if status(middle) == 202 else (low, middle)

    body = request_with(column_chars=210, env_chars=10240, last_env_chars=low)
    code, _, job = api.call("POST", "/v1/jobs", body=body)
    assert code == 202
    stored = job_repository.get_job(job["JobId"])
    assert stored is not None and stored.Request.Environment == body["Environment"]
    assert job_repository.new_job_item_bytes(stored) == request_size.LIMIT_BYTES

    over = request_with(column_chars=210, env_chars=10240, last_env_chars=low + 1)
    code, _, problem = api.call("POST", "/v1/jobs", body=over)
    assert code == 422
    [error] = problem["errors"]
    assert error["field"] == "InputPreparation.Columns"
    assert "400 KB" in error["reason"] and "409,600" in error["reason"]


def test_a_request_over_dynamodbs_item_limit_is_a_422_not_a_500(
    api: ApiCaller, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = request_with(column_chars=256, env_chars=10240, last_env_chars=10240)

    code, _, problem = api.call("POST", "/v1/jobs", body=body)

    assert code == 422, problem
    assert problem["errors"][0]["field"] == "InputPreparation.Columns"
    assert "DynamoDB item holds at most 409,600 bytes" in problem["errors"][0]["reason"]
    assert api.call("GET", "/v1/jobs")[2]["Jobs"] == []
    assert launch_messages(aws["queue_url"]) == 0
    # Without the check, DynamoDB itself refuses the item: the 500 this prevents.
    monkeypatch.setattr(request_size, "check", lambda *args, **kwargs: None)
    assert api.call("POST", "/v1/jobs", body=body)[0] == 500


def test_the_idempotency_record_counts_escaped_text(api: ApiCaller) -> None:
    # 16 x 10,240 "é": 2 bytes each in the job's item, 6 ("\u00e9") in the idempotency record.
    body = request_with(column_chars=0, env_chars=10240, last_env_chars=10240, char="é")
    key = {"Idempotency-Key": "wide-environment"}

    assert api.call("POST", "/v1/jobs", body=body)[0] == 202
    code, _, problem = api.call("POST", "/v1/jobs", body=body, headers=key)

    assert code == 422, problem
    assert problem["errors"][0]["field"] == "Environment"
    assert "Idempotency-Key" in problem["detail"]
    # The refused request left no record in flight: the key serves a smaller request.
    smaller = request_with(column_chars=0, env_chars=100, last_env_chars=100, char="é")
    assert api.call("POST", "/v1/jobs", body=smaller, headers=key)[0] == 202
