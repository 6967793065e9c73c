"""launch_job bounds the input listing by the invocation's time: a listing that would outlast
it is checkpointed and continues in the next launch message, never timing out silently (a
timeout would skip the last attempt's giving up and leave the job to reconcile for ever)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import BUCKET, load_event
from tests.support.jobs import make_job
from tests.support.lambda_context import RunningContext
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs.adapters import s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.launch import preflight
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus
from transform_jobs.preparation import prepare

OBJECTS = 25
PER_STEP = 10  # stands for MIN_LISTED_PER_STEP's 1,000 (one page of S3's listing)


@pytest.fixture
def inputs(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    register_team("team-a")
    prepare = boto3.client("sqs").create_queue(QueueName="prepare")["QueueUrl"]
    monkeypatch.setenv("PREPARE_QUEUE_URL", prepare)

    monkeypatch.setattr(preflight, "MIN_LISTED_PER_STEP", PER_STEP)
    keys = [f"team-a/in/part-{index:03d}.csv" for index in range(OBJECTS)]
    for key in keys:
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"id,x\n1,2\n")
    return keys


@pytest.fixture
def slow_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 answering a listing at 10 objects a second."""
    listing = s3_gateway.list_objects

    def slowly(*args: Any, **kwargs: Any) -> Iterator[s3_gateway.S3Object]:
        for entry in listing(*args, **kwargs):
            time.sleep(0.1)
            yield entry

    monkeypatch.setattr(s3_gateway, "list_objects", slowly)


def launch(job_id: str, context: RunningContext) -> dict[str, Any]:
    from launch_job import app

    event = copy.deepcopy(load_event("sqs_launch_job.json"))
    event["Records"][0]["body"] = json.dumps({"JobId": job_id})
    reply: dict[str, Any] = app.handler(event, context)
    return reply


def launch_messages(queue_url: str) -> list[str]:
    reply = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"])["JobId"] for message in reply.get("Messages", [])]


def job_of(job_id: str) -> Job:
    job = job_repository.get_job(job_id)
    assert job is not None
    return job


def test_a_slow_listing_ends_the_invocation_in_time_and_continues_in_the_next(
    inputs: list[str], slow_listing: None, sagemaker: SageMakerStub, aws: dict[str, str]
) -> None:
    from launch_job import app  # noqa: F401 - imported before the invocation's clock starts

    job = make_job()
    sagemaker.model_exists("churn-xgb")
    context = RunningContext(budget_s=2.0)  # the listing alone would take 2.5 s

    assert launch(job.JobId, context) == {"batchItemFailures": []}

    assert context.get_remaining_time_in_millis() > 0
    listed = job_of(job.JobId)
    assert listed.Status is JobStatus.VALIDATING
    assert listed.Listing is not None and listed.Listing.Step == 1
    assert PER_STEP <= (listed.Progress.InputObjects or 0) < OBJECTS
    assert launch_messages(aws["queue_url"]) == [job.JobId]


def test_a_listing_continued_over_steps_finds_every_object_once(
    inputs: list[str], sagemaker: SageMakerStub, aws: dict[str, str]
) -> None:
    job = make_job(
        InputPreparation={"Header": "Present"}, MaxPayloadInMB=1, MaxConcurrentTransforms=1
    )
    steps = 0
    while launch_messages(aws["queue_url"]) or steps == 0:
        sagemaker.model_exists("churn-xgb")
        # No time left beyond the page every step lists.
        assert launch(job.JobId, RunningContext(budget_s=0.0)) == {"batchItemFailures": []}
        steps += 1
        assert steps <= OBJECTS // PER_STEP + 1

    assert steps == 3  # 10, 20, then the last 5 and the rest of preflight
    prepared = job_of(job.JobId)
    assert prepared.Status is JobStatus.PREPARING
    assert prepared.Progress.InputObjects == OBJECTS
    assert prepared.Preparation is not None
    plan = prepare.load_plan(prepared.Preparation.PlanKey)
    assert [planned.Key for planned in plan.Objects] == inputs
