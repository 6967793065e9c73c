"""dispatch_jobs and reconcile_jobs driven with events/schedule.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET, load_event
from tests.support.jobs import make_job, status_of
from tests.support.lambda_context import FakeContext
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.models.job_status import JobStatus


def launch_messages(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(message["Body"])["JobId"] for message in reply.get("Messages", [])]


def dispatch() -> dict[str, Any]:
    from dispatch_jobs import app

    reply: dict[str, Any] = app.handler(load_event("schedule.json"), FakeContext())
    return reply


def reconcile() -> dict[str, Any]:
    from reconcile_jobs import app

    reply: dict[str, Any] = app.handler(load_event("schedule.json"), FakeContext())
    return reply


def test_dispatch_hands_queued_jobs_oldest_first_up_to_free_capacity(aws: dict[str, str]) -> None:
    register_team("team-a", max_running_jobs=10)
    make_job(JobStatus.IN_PROGRESS)  # holds one of the service's 3 slots
    job_repository.take_capacity(make_job(JobStatus.VALIDATING), team_limit=10, service_limit=3)
    queued = [make_job(JobStatus.QUEUED) for _ in range(3)]
    assert dispatch() == {"dispatched": 2}
    # SERVICE_MAX_RUNNING_JOBS=3 and one slot is taken: two jobs go, the oldest ones.
    assert launch_messages(aws["queue_url"]) == [job.JobId for job in queued[:2]]


def test_dispatch_respects_each_teams_own_limit(aws: dict[str, str]) -> None:
    register_team("team-a", max_running_jobs=1)
    register_team("team-b", max_running_jobs=1)
    a = [make_job(JobStatus.QUEUED) for _ in range(2)]
    b = make_job(JobStatus.QUEUED, team="team-b")
    assert dispatch() == {"dispatched": 2}
    assert sorted(launch_messages(aws["queue_url"])) == sorted([a[0].JobId, b.JobId])


def test_dispatch_does_nothing_when_the_service_is_full(aws: dict[str, str]) -> None:
    register_team("team-a", max_running_jobs=10)
    for _ in range(3):
        job_repository.take_capacity(make_job(JobStatus.VALIDATING), team_limit=10, service_limit=3)
    make_job(JobStatus.QUEUED)
    assert dispatch() == {"dispatched": 0}
    assert launch_messages(aws["queue_url"]) == []


@pytest.fixture
def stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every job counts as without news (the cutoff is now)."""
    monkeypatch.setenv("RECONCILE_AFTER_SECONDS", "0")


def test_reconcile_completes_a_job_whose_event_was_lost(
    aws: dict[str, str], sagemaker: SageMakerStub, stale: None
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    sagemaker.describes(
        job.SageMakerJobName,
        "Completed",
        TransformStartTime=datetime(2026, 11, 25, 12, 1, tzinfo=UTC),
        TransformEndTime=datetime(2026, 11, 25, 12, 9, tzinfo=UTC),
    )
    assert reconcile() == {"relaunched": 0, "described": 1, "changed": 1}
    done = job_repository.get_job(job.JobId)
    assert done is not None and done.Status is JobStatus.COMPLETED
    assert done.EndedAt == datetime(2026, 11, 25, 12, 9, tzinfo=UTC)
    assert job_repository.job_history(job.JobId)[-1].Source == "reconcile"


def test_reconcile_counts_outputs_for_progress_while_running(
    aws: dict[str, str], sagemaker: SageMakerStub, stale: None
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    s3 = boto3.client("s3")
    for key in ("team-a/out/a.csv.out", "team-a/out/b.csv.out", "team-a/out/notes.txt"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    sagemaker.describes(job.SageMakerJobName, "InProgress")
    assert reconcile()["changed"] == 0
    running = job_repository.get_job(job.JobId)
    assert running is not None and running.Progress.OutputObjects == 2


def test_reconcile_relaunches_jobs_stuck_before_launch(aws: dict[str, str], stale: None) -> None:
    register_team("team-a")
    stuck = make_job(JobStatus.SUBMITTED)
    assert reconcile()["relaunched"] == 1
    assert launch_messages(aws["queue_url"]) == [stuck.JobId]


def test_reconcile_repeats_a_stop_that_did_not_reach_sagemaker(
    aws: dict[str, str], sagemaker: SageMakerStub, stale: None
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.STOPPING)
    sagemaker.describes(job.SageMakerJobName, "InProgress")
    sagemaker.stops(job.SageMakerJobName)
    reconcile()
    assert status_of(job.JobId) is JobStatus.STOPPING


def test_reconcile_fails_a_job_sagemaker_does_not_know(
    aws: dict[str, str], sagemaker: SageMakerStub, stale: None
) -> None:
    register_team("team-a")
    job = make_job(JobStatus.IN_PROGRESS)
    sagemaker.describe_missing(job.SageMakerJobName)
    reconcile()
    assert status_of(job.JobId) is JobStatus.FAILED


def test_reconcile_leaves_jobs_with_recent_news_alone(
    aws: dict[str, str], sagemaker: SageMakerStub
) -> None:
    register_team("team-a")
    make_job(JobStatus.IN_PROGRESS)
    assert reconcile() == {"relaunched": 0, "described": 0, "changed": 0}
