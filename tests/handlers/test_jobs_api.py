"""jobs_api driven with API Gateway events (events/api_*.json), against moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET, load_event
from tests.support.api import ApiCaller
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository, team_repository
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate


def seed_request() -> dict[str, Any]:
    request: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/team-a/in/"
    request["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/team-a/out/"
    return request


@pytest.fixture
def api(aws: dict[str, str]) -> ApiCaller:
    register_team("team-a")
    register_team("team-b")
    return ApiCaller("team-a")


def launch_messages(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(message["Body"])["JobId"] for message in reply.get("Messages", [])]


def test_submit_stores_the_job_queues_its_launch_and_answers_202_with_location(
    api: ApiCaller, aws: dict[str, str]
) -> None:
    status, headers, job = api.call("POST", "/v1/jobs", body=seed_request())

    assert status == 202
    assert headers["Location"] == f"/dev/v1/jobs/{job['JobId']}"
    assert job["Status"] == "Submitted"
    assert job["TransformJobName"] == "churn-scoring-2026-11"
    assert job["SageMakerJobName"] == f"tj-dev-{job['JobId']}"
    assert job["Request"]["ModelName"] == "churn-xgb"
    assert launch_messages(aws["queue_url"]) == [job["JobId"]]
    stored = job_repository.get_job(job["JobId"])
    assert stored is not None and stored.TeamId == "team-a"


def test_the_events_file_request_is_accepted_as_it_is(aws: dict[str, str]) -> None:
    from transform_jobs.access import api_keys  # noqa: F401

    team_repository.put_team(
        __import__("transform_jobs.models.team", fromlist=["Team"]).Team(
            TeamId="team-a",
            InputPrefixes=[f"s3://{BUCKET}/team-a/"],
            OutputPrefixes=[f"s3://{BUCKET}/team-a/"],
            Models=["churn-xgb"],
        )
    )
    from jobs_api import app

    from tests.support.lambda_context import FakeContext

    reply = app.handler(load_event("api_submit_job.json"), FakeContext())
    assert reply["statusCode"] == 202, reply["body"]


def test_transform_job_name_is_optional(api: ApiCaller) -> None:
    request = seed_request()
    del request["TransformJobName"]
    status, _, job = api.call("POST", "/v1/jobs", body=request)
    assert status == 202
    assert job["TransformJobName"] is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB", "at most 100"),
        ({"MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6}, "MaxPayloadInMB", "20 × 6 = 120"),
        ({"BatchStrategy": "Batch"}, "BatchStrategy", "MultiRecord"),
        ({"ModelName": "bad_name!"}, "ModelName", "letters, digits and hyphens"),
        ({"TransformJobName": "x" * 64}, "TransformJobName", "63"),
        ({"Environment": {f"V{i}": "x" for i in range(17)}}, "Environment", "at most 16"),
        ({"Environment": {"1BAD": "x"}}, "Environment", "variable name"),
        ({"Tags": [{"Key": "transform-jobs:team", "Value": "x"}]}, "Tags[0].Key", "reserved"),
        (
            {"ModelClientConfig": {"InvocationsMaxRetries": 4}},
            "ModelClientConfig.InvocationsMaxRetries",
            "3",
        ),
        ({"Unknown": 1}, "Unknown", "not a known field"),
    ],
)
def test_invalid_requests_are_422_problems_naming_the_field(
    api: ApiCaller, aws: dict[str, str], change: dict[str, Any], field: str, words: str
) -> None:
    status, headers, problem = api.call("POST", "/v1/jobs", body={**seed_request(), **change})

    assert status == 422
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == 422
    fields = {error["field"]: error["reason"] for error in problem["errors"]}
    assert field in fields, fields
    assert words in fields[field]
    assert launch_messages(aws["queue_url"]) == []


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("TransformInput", "SplitType"), "Lines", "TransformInput.SplitType"),
        (("TransformInput", "CompressionType"), "Zip", "TransformInput.CompressionType"),
        (("TransformResources", "InstanceType"), "ml.m5.huge", "TransformResources.InstanceType"),
        (("TransformResources", "InstanceCount"), 0, "TransformResources.InstanceCount"),
        (
            ("TransformOutput", "S3OutputPath"),
            "https://example.com/out",
            "TransformOutput.S3OutputPath",
        ),
        (("TransformOutput", "AssembleWith"), "None", "TransformOutput.AssembleWith"),
        (("TransformOutput", "Accept"), "application/x-parquet", "TransformOutput.Accept"),
    ],
)
def test_nested_fields_and_data_processing_rules_are_checked(
    api: ApiCaller, path: tuple[str, str], value: Any, field: str
) -> None:
    request = seed_request()
    request[path[0]][path[1]] = value
    status, _, problem = api.call("POST", "/v1/jobs", body=request)
    assert status == 422
    assert field in {error["field"] for error in problem["errors"]}


def test_s3_uri_of_another_prefix_is_refused_on_slash_boundaries(api: ApiCaller) -> None:
    request = seed_request()
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/team-ab/in/"
    status, _, problem = api.call("POST", "/v1/jobs", body=request)
    assert status == 403
    assert problem["errors"][0]["field"] == "TransformInput.DataSource.S3DataSource.S3Uri"


def test_a_model_the_team_may_not_use_is_refused(api: ApiCaller) -> None:
    status, _, problem = api.call(
        "POST", "/v1/jobs", body={**seed_request(), "ModelName": "other-model"}
    )
    assert status == 403
    assert problem["errors"][0]["field"] == "ModelName"
    assert "fraud-*" in problem["errors"][0]["reason"]


def test_a_model_prefix_grant_allows_matching_models(api: ApiCaller) -> None:
    status, _, _ = api.call("POST", "/v1/jobs", body={**seed_request(), "ModelName": "fraud-v2"})
    assert status == 202


def test_overlapping_input_and_output_are_refused(api: ApiCaller) -> None:
    request = seed_request()
    request["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/team-a/in/results/"
    status, _, problem = api.call("POST", "/v1/jobs", body=request)
    assert status == 422
    assert problem["errors"][0]["field"] == "TransformOutput.S3OutputPath"


def test_a_body_that_is_not_json_is_a_400_problem(api: ApiCaller) -> None:
    status, headers, problem = api.call("POST", "/v1/jobs", raw_body="{not json")
    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["title"] == "Bad request"


def test_same_idempotency_key_and_body_gives_the_same_job(
    api: ApiCaller, aws: dict[str, str]
) -> None:
    first = api.call("POST", "/v1/jobs", body=seed_request(), headers={"Idempotency-Key": "abc"})
    again = api.call("POST", "/v1/jobs", body=seed_request(), headers={"idempotency-key": "abc"})
    assert first[0] == again[0] == 202
    assert first[2]["JobId"] == again[2]["JobId"]
    assert again[1]["Location"].endswith(first[2]["JobId"])
    assert launch_messages(aws["queue_url"]) == [first[2]["JobId"]]


def test_same_idempotency_key_with_another_body_is_422(api: ApiCaller) -> None:
    api.call("POST", "/v1/jobs", body=seed_request(), headers={"Idempotency-Key": "abc"})
    other = {**seed_request(), "TransformJobName": "another"}
    status, _, problem = api.call(
        "POST", "/v1/jobs", body=other, headers={"Idempotency-Key": "abc"}
    )
    assert status == 422
    assert problem["errors"][0]["field"] == "Idempotency-Key"


def test_same_idempotency_key_still_in_flight_is_409(
    api: ApiCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    from transform_jobs.jobs import submission
    from transform_jobs.settings import get_settings

    def in_flight(**_: Any) -> None:
        raise IdempotencyAlreadyInProgressError("in progress")

    config = submission._config(get_settings(), payload="Request")
    monkeypatch.setattr(submission, "_idempotent_submit", lambda: (config, in_flight))
    status, _, problem = api.call(
        "POST", "/v1/jobs", body=seed_request(), headers={"Idempotency-Key": "abc"}
    )
    assert status == 409
    assert "still being processed" in problem["detail"]


def test_two_teams_using_the_same_key_get_two_jobs(api: ApiCaller) -> None:
    request_b = json.loads(json.dumps(seed_request()).replace("team-a/", "team-b/"))
    a = api.call("POST", "/v1/jobs", body=seed_request(), headers={"Idempotency-Key": "shared"})
    b = api.call(
        "POST", "/v1/jobs", body=request_b, headers={"Idempotency-Key": "shared"}, team="team-b"
    )
    assert a[0] == b[0] == 202
    assert a[2]["JobId"] != b[2]["JobId"]


def test_a_team_sees_only_its_own_jobs(api: ApiCaller) -> None:
    _, _, job = api.call("POST", "/v1/jobs", body=seed_request())
    for path in (f"/v1/jobs/{job['JobId']}", f"/v1/jobs/{job['JobId']}/events"):
        status, headers, _ = api.call("GET", path, team="team-b")
        assert status == 404
        assert headers["Content-Type"] == "application/problem+json"
    status, _, _ = api.call("POST", f"/v1/jobs/{job['JobId']}/cancel", team="team-b")
    assert status == 404
    assert api.call("GET", "/v1/jobs", team="team-b")[2]["Jobs"] == []


@pytest.mark.parametrize("job_id", ["nope", "01M89TZW4MBP9Z2KGNR6JVQXVF", "0" * 26, "../../etc"])
def test_unknown_or_malformed_ids_are_404(api: ApiCaller, job_id: str) -> None:
    status, _, problem = api.call("GET", f"/v1/jobs/{job_id}")
    assert status == 404
    assert problem["status"] == 404


def submit_many(api: ApiCaller, count: int, **change: Any) -> list[str]:
    ids = []
    for index in range(count):
        body = {**seed_request(), "TransformJobName": f"job-{index}", **change}
        ids.append(api.call("POST", "/v1/jobs", body=body)[2]["JobId"])
    return ids


def test_list_pages_newest_first_and_follows_next_token(api: ApiCaller) -> None:
    ids = submit_many(api, 5)
    seen: list[str] = []
    token = None
    while True:
        query = {"MaxResults": "2", **({"NextToken": token} if token else {})}
        status, _, page = api.call("GET", "/v1/jobs", query=query)
        assert status == 200
        assert page["Jobs"], "a page is never empty while more jobs match"
        seen.extend(job["JobId"] for job in page["Jobs"])
        token = page["NextToken"]
        if token is None:
            break
    assert seen == list(reversed(ids))


def test_filters_apply_before_paging(api: ApiCaller) -> None:
    fraud = submit_many(api, 2, ModelName="fraud-v1")
    submit_many(api, 6)  # newer jobs of another model sit in front of the fraud jobs
    status, _, page = api.call(
        "GET", "/v1/jobs", query={"ModelName": "fraud-v1", "MaxResults": "1"}
    )
    assert status == 200
    assert [job["JobId"] for job in page["Jobs"]] == [fraud[1]]
    _, _, last = api.call(
        "GET",
        "/v1/jobs",
        query={"ModelName": "fraud-v1", "MaxResults": "1", "NextToken": page["NextToken"]},
    )
    assert [job["JobId"] for job in last["Jobs"]] == [fraud[0]]
    assert last["NextToken"] is None


def test_status_and_time_filters(api: ApiCaller) -> None:
    first, second = submit_many(api, 2)
    api.call("POST", f"/v1/jobs/{first}/cancel")
    _, _, stopped = api.call("GET", "/v1/jobs", query={"Status": "Stopped"})
    assert [job["JobId"] for job in stopped["Jobs"]] == [first]
    created = api.call("GET", f"/v1/jobs/{second}")[2]["CreatedAt"]
    _, _, after = api.call("GET", "/v1/jobs", query={"CreatedAfter": created})
    assert [job["JobId"] for job in after["Jobs"]] == [second]
    _, _, before = api.call("GET", "/v1/jobs", query={"CreatedBefore": "2000-01-01T00:00:00Z"})
    assert before["Jobs"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"Bogus": "1"}, "Bogus"),
        ({"Status": "Running"}, "Status"),
        ({"MaxResults": "101"}, "MaxResults"),
        ({"MaxResults": "zero"}, "MaxResults"),
        ({"CreatedAfter": "yesterday"}, "CreatedAfter"),
        ({"NextToken": "bm90LWEtdG9rZW4"}, "NextToken"),
    ],
)
def test_bad_query_parameters_are_400_problems(
    api: ApiCaller, query: dict[str, str], field: str
) -> None:
    status, _, problem = api.call("GET", "/v1/jobs", query=query)
    assert status == 400
    assert field in {error["field"] for error in problem["errors"]}


def test_another_teams_page_token_is_refused(api: ApiCaller) -> None:
    submit_many(api, 3)
    token = api.call("GET", "/v1/jobs", query={"MaxResults": "1"})[2]["NextToken"]
    status, _, problem = api.call("GET", "/v1/jobs", query={"NextToken": token}, team="team-b")
    assert status == 400
    assert problem["errors"][0]["field"] == "NextToken"


def test_cancel_before_launch_stops_at_once_and_is_repeatable(api: ApiCaller) -> None:
    [job_id] = submit_many(api, 1)
    status, _, job = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert (status, job["Status"]) == (200, "Stopped")
    assert job["EndedAt"] is not None
    status, _, again = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert (status, again["Status"], again["UpdatedAt"]) == (200, "Stopped", job["UpdatedAt"])
    _, _, history = api.call("GET", f"/v1/jobs/{job_id}/events")
    assert [event["Status"] for event in history["Events"]] == ["Submitted", "Stopped"]


def put_status(job_id: str, status: JobStatus) -> None:
    def decide(job: Any) -> JobUpdate:
        job.Status = status
        return JobUpdate(job=job)

    job_repository.update_job(job_id, decide)


def test_cancel_after_launch_moves_to_stopping_and_calls_stop(
    api: ApiCaller, sagemaker: SageMakerStub
) -> None:
    [job_id] = submit_many(api, 1)
    put_status(job_id, JobStatus.IN_PROGRESS)
    sagemaker.stops(f"tj-dev-{job_id}")
    status, _, job = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert (status, job["Status"]) == (200, "Stopping")
    stored = job_repository.get_job(job_id)
    assert stored is not None and stored.CancelRequested


@pytest.mark.parametrize("ended", [JobStatus.COMPLETED, JobStatus.FAILED])
def test_cancel_of_a_completed_or_failed_job_is_409(api: ApiCaller, ended: JobStatus) -> None:
    [job_id] = submit_many(api, 1)
    put_status(job_id, ended)
    status, _, problem = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert status == 409
    assert ended.value in problem["detail"]


def test_outputs_lists_out_objects_with_presigned_links(api: ApiCaller) -> None:
    [job_id] = submit_many(api, 1)
    s3 = boto3.client("s3")
    for key in ("team-a/out/a.csv.out", "team-a/out/sub/b.csv.out", "team-a/out/_SUCCESS"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"1\n2\n")
    status, _, outputs = api.call("GET", f"/v1/jobs/{job_id}/outputs", query={"MaxResults": "1"})
    assert status == 200
    assert [item["Key"] for item in outputs["Outputs"]] == ["a.csv.out"]
    assert "X-Amz-Signature" in outputs["Outputs"][0]["Url"]
    _, _, rest = api.call(
        "GET", f"/v1/jobs/{job_id}/outputs", query={"NextToken": outputs["NextToken"]}
    )
    assert [item["Key"] for item in rest["Outputs"]] == ["sub/b.csv.out"]
    assert rest["NextToken"] is None


def test_health_needs_no_team(aws: dict[str, str]) -> None:
    from jobs_api import app

    from tests.support.lambda_context import FakeContext

    reply = app.handler(load_event("api_health.json"), FakeContext())
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"]) == {"Status": "ok"}


def test_an_unknown_route_is_a_404_problem(api: ApiCaller) -> None:
    status, headers, _ = api.call("GET", "/v2/things")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"


def test_a_submission_stands_when_the_launch_queue_is_unreachable(
    api: ApiCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCH_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/gone")

    status, _, job = api.call("POST", "/v1/jobs", body=seed_request())
    assert status == 202
    stored = job_repository.get_job(job["JobId"])
    assert stored is not None and stored.Status is JobStatus.SUBMITTED  # the reconciler's to send


def test_a_body_that_is_not_json_by_content_type_is_415(api: ApiCaller) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        status, _, problem = api.call(
            "POST", "/v1/jobs", raw_body="ModelName=x", headers={"Content-Type": content_type}
        )
        assert status == 415
        assert problem["errors"][0]["field"] == "Content-Type"


def test_an_empty_body_is_a_400(api: ApiCaller) -> None:
    status, _, problem = api.call("POST", "/v1/jobs", raw_body="")
    assert status == 400
    assert problem["detail"] == "The body is empty."


def test_header_and_body_errors_are_reported_together(api: ApiCaller) -> None:
    status, _, problem = api.call(
        "POST",
        "/v1/jobs",
        body={**seed_request(), "MaxPayloadInMB": 500},
        headers={"Idempotency-Key": "k" * 300},
    )
    assert status == 400
    assert {"MaxPayloadInMB", "Idempotency-Key"} <= {error["field"] for error in problem["errors"]}


def test_created_after_later_than_created_before_is_a_400(api: ApiCaller) -> None:
    query = {"CreatedAfter": "2026-11-25T12:00:00Z", "CreatedBefore": "2026-11-24T12:00:00Z"}
    status, _, problem = api.call("GET", "/v1/jobs", query=query)
    assert status == 400
    assert problem["errors"][0]["field"] == "CreatedAfter"


def test_a_page_token_is_refused_with_other_filters(api: ApiCaller) -> None:
    submit_many(api, 3)
    token = api.call("GET", "/v1/jobs", query={"MaxResults": "1"})[2]["NextToken"]
    status, _, problem = api.call(
        "GET", "/v1/jobs", query={"NextToken": token, "Status": "Submitted"}
    )
    assert status == 400
    assert problem["errors"][0]["field"] == "NextToken"


@pytest.mark.parametrize("suffix", ["", "/events", "/cancel"])
def test_unknown_query_parameters_are_refused_on_every_route(api: ApiCaller, suffix: str) -> None:
    [job_id] = submit_many(api, 1)
    method = "POST" if suffix == "/cancel" else "GET"
    status, _, problem = api.call(method, f"/v1/jobs/{job_id}{suffix}", query={"force": "true"})
    assert status == 400
    assert problem["errors"][0]["field"] == "force"
    assert job_repository.get_job(job_id).Status is JobStatus.SUBMITTED  # type: ignore[union-attr]


def test_a_submission_with_an_unknown_query_parameter_is_refused_and_stores_nothing(
    api: ApiCaller, aws: dict[str, str]
) -> None:
    status, _, problem = api.call("POST", "/v1/jobs", body=seed_request(), query={"dryrun": "1"})
    assert status == 400
    assert problem["errors"] == [{"field": "dryrun", "reason": "is not a parameter here; use none"}]
    assert launch_messages(aws["queue_url"]) == []
    status, _, page = api.call("GET", "/v1/jobs", query={"MaxResults": "5"})
    assert (status, page["Jobs"]) == (200, [])


def test_the_listing_names_the_parameters_it_takes(api: ApiCaller) -> None:
    status, _, problem = api.call("GET", "/v1/jobs", query={"status": "Failed"})
    assert status == 400
    [error] = problem["errors"]
    assert error["field"] == "status"
    assert "Status, ModelName, CreatedAfter, CreatedBefore, ScheduleId" in error["reason"]


def test_health_takes_any_query_parameter(api: ApiCaller) -> None:
    status, _, body = api.call("GET", "/v1/health", query={"probe": "1"})
    assert (status, body) == (200, {"Status": "ok"})


def test_outputs_written_before_the_job_started_are_not_its_own(api: ApiCaller) -> None:
    import time

    from transform_jobs import clock

    s3 = boto3.client("s3")
    s3.put_object(Bucket=BUCKET, Key="team-a/out/old.csv.out", Body=b"from an earlier job")
    time.sleep(1.1)  # S3 keeps LastModified to the second
    [job_id] = submit_many(api, 1)

    def started(job: Any) -> JobUpdate:
        job.Status, job.StartedAt = JobStatus.IN_PROGRESS, clock.now()
        return JobUpdate(job=job)

    job_repository.update_job(job_id, started)
    time.sleep(1.1)
    s3.put_object(Bucket=BUCKET, Key="team-a/out/new.csv.out", Body=b"1\n")
    _, _, outputs = api.call("GET", f"/v1/jobs/{job_id}/outputs")
    assert [item["Key"] for item in outputs["Outputs"]] == ["new.csv.out"]


def test_a_body_that_is_not_utf8_is_a_400_not_a_crash(api: ApiCaller) -> None:
    status, headers, problem = api.call("POST", "/v1/jobs", binary_body=b"\xa5\x9c{}")

    assert status == 400
    assert headers["Content-Type"] == "application/problem+json"
    assert "not UTF-8" in problem["detail"]
    assert problem["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",  # no boundary: the resolver's own parser would raise
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/merge-patch+json",
        "application/xml",
    ],
)
def test_bodies_of_other_types_are_415_naming_content_type(
    api: ApiCaller, content_type: str
) -> None:
    status, _, problem = api.call(
        "POST", "/v1/jobs", raw_body="--x\r\n", headers={"Content-Type": content_type}
    )

    assert status == 415
    assert problem["errors"] == [
        {"field": "Content-Type", "reason": "send application/json (UTF-8) with a JSON body"}
    ]


def test_json_with_or_without_a_utf8_charset_is_accepted(api: ApiCaller) -> None:
    for content_type in ("application/json; charset=UTF-8", "Application/JSON"):
        status, _, _ = api.call(
            "POST", "/v1/jobs", body=seed_request(), headers={"Content-Type": content_type}
        )
        assert status == 202


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ('{"MaxPayloadInMB": NaN}', "NaN is not a JSON value"),
        ('{"MaxPayloadInMB": ' + "9" * 5000 + "}", "digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"TransformJobName": "a\\ud800b"}', "TransformJobName holds an unpaired"),
        ('{"Environment": {"\\udfff": "x"}}', "a key of Environment holds an unpaired"),
    ],
)
def test_json_that_python_parses_but_json_or_storage_refuses_is_a_400(
    api: ApiCaller, raw: str, why: str
) -> None:
    status, _, problem = api.call("POST", "/v1/jobs", raw_body=raw)

    assert status == 400
    assert why in problem["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("MaxPayloadInMB", True), ("MaxPayloadInMB", "6"), ("MaxConcurrentTransforms", 2.0)],
)
def test_numbers_must_be_json_integers(api: ApiCaller, field: str, value: Any) -> None:
    status, _, problem = api.call("POST", "/v1/jobs", body={**seed_request(), field: value})

    assert status == 422
    assert [error["field"] for error in problem["errors"]] == [field]


@pytest.mark.parametrize(
    "created_after", ["0.5", "1764000000", "2026-11-25", "2026-11-25T12:00:00"]
)
def test_times_in_queries_must_be_rfc3339_with_an_offset(
    api: ApiCaller, created_after: str
) -> None:
    status, _, problem = api.call("GET", "/v1/jobs", query={"CreatedAfter": created_after})

    assert status == 400
    assert problem["errors"][0]["field"] == "CreatedAfter"
    assert "2026-11-25T12:00:00Z" in problem["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("method", "path", "allow", "query"),
    [
        ("PUT", "/v1/jobs", "GET, POST", None),
        ("DELETE", "/v1/jobs/01jbz3k9x2v5q8r7t6w4y3n2m1", "GET", None),
        ("GET", "/v1/jobs/01jbz3k9x2v5q8r7t6w4y3n2m1/cancel", "POST", None),
        ("TRACE", "/v1/health", "GET", None),
        # The query a route takes does not make another method's request a 400.
        ("TRACE", "/v1/jobs/01jbz3k9x2v5q8r7t6w4y3n2m1/outputs", "GET", {"MaxResults": "5"}),
    ],
)
def test_a_method_the_path_does_not_take_is_405_with_allow(
    api: ApiCaller, method: str, path: str, allow: str, query: dict[str, str] | None
) -> None:
    status, headers, problem = api.call(method, path, query=query)

    assert status == 405
    assert headers["Allow"] == allow
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["title"] == "Method not allowed"


def test_outputs_of_a_job_whose_bucket_is_gone_are_none(api: ApiCaller) -> None:
    request = seed_request()
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://gone-bucket/in/"
    request["TransformOutput"]["S3OutputPath"] = "s3://gone-bucket/out/"
    register_team("team-gone", prefix="s3://gone-bucket/")
    _, _, job = api.call("POST", "/v1/jobs", body=request, team="team-gone")

    status, _, outputs = api.call("GET", f"/v1/jobs/{job['JobId']}/outputs", team="team-gone")

    assert status == 200
    assert outputs == {"Outputs": [], "NextToken": None}
