"""TransformJobs against a fake transport: requests as the API documents them, retries that are
safe, errors that carry the problem document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fake_api import API, REQUEST, SCHEDULE_ID, FakeApi, job, problem, schedule
from transform_jobs_client import (
    Conflict,
    ConnectionFailed,
    NotFound,
    ServerError,
    UnexpectedResponse,
    ValidationFailed,
    WaitTimedOut,
    models,
)
from transform_jobs_client.errors import TransformJobsError


def test_submit_posts_the_request_with_a_fresh_idempotency_key(api: FakeApi) -> None:
    api.json(202, job())
    api.json(202, job("01jbz3k9x2v5q8r7t6w4y3n2m2"))
    with api.client() as client:
        first = client.submit(REQUEST)
        second = client.submit(models.JobRequest.model_validate(REQUEST))
    assert first.Status == models.JobStatus.Submitted
    assert first.CreatedAt.tzinfo is not None  # a datetime, not a string
    assert second.JobId.endswith("m2")
    sent = api.requests
    assert [r.method for r in sent] == ["POST", "POST"]
    assert str(sent[0].url) == f"{API}/v1/jobs"
    assert sent[0].headers["Authorization"] == "Bearer tjk_secret"
    assert json.loads(sent[0].content) == REQUEST
    assert json.loads(sent[1].content) == REQUEST  # the typed model sends the same document
    keys = {r.headers["Idempotency-Key"] for r in sent}
    assert len(keys) == 2 and all(len(key) == 36 for key in keys)


def test_a_lost_answer_to_submit_is_retried_with_the_same_key(api: FakeApi) -> None:
    api.answer(httpx.ReadTimeout("no answer"), problem(502, "Bad Gateway", "upstream"))
    api.json(202, job())
    with api.client() as client:
        submitted = client.submit(REQUEST, idempotency_key="order-42")
    assert submitted.JobId == job()["JobId"]
    assert [r.headers["Idempotency-Key"] for r in api.requests] == ["order-42"] * 3
    assert len(api.sleeps) == 2 and all(0 <= pause <= 1.0 for pause in api.sleeps)


def test_retry_after_is_honoured_on_429_and_503(api: FakeApi) -> None:
    api.answer(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": "2"}),
    )
    api.json(200, job(status="InProgress"))
    with api.client() as client:
        assert client.get(job()["JobId"]).Status == models.JobStatus.InProgress
    assert api.sleeps == [7.0, 2.0]


def test_a_request_that_may_not_be_repeated_is_not_retried_once_it_may_have_run(
    api: FakeApi,
) -> None:
    api.answer(problem(500, "Internal Server Error", "boom"))
    with api.client() as client, pytest.raises(ServerError) as raised:
        client.create_webhook("https://hooks.example.com/x", ["transform_job.completed"])
    assert raised.value.status == 500 and len(api.requests) == 1
    # A connection that never opened sent nothing: that is retried even here.
    api.answer(httpx.ConnectError("refused"))
    api.json(201, webhook(Secret="whsec_abc"))
    with api.client() as client:
        created = client.create_webhook("https://hooks.example.com/x", ["transform_job.completed"])
    assert created.Secret == "whsec_abc"
    api.answer(httpx.ReadTimeout("no answer"))
    with api.client() as client, pytest.raises(ConnectionFailed):
        client.test_webhook("wh_1")


def test_errors_carry_the_problem_document(api: FakeApi) -> None:
    api.answer(
        problem(
            422,
            "The request is not valid",
            "The job request is not valid.",
            [{"field": "MaxPayloadInMB", "reason": "is 200 MB; at most 100"}],
        )
    )
    with api.client() as client, pytest.raises(ValidationFailed) as raised:
        client.submit(REQUEST)
    error = raised.value
    assert (error.status, error.title) == (422, "The request is not valid")
    assert error.errors[0].field == "MaxPayloadInMB"
    assert "MaxPayloadInMB: is 200 MB; at most 100" in str(error)
    api.answer(problem(404, "Not Found", "No job 'x' for this team."))
    with api.client() as client, pytest.raises(NotFound, match="No job 'x' for this team"):
        client.get("x")


def test_retries_stop_after_the_policy_and_raise_the_last_error(api: FakeApi) -> None:
    api.answer(*(problem(503, "Service Unavailable", "busy") for _ in range(4)))
    with api.client() as client, pytest.raises(ServerError):
        client.get("x")
    assert len(api.requests) == 4


def test_list_follows_next_token_and_passes_filters(api: FakeApi) -> None:
    api.json(200, {"Jobs": [job("a" * 26), job("b" * 26)], "NextToken": "page-2"})
    api.json(200, {"Jobs": [job("c" * 26)]})
    with api.client() as client:
        listed = [found.JobId[0] for found in client.list(status="Completed", page_size=2)]
    assert listed == ["a", "b", "c"]
    first, second = (request.url.params for request in api.requests)
    assert dict(first) == {"Status": "Completed", "MaxResults": "2"}
    assert dict(second) == {"Status": "Completed", "MaxResults": "2", "NextToken": "page-2"}


def test_list_sends_times_with_an_offset_reading_naive_ones_as_utc(api: FakeApi) -> None:
    api.json(200, {"Jobs": []})
    with api.client() as client:
        list(
            client.list(
                created_after=datetime(2026, 11, 25, 12, 0),
                created_before=datetime(2026, 11, 26, 13, 0, tzinfo=timezone(timedelta(hours=1))),
            )
        )
    params = api.requests[0].url.params
    assert params["CreatedAfter"] == "2026-11-25T12:00:00+00:00"
    assert params["CreatedBefore"] == "2026-11-26T13:00:00+01:00"


def test_wait_reports_progress_until_the_job_ends(api: FakeApi) -> None:
    for status in ("Validating", "InProgress", "Completed"):
        api.json(200, job(status=status))
    seen: list[str] = []
    with api.client() as client:
        ended = client.wait(job()["JobId"], on_progress=lambda j: seen.append(j.Status.value))
    assert ended.Status == models.JobStatus.Completed
    assert seen == ["Validating", "InProgress", "Completed"]
    assert api.sleeps == [2.0, 2.0]


def test_wait_gives_up_at_its_timeout(api: FakeApi) -> None:
    api.json(200, job(status="InProgress"))
    with api.client() as client, pytest.raises(WaitTimedOut) as raised:
        client.wait(job()["JobId"], timeout=0)
    assert raised.value.job.Status == models.JobStatus.InProgress


def test_outputs_download_without_sending_the_api_key_to_s3(api: FakeApi, tmp_path: Path) -> None:
    outputs = [
        {
            "Key": key,
            "S3Uri": f"s3://b/team-a/out/{key}",
            "Size": 3,
            "LastModified": "2026-11-30T10:00:00.000Z",
            "Url": f"https://s3.example.test/{key}?X-Amz-Signature=abc",
            "UrlExpiresAt": "2026-11-30T11:00:00.000Z",
        }
        for key in ("a.csv.out", "sub/b.csv.out")
    ]
    api.json(200, {"Outputs": outputs})
    api.answer(httpx.Response(200, content=b"1\n2"), httpx.Response(200, content=b"3\n4"))
    with api.client() as client:
        written = client.download_outputs(job()["JobId"], tmp_path)
    assert written == [tmp_path / "a.csv.out", tmp_path / "sub" / "b.csv.out"]
    assert (tmp_path / "sub" / "b.csv.out").read_bytes() == b"3\n4"
    downloads = api.requests[1:]
    assert all("Authorization" not in request.headers for request in downloads)
    assert not list(tmp_path.rglob("*.part"))


def test_an_output_key_that_climbs_out_of_the_folder_is_refused(
    api: FakeApi, tmp_path: Path
) -> None:
    api.json(
        200,
        {
            "Outputs": [
                {
                    "Key": "../escape.out",
                    "S3Uri": "s3://b/x",
                    "Size": 1,
                    "LastModified": "2026-11-30T10:00:00.000Z",
                    "Url": "https://s3.example.test/x",
                    "UrlExpiresAt": "2026-11-30T11:00:00.000Z",
                }
            ]
        },
    )
    with api.client() as client, pytest.raises(TransformJobsError, match="cannot be written"):
        client.download_outputs("j", tmp_path / "out")
    assert not (tmp_path / "escape.out").exists()


def webhook(**extra: object) -> dict[str, object]:
    document: dict[str, object] = {
        "WebhookId": "wh_1",
        "Url": "https://hooks.example.com/x",
        "EventTypes": ["transform_job.completed"],
        "Enabled": True,
        "CreatedAt": "2026-11-30T10:00:00.000Z",
        "UpdatedAt": "2026-11-30T10:00:00.000Z",
    }
    document.update(extra)
    return document


def test_webhook_calls_use_the_documented_routes(api: FakeApi) -> None:
    api.json(200, webhook(Enabled=False))
    api.answer(httpx.Response(204))
    api.json(200, {"Deliveries": [], "NextToken": None})
    with api.client() as client:
        updated = client.update_webhook("wh_1", enabled=False)
        client.delete_webhook("wh_1")
        assert list(client.deliveries("wh_1")) == []
    assert updated.Enabled is False
    patch, delete, deliveries = api.requests
    assert (patch.method, patch.url.path) == ("PATCH", "/dev/v1/webhooks/wh_1")
    assert json.loads(patch.content) == {"Enabled": False}
    assert (delete.method, delete.url.path) == ("DELETE", "/dev/v1/webhooks/wh_1")
    assert deliveries.url.path == "/dev/v1/webhooks/wh_1/deliveries"


def test_a_retried_submit_waits_while_the_first_attempt_is_in_flight(api: FakeApi) -> None:
    api.answer(
        httpx.ReadTimeout("no answer"),
        problem(409, "Conflict", "A request with this Idempotency-Key is still being processed."),
    )
    api.json(202, job())
    with api.client() as client:
        assert client.submit(REQUEST).JobId == job()["JobId"]
    assert len({r.headers["Idempotency-Key"] for r in api.requests}) == 1
    # Without a key a 409 is the answer: cancelling an ended job.
    api.answer(problem(409, "Conflict", "Job j already ended Completed."))
    with api.client() as client, pytest.raises(Conflict):
        client.cancel("j")


def test_answers_the_client_cannot_read_raise_unexpected_response(api: FakeApi) -> None:
    api.answer(httpx.Response(200, content=b"<html>proxy</html>"))
    api.json(200, {"JobId": "j"})  # not a job
    with api.client() as client:
        with pytest.raises(UnexpectedResponse, match="not the API's JSON"):
            client.get("j")
        with pytest.raises(UnexpectedResponse, match="not a JobResource"):
            client.get("j")


def test_newer_servers_fields_are_ignored(api: FakeApi) -> None:
    newer = job(Priority="high")
    newer["Request"] = {**REQUEST, "SomethingNew": 1}
    api.json(200, newer)
    with api.client() as client:
        assert client.get("j").Request.ModelName == "churn-xgb"


def test_a_lost_delete_answer_then_404_is_success(api: FakeApi) -> None:
    api.answer(httpx.ReadTimeout("lost"), problem(404, "Not Found", "No webhook."))
    with api.client() as client:
        client.delete_webhook("wh_1")
    assert len(api.requests) == 2


def test_wait_polls_through_a_short_outage(api: FakeApi) -> None:
    api.json(200, job(status="InProgress"))
    api.answer(*(problem(503, "Service Unavailable", "busy") for _ in range(4)))
    api.json(200, job(status="Completed"))
    with api.client() as client:
        assert client.wait("j").Status == models.JobStatus.Completed


def test_a_failed_download_leaves_no_partial_file(api: FakeApi, tmp_path: Path) -> None:
    output = {
        "Key": "a.csv.out",
        "S3Uri": "s3://b/a.csv.out",
        "Size": 10,
        "LastModified": "2026-11-30T10:00:00.000Z",
        "Url": "https://s3.example.test/a",
        "UrlExpiresAt": "2026-11-30T11:00:00.000Z",
    }
    api.json(200, {"Outputs": [output]})
    api.answer(httpx.Response(200, content=b"short"))
    with api.client() as client, pytest.raises(TransformJobsError, match="stopped at 5 of 10"):
        client.download_outputs("j", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_status_added_to_the_service_later_is_still_read(api: FakeApi) -> None:
    api.json(200, job(status="Archived"))
    with api.client() as client:
        found = client.get("j")
    assert found.Status == "Archived"
    assert models.JobStatus("Completed") is models.JobStatus.Completed


def test_schedule_calls_use_the_documented_routes(api: FakeApi) -> None:
    template = {**REQUEST, "TransformJobName": "churn-{ScheduledTime:%Y-%m-%d}"}
    api.json(201, schedule())
    api.json(201, schedule())
    api.json(200, {"Schedules": [schedule()], "NextToken": "page-2"})
    api.json(200, {"Schedules": [], "NextToken": None})
    api.json(200, schedule())
    api.json(200, schedule(Enabled=False, NextRunAt=None))
    api.answer(httpx.Response(204))
    with api.client() as client:
        created = client.create_schedule(
            {"Name": "nightly-churn", "ScheduleExpression": "cron(0 2 * * ? *)", "Job": template}
        )
        typed = client.create_schedule(
            models.ScheduleCreate(
                Name="nightly-churn", ScheduleExpression="cron(0 2 * * ? *)", Job=template
            )
        )
        listed = [found.ScheduleId for found in client.list_schedules()]
        client.get_schedule(SCHEDULE_ID)
        paused = client.update_schedule(
            SCHEDULE_ID, models.ScheduleUpdate(Enabled=False, EndAt=None)
        )
        client.delete_schedule(SCHEDULE_ID)
    assert created.NextRunAt == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert typed.Timezone == "Europe/Paris"
    assert listed == [SCHEDULE_ID]
    assert paused.Enabled is False and paused.NextRunAt is None
    sent = [(r.method, r.url.path) for r in api.requests]
    path = f"/dev/v1/schedules/{SCHEDULE_ID}"
    assert sent == [
        ("POST", "/dev/v1/schedules"),
        ("POST", "/dev/v1/schedules"),
        ("GET", "/dev/v1/schedules"),
        ("GET", "/dev/v1/schedules"),
        ("GET", path),
        ("PATCH", path),
        ("DELETE", path),
    ]
    first, second = (json.loads(r.content) for r in api.requests[:2])
    assert first == second  # the typed model sends only the fields set, as the dict does
    assert first["Job"]["TransformJobName"] == "churn-{ScheduledTime:%Y-%m-%d}"
    assert api.requests[3].url.params["NextToken"] == "page-2"
    # A field set to None is sent as null: EndAt null clears it.
    assert json.loads(api.requests[5].content) == {"Enabled": False, "EndAt": None}


def test_run_schedule_sends_the_time_and_returns_the_job(api: FakeApi) -> None:
    api.json(202, job(ScheduleId=SCHEDULE_ID, ScheduledTime="2026-12-01T02:00:00Z"))
    api.json(202, job(ScheduleId=SCHEDULE_ID, ScheduledTime="2026-12-03T17:00:00Z"))
    with api.client() as client:
        started = client.run_schedule(SCHEDULE_ID, scheduled_time=datetime(2026, 12, 1, 2))
        client.run_schedule(SCHEDULE_ID)
    assert started.ScheduleId == SCHEDULE_ID
    assert started.ScheduledTime == datetime(2026, 12, 1, 2, tzinfo=UTC)
    timed, now = api.requests
    assert (timed.method, timed.url.path) == ("POST", f"/dev/v1/schedules/{SCHEDULE_ID}/run")
    assert json.loads(timed.content) == {"ScheduledTime": "2026-12-01T02:00:00+00:00"}
    assert json.loads(now.content) == {}
    assert "Idempotency-Key" not in timed.headers


def test_run_schedule_is_not_retried_once_it_may_have_run(api: FakeApi) -> None:
    api.answer(problem(409, "Conflict", "The run at 2026-12-01T02:00:00Z has its job already."))
    with api.client() as client, pytest.raises(Conflict, match="has its job already"):
        client.run_schedule(SCHEDULE_ID, scheduled_time="2026-12-01T02:00:00Z")
    assert len(api.requests) == 1
    api.answer(httpx.ReadTimeout("no answer"))
    with api.client() as client, pytest.raises(ConnectionFailed):
        client.run_schedule(SCHEDULE_ID)
    assert len(api.requests) == 2
    # 503 says it did not run: that is retried.
    api.answer(problem(503, "Service Unavailable", "busy"))
    api.json(202, job(ScheduleId=SCHEDULE_ID))
    with api.client() as client:
        assert client.run_schedule(SCHEDULE_ID).ScheduleId == SCHEDULE_ID
    assert len(api.requests) == 4


def test_list_filters_by_schedule(api: FakeApi) -> None:
    api.json(200, {"Jobs": [job(ScheduleId=SCHEDULE_ID, ScheduledTime="2026-12-01T01:00:00Z")]})
    with api.client() as client:
        (found,) = client.list(schedule_id=SCHEDULE_ID)
    assert found.ScheduledTime == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert dict(api.requests[0].url.params) == {"ScheduleId": SCHEDULE_ID}
