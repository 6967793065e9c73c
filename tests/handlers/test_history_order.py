"""A job's history when one update takes several steps, or several updates share a millisecond:
GET lists it oldest first in the order the steps were taken, and notify fans it out so."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from tests.support.jobs import make_job
from tests.support.lambda_context import FakeContext
from tests.support.teams import register_team
from transform_jobs import clock
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs.state_changes import SageMakerReport, apply
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, SageMakerStatus
from transform_jobs.settings import get_settings
from transform_jobs.webhooks.fanout import HistoryItem, event_types

STOPPING_REASON = "SageMaker is stopping the job (stopped outside the service)."


@pytest.fixture
def job(aws: dict[str, str]) -> Job:
    register_team("team-a")
    return make_job(JobStatus.IN_PROGRESS)


def stand_still(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: moment)


def stopped_by_sagemaker(job: Job) -> None:
    """SageMaker's Stopped, arriving before its Stopping."""
    report = SageMakerReport(
        job_name=job.SageMakerJobName,
        status=SageMakerStatus.STOPPED,
        source="sagemaker",
        event_id="stopped-1",
    )
    changed = apply(report)
    assert changed is not None and changed.Status is JobStatus.STOPPED


def history_items(job_id: str) -> list[dict[str, Any]]:
    """The job's history items as stored (typed values), in sort key order."""
    reply = boto3.client("dynamodb").query(
        TableName=get_settings().table_name,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
        ExpressionAttributeValues={":pk": {"S": f"JOB#{job_id}"}, ":e": {"S": "EVENT#"}},
    )
    items: list[dict[str, Any]] = reply["Items"]
    return items


def test_one_update_that_takes_two_steps_writes_both_in_order_each_showing_its_own_job(
    job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = clock.now() + timedelta(minutes=1)
    stand_still(monkeypatch, moment)

    stopped_by_sagemaker(job)

    history = job_repository.job_history(job.JobId)
    assert [(e.PreviousStatus, e.Status, e.Source, e.Reason) for e in history[-2:]] == [
        (JobStatus.IN_PROGRESS, JobStatus.STOPPING, "sagemaker", STOPPING_REASON),
        (JobStatus.STOPPING, JobStatus.STOPPED, "sagemaker", "Stopped outside the service."),
    ]
    assert history[-2].Time == history[-1].Time == moment
    # Each item carries the job as GET showed it right after its own step (the webhook's data).
    snapshots = [json.loads(item["Snapshot"]["S"]) for item in history_items(job.JobId)[-2:]]
    assert [(shown["Status"], shown["EndedAt"]) for shown in snapshots] == [
        ("Stopping", None),
        ("Stopped", clock.to_iso(moment)),
    ]


def test_updates_in_the_same_millisecond_read_back_in_the_order_they_were_written(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register_team("team-a")
    job = make_job()
    # Five entries at one instant: a random tie-break would list them in order 1 time in 120.
    stand_still(monkeypatch, job.CreatedAt + timedelta(seconds=1))
    for status in (JobStatus.VALIDATING, JobStatus.QUEUED, JobStatus.IN_PROGRESS):
        job_repository.update_job(
            job.JobId, lambda current, status=status: move(current, status, source="launch")
        )
    stopped_by_sagemaker(job)

    history = job_repository.job_history(job.JobId)
    assert [e.Status for e in history] == [
        JobStatus.SUBMITTED,
        JobStatus.VALIDATING,
        JobStatus.QUEUED,
        JobStatus.IN_PROGRESS,
        JobStatus.STOPPING,
        JobStatus.STOPPED,
    ]
    assert len({e.EventId for e in history}) == len(history)


def test_history_items_written_before_read_back_in_time_order_among_new_ones(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register_team("team-a")
    job = make_job()
    older = load_event("dynamodb_history_insert.json")["Records"][0]["dynamodb"]["NewImage"]
    older = copy.deepcopy(older)  # as written until now: EVENT#<time>#<suffix>
    validating_at = clock.to_iso(job.CreatedAt + timedelta(seconds=1))
    older.update(
        PK={"S": f"JOB#{job.JobId}"},
        SK={"S": f"EVENT#{validating_at}#5f1a2b3c"},
        JobId={"S": job.JobId},
        EventId={"S": f"{validating_at}#5f1a2b3c"},
        Time={"S": validating_at},
        Status={"S": "Validating"},
        PreviousStatus={"S": "Submitted"},
        Source={"S": "launch"},
    )
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name, Item=older)
    stand_still(monkeypatch, job.CreatedAt + timedelta(seconds=2))
    job_repository.update_job(
        job.JobId, lambda current: move(current, JobStatus.QUEUED, source="launch")
    )

    history = job_repository.job_history(job.JobId)
    assert [e.Status for e in history] == [
        JobStatus.SUBMITTED,
        JobStatus.VALIDATING,
        JobStatus.QUEUED,
    ]
    assert history[1].EventId == f"{validating_at}#5f1a2b3c"


def stream_batch(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The stream's INSERT records for these items, in this order (as events/ shows one)."""
    sample = load_event("dynamodb_history_insert.json")["Records"][0]
    records = []
    for sequence, item in enumerate(items, start=1):
        record = copy.deepcopy(sample)
        record["dynamodb"].update(
            Keys={"PK": item["PK"], "SK": item["SK"]},
            NewImage=item,
            SequenceNumber=f"{sequence:024d}",
        )
        records.append(record)
    return {"Records": records}


def test_notify_fans_out_both_items_of_one_update_in_history_order_whatever_the_stream_order(
    job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notify import app

    stand_still(monkeypatch, clock.now() + timedelta(minutes=1))
    stopped_by_sagemaker(job)
    # The stream keeps no order among a transaction's items: here Stopped comes first.
    batch = stream_batch(list(reversed(history_items(job.JobId)[-2:])))
    fanned: list[HistoryItem] = []
    monkeypatch.setattr(app, "fan_out", lambda item: fanned.append(item) or 0)

    assert app.handler(batch, FakeContext()) == {"batchItemFailures": []}

    assert [(item.previous, item.status, item.snapshot["Status"]) for item in fanned] == [
        (JobStatus.IN_PROGRESS, JobStatus.STOPPING, "Stopping"),
        (JobStatus.STOPPING, JobStatus.STOPPED, "Stopped"),
    ]
    # Both are status changes with their own ids, so each makes its own deliveries.
    assert all(event_types(item) for item in fanned)
    assert fanned[0].event_id != fanned[1].event_id
