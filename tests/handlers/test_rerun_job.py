"""POST /v1/jobs/{jobId}/rerun: the original's request with the overrides, a new job carrying
RerunOf, outputs never over the original's, checked like any submission."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET
from tests.handlers.test_jobs_api import launch_messages, seed_request
from tests.support.api import ApiCaller
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository


@pytest.fixture
def api(aws: dict[str, str]) -> ApiCaller:
    register_team("team-a", models=["churn-*"])
    register_team("team-b")
    return ApiCaller("team-a")


@pytest.fixture
def original(api: ApiCaller) -> dict[str, Any]:
    status, _, job = api.call("POST", "/v1/jobs", body=seed_request())
    assert status == 202
    return job


def rerun(api: ApiCaller, job_id: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    return api.call("POST", f"/v1/jobs/{job_id}/rerun", **kwargs)


def test_a_rerun_on_a_new_model_is_a_new_job_writing_beside_the_original(
    api: ApiCaller, aws: dict[str, str], original: dict[str, Any]
) -> None:
    status, headers, job = rerun(api, original["JobId"], body={"ModelName": "churn-xgb-v2"})

    assert status == 202
    assert headers["Location"] == f"/dev/v1/jobs/{job['JobId']}"
    assert job["JobId"] != original["JobId"] and job["RerunOf"] == original["JobId"]
    assert job["Status"] == "Submitted"
    assert job["Request"]["ModelName"] == "churn-xgb-v2"
    assert job["Request"]["TransformOutput"]["S3OutputPath"] == (
        f"s3://{BUCKET}/team-a/out/reruns/{job['JobId']}/"
    )
    unchanged = {"TransformInput", "TransformResources", "TransformJobName", "MaxPayloadInMB"}
    assert {key: job["Request"].get(key) for key in unchanged} == {
        key: original["Request"].get(key) for key in unchanged
    }
    assert launch_messages(aws["queue_url"])[-1] == job["JobId"]
    stored = job_repository.get_job(job["JobId"])
    assert stored is not None and stored.RerunOf == original["JobId"]
    assert api.call("GET", f"/v1/jobs/{original['JobId']}")[2]["Request"] == original["Request"]


def test_without_a_body_the_same_request_runs_again_elsewhere(
    api: ApiCaller, original: dict[str, Any]
) -> None:
    status, _, job = rerun(api, original["JobId"])
    assert status == 202
    expected = dict(original["Request"])
    expected["TransformOutput"] = {
        **original["Request"]["TransformOutput"],
        "S3OutputPath": f"s3://{BUCKET}/team-a/out/reruns/{job['JobId']}/",
    }
    assert job["Request"] == expected


def test_every_override_is_applied(api: ApiCaller, original: dict[str, Any]) -> None:
    overrides = {
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/team-a/out-v2/"},
        "Environment": {"THRESHOLD": "0.7"},
        "TransformResources": {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2},
        "TransformJobName": "churn-rescore",
    }
    status, _, job = rerun(api, original["JobId"], body=overrides)
    assert status == 202
    request = job["Request"]
    assert request["TransformOutput"]["S3OutputPath"] == f"s3://{BUCKET}/team-a/out-v2/"
    assert request["Environment"] == {"THRESHOLD": "0.7"}
    resources = {key: value for key, value in request["TransformResources"].items() if value}
    assert resources == {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2}
    assert job["TransformJobName"] == "churn-rescore"


def test_another_teams_job_is_not_found(api: ApiCaller, original: dict[str, Any]) -> None:
    status, _, problem = rerun(api, original["JobId"], team="team-b")
    assert status == 404 and problem["status"] == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"MaxPayloadInMB": 4}, 422, "MaxPayloadInMB"),
        ({"ModelName": "-bad-"}, 422, "ModelName"),
        ({"TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/team-b/out/"}}, 403, None),
    ],
    ids=["not-an-override", "bad-model-name", "output-of-another-team"],
)
def test_overrides_are_checked_like_a_submission(
    api: ApiCaller, original: dict[str, Any], body: dict[str, Any], status: int, field: str | None
) -> None:
    answer_status, _, problem = rerun(api, original["JobId"], body=body)
    assert answer_status == status
    if field is not None:
        assert [error["field"] for error in problem["errors"]] == [field]


def test_the_same_idempotency_key_gives_the_same_rerun(
    api: ApiCaller, original: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "rerun-1"}
    body = {"ModelName": "churn-xgb-v2"}
    first = rerun(api, original["JobId"], body=body, headers=key)
    again = rerun(api, original["JobId"], body=body, headers=key)
    other = rerun(api, original["JobId"], body={"ModelName": "churn-xgb-v3"}, headers=key)

    assert first[0] == again[0] == 202
    assert again[2]["JobId"] == first[2]["JobId"]
    assert again[2]["Request"]["TransformOutput"] == first[2]["Request"]["TransformOutput"]
    assert other[0] == 422 and other[2]["errors"][0]["field"] == "Idempotency-Key"


def test_a_keyed_submission_before_does_not_weaken_the_rerun_key_check(
    api: ApiCaller, original: dict[str, Any]
) -> None:
    """Submissions and reruns keep their idempotency records apart, each checked against its
    own payload, whichever of the two a process served first."""
    submitted = api.call("POST", "/v1/jobs", body=seed_request(), headers={"Idempotency-Key": "s"})
    assert submitted[0] == 202
    key = {"Idempotency-Key": "rerun-after-submit"}
    first = rerun(api, original["JobId"], body={"ModelName": "churn-xgb-v2"}, headers=key)
    other = rerun(api, original["JobId"], body={"ModelName": "churn-xgb-v3"}, headers=key)
    assert first[0] == 202
    assert other[0] == 422 and other[2]["errors"][0]["field"] == "Idempotency-Key"
    changed = api.call(
        "POST",
        "/v1/jobs",
        body={**seed_request(), "MaxPayloadInMB": 5},
        headers={"Idempotency-Key": "s"},
    )
    assert changed[0] == 422 and changed[2]["errors"][0]["field"] == "Idempotency-Key"


def test_the_originals_outputs_do_not_list_its_reruns(
    api: ApiCaller, original: dict[str, Any]
) -> None:
    _, _, job = rerun(api, original["JobId"])
    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="team-a/out/a.csv.out", Body=b"1\n")
    s3.put_object(Bucket=BUCKET, Key=f"team-a/out/reruns/{job['JobId']}/a.csv.out", Body=b"2\n")
    s3.put_object(Bucket=BUCKET, Key="team-a/out/reruns/notes/b.csv.out", Body=b"3\n")

    listed = api.call("GET", f"/v1/jobs/{original['JobId']}/outputs")[2]["Outputs"]
    rerun_listed = api.call("GET", f"/v1/jobs/{job['JobId']}/outputs")[2]["Outputs"]

    assert sorted(output["Key"] for output in listed) == ["a.csv.out", "reruns/notes/b.csv.out"]
    assert [output["Key"] for output in rerun_listed] == ["a.csv.out"]


@pytest.mark.parametrize("body", [[None, None], [], "x", 3, True])
def test_a_body_that_is_no_object_is_a_422(
    api: ApiCaller, original: dict[str, Any], body: Any
) -> None:
    status, _, problem = rerun(api, original["JobId"], body=body)
    assert status == 422, problem
    assert problem["errors"][0]["field"] == "body"


def test_another_method_on_validate_is_a_405_not_a_missing_job(api: ApiCaller) -> None:
    status, headers, problem = api.call("GET", "/v1/jobs/validate")
    assert status == 405, problem
    assert headers["Allow"] == "POST"
