"""GET /v1/jobs/{id}/outputs and reconcile's progress list S3OutputPath around the service's
work area (`.transform-jobs/`, which sorts before most output names), never through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from tests.conftest import BUCKET, load_event
from tests.support.api import ApiCaller
from tests.support.jobs import make_job
from tests.support.lambda_context import FakeContext
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs import clock
from transform_jobs.adapters import s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.models.job_status import JobStatus

# Pages of 10 keys stand for S3's 1,000, so that a few dozen objects make a work area of many
# pages: a listing through it would need 6 requests or more; one around it needs two.
PAGE = 10
WORK_OBJECTS = 50


@pytest.fixture
def listings(aws: dict[str, str]) -> list[dict[str, Any]]:
    """The ListObjectsV2 requests the service makes, as sent (in pages of PAGE keys)."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("MaxKeys", PAGE)
        sent.append(dict(params))

    s3_gateway._client().meta.events.register("provide-client-params.s3.ListObjectsV2", record)
    return sent


def fill_work_area(job_id: str) -> None:
    s3 = boto3.client("s3")
    for index in range(WORK_OBJECTS):
        key = f"team-a/out/.transform-jobs/{job_id}/input/in.csv/part-{index:05d}.csv.out"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")


def put_outputs(*names: str) -> None:
    for name in names:
        boto3.client("s3").put_object(Bucket=BUCKET, Key=f"team-a/out/{name}", Body=b"1\n")


def test_outputs_are_listed_around_a_full_work_area(
    aws: dict[str, str], listings: list[dict[str, Any]]
) -> None:
    register_team("team-a")
    api = ApiCaller("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    fill_work_area(job.JobId)
    # "+early" sorts before ".transform-jobs/", the others after it.
    put_outputs("+early.csv.out", "a.csv.out", "sub/b.csv.out")
    listings.clear()

    status, _, page = api.call("GET", f"/v1/jobs/{job.JobId}/outputs")

    assert status == 200, page
    assert [item["Key"] for item in page["Outputs"]] == [
        "+early.csv.out",
        "a.csv.out",
        "sub/b.csv.out",
    ]
    assert page["NextToken"] is None
    assert len(listings) == 2
    assert listings[1]["StartAfter"].startswith("team-a/out/.transform-jobs/\U0010ffff")


def test_output_pages_continue_past_the_work_area(
    aws: dict[str, str], listings: list[dict[str, Any]]
) -> None:
    register_team("team-a")
    api = ApiCaller("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    fill_work_area(job.JobId)
    put_outputs("+early.csv.out", "a.csv.out")

    _, _, first = api.call("GET", f"/v1/jobs/{job.JobId}/outputs", query={"MaxResults": "1"})
    listings.clear()
    _, _, second = api.call(
        "GET", f"/v1/jobs/{job.JobId}/outputs", query={"NextToken": first["NextToken"]}
    )

    assert [item["Key"] for item in first["Outputs"]] == ["+early.csv.out"]
    assert [item["Key"] for item in second["Outputs"]] == ["a.csv.out"]
    assert second["NextToken"] is None
    assert len(listings) == 2  # up to the work area, then past it


def test_reconcile_counts_outputs_without_paging_the_work_area(
    aws: dict[str, str],
    sagemaker: SageMakerStub,
    listings: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reconcile_jobs import app

    monkeypatch.setenv("RECONCILE_AFTER_SECONDS", "0")
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    fill_work_area(job.JobId)
    put_outputs("a.csv.out", "b.csv.out")
    sagemaker.describes(job.SageMakerJobName, "InProgress")
    listings.clear()

    app.handler(load_event("schedule.json"), FakeContext())

    running = job_repository.get_job(job.JobId)
    assert running is not None and running.Progress.OutputObjects == 2
    assert len(listings) == 2


@pytest.fixture
def signing_credentials_end(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[timedelta], datetime]]:
    """Gives the signing credentials an expiry, as a role session's credentials have (botocore
    reads AWS_CREDENTIAL_EXPIRATION with the keys)."""

    def expire_in(delay: timedelta) -> datetime:
        end = clock.now().replace(microsecond=0) + delay
        # A new variable is a new environment: the next link is signed by a new session.
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", end.isoformat())
        return end

    return expire_in


def only_link(job_id: str) -> tuple[datetime, int]:
    _, _, page = ApiCaller("team-a").call("GET", f"/v1/jobs/{job_id}/outputs")
    [output] = page["Outputs"]
    signed_for = int(parse_qs(urlparse(output["Url"]).query)["X-Amz-Expires"][0])
    return clock.parse(output["UrlExpiresAt"]), signed_for


def test_links_end_when_the_signing_session_ends(
    signing_credentials_end: Callable[[timedelta], datetime],
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    put_outputs("a.csv.out")
    session_end = signing_credentials_end(timedelta(minutes=20))  # PRESIGNED_URL_SECONDS: 3600

    expires_at, signed_for = only_link(job.JobId)

    assert expires_at == session_end
    assert 20 * 60 - 5 <= signed_for <= 20 * 60


def test_links_last_as_long_as_asked_within_the_session(
    signing_credentials_end: Callable[[timedelta], datetime],
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    put_outputs("a.csv.out")
    signing_credentials_end(timedelta(hours=6))
    asked_at = clock.now()

    expires_at, signed_for = only_link(job.JobId)

    assert signed_for == 3600
    assert timedelta(seconds=3595) <= expires_at - asked_at <= timedelta(seconds=3605)


@pytest.mark.parametrize(
    ("written", "listed"),
    [(timedelta(0), True), (timedelta(seconds=-1), False), (timedelta(seconds=2), True)],
    ids=["same-second", "second-before", "after"],
)
def test_an_output_written_in_the_second_the_job_started_is_its_own(
    aws: dict[str, str], written: timedelta, listed: bool
) -> None:
    """S3 lists LastModified in whole seconds, so a fast job's output can look older than it."""
    from transform_jobs.jobs.queries import is_output_of

    job = make_job()
    job.StartedAt = datetime(2026, 12, 3, 12, 0, 0, 700_000, tzinfo=UTC)
    listed_time = job.StartedAt.replace(microsecond=0) + written
    entry = s3_gateway.S3Object(BUCKET, "team-a/out/a.csv.out", 2, last_modified=listed_time)
    assert is_output_of(job, entry) is listed
