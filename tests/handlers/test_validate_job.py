"""POST /v1/jobs/validate: every check a submission and its launch make, nothing stored or
started, each finding naming its field."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET
from tests.handlers.test_jobs_api import launch_messages, seed_request
from tests.support.api import ApiCaller
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository

ROWS = b"1,0.5,3\n2,0.7,4\n"


@pytest.fixture
def api(aws: dict[str, str]) -> ApiCaller:
    register_team("team-a")
    return ApiCaller("team-a")


def put(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)


def validate(api: ApiCaller, body: Any) -> dict[str, Any]:
    status, _, answer = api.call("POST", "/v1/jobs/validate", body=body)
    assert status == 200, answer
    return answer


def fields(findings: list[dict[str, str]]) -> list[str]:
    return [finding["field"] for finding in findings]


def nothing_stored_or_queued(aws: dict[str, str]) -> bool:
    jobs, _ = job_repository.list_jobs(job_repository.JobFilter("team-a"), limit=10, token=None)
    return jobs == [] and launch_messages(aws["queue_url"]) == []


def test_a_job_that_would_start_is_valid_and_its_input_counted(
    api: ApiCaller, aws: dict[str, str], sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", ROWS)
    put("team-a/in/b.csv", ROWS * 2)
    sagemaker.model_exists("churn-xgb")

    answer = validate(api, seed_request())

    assert answer == {
        "Valid": True,
        "Errors": [],
        "Warnings": [],
        "Input": {"Objects": 2, "Bytes": len(ROWS) * 3},
    }
    assert nothing_stored_or_queued(aws)


def test_fields_that_break_the_schema_are_errors_not_a_422(
    api: ApiCaller, aws: dict[str, str]
) -> None:
    request = seed_request()
    request["MaxPayloadInMB"] = 500
    del request["ModelName"]

    answer = validate(api, request)

    assert answer["Valid"] is False and answer.get("Input") is None
    assert sorted(fields(answer["Errors"])) == ["MaxPayloadInMB", "ModelName"]
    assert all(error["reason"] for error in answer["Errors"])
    assert nothing_stored_or_queued(aws)


def test_a_body_that_is_json_but_no_object_is_a_422(api: ApiCaller) -> None:
    status, _, problem = api.call("POST", "/v1/jobs/validate", body=[1, 2])
    assert status == 422
    assert [error["field"] for error in problem["errors"]] == ["body"]


def test_a_body_that_is_not_json_stays_a_400(api: ApiCaller) -> None:
    status, _, problem = api.call("POST", "/v1/jobs/validate", raw_body="{not json")
    assert status == 400
    assert problem["errors"][0]["field"] == "body"


def test_data_the_team_may_not_use_is_an_error_naming_the_field(api: ApiCaller) -> None:
    request = seed_request()
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/team-b/in/"

    answer = validate(api, request)

    assert answer["Valid"] is False
    assert fields(answer["Errors"]) == ["TransformInput.DataSource.S3DataSource.S3Uri"]


def test_a_missing_model_is_found_before_any_money_is_spent(
    api: ApiCaller, aws: dict[str, str], sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", ROWS)
    sagemaker.model_missing("churn-xgb")

    answer = validate(api, seed_request())

    assert answer["Valid"] is False
    assert fields(answer["Errors"]) == ["ModelName"]
    assert "does not exist" in answer["Errors"][0]["reason"]
    assert nothing_stored_or_queued(aws)


def test_an_empty_input_and_a_header_row_are_errors_on_the_input(
    api: ApiCaller, sagemaker: SageMakerStub
) -> None:
    sagemaker.model_exists("churn-xgb")
    empty = validate(api, seed_request())
    assert fields(empty["Errors"]) == ["TransformInput.DataSource.S3DataSource.S3Uri"]
    assert "holds no objects" in empty["Errors"][0]["reason"]

    put("team-a/in/a.csv", b"customer_id,tenure,spend\n" + ROWS)
    sagemaker.model_exists("churn-xgb")
    header = validate(api, seed_request())
    assert fields(header["Errors"]) == ["TransformInput.DataSource.S3DataSource.S3Uri"]
    assert "looks like a header row" in header["Errors"][0]["reason"]


def test_columns_the_header_lacks_are_an_error_on_the_columns(
    api: ApiCaller, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", b"customer_id,tenure,spend\n" + ROWS)
    sagemaker.model_exists("churn-xgb")
    request = seed_request()
    request.pop("DataProcessing", None)
    request["InputPreparation"] = {"Header": "Present", "Columns": ["tenure", "income"]}

    answer = validate(api, request)

    assert fields(answer["Errors"]) == ["InputPreparation.Columns"]
    assert "'income'" in answer["Errors"][0]["reason"]


def test_a_header_decided_by_sniffing_is_a_warning_to_confirm(
    api: ApiCaller, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", b"customer_id,tenure,spend\n" + ROWS)
    sagemaker.model_exists("churn-xgb")
    request = seed_request()
    request.pop("DataProcessing", None)
    request["InputPreparation"] = {"Header": "Auto"}

    answer = validate(api, request)

    assert answer["Valid"] is True
    assert fields(answer["Warnings"]) == ["InputPreparation.Header"]
    assert "looks like a header" in answer["Warnings"][0]["reason"]
    assert json.dumps(answer["Input"]) == json.dumps({"Objects": 1, "Bytes": 25 + len(ROWS)})


def test_an_array_of_many_items_is_a_422_too(api: ApiCaller) -> None:
    status, _, problem = api.call("POST", "/v1/jobs/validate", body=[{"a": {}}, [], 1.5, False])
    assert status == 422
    assert [error["field"] for error in problem["errors"]] == ["body"]
