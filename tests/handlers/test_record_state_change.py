"""record_state_change driven with the EventBridge events under events/."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import load_event
from tests.support.jobs import make_job, status_of
from tests.support.lambda_context import FakeContext
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus


def event_for(job: Job, name: str, *, event_id: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    event["detail"]["TransformJobName"] = job.SageMakerJobName
    event["detail"]["TransformJobArn"] = (
        f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job.SageMakerJobName}"
    )
    if event_id:
        event["id"] = event_id
    return event


def record(event: dict[str, Any]) -> dict[str, Any]:
    from record_state_change import app

    reply: dict[str, Any] = app.handler(event, FakeContext())
    return reply


@pytest.fixture
def job(aws: dict[str, str]) -> Job:
    register_team("team-a")
    return make_job(JobStatus.IN_PROGRESS)


def test_completed_event_completes_the_job_and_frees_its_slot(job: Job) -> None:
    before = job_repository.running_count("team-a")
    reply = record(event_for(job, "eventbridge_transform_completed.json"))
    assert reply == {"applied": True, "status": "Completed"}
    done = job_repository.get_job(job.JobId)
    assert done is not None
    assert done.Status is JobStatus.COMPLETED
    # epoch milliseconds (a number) in the event
    assert done.EndedAt == datetime(2026, 11, 25, 12, 35, 13, tzinfo=UTC)
    assert done.SageMakerJobArn is not None
    assert job_repository.running_count("team-a") == before - 1
    history = job_repository.job_history(job.JobId)
    assert (history[-1].PreviousStatus, history[-1].Status, history[-1].Source) == (
        JobStatus.IN_PROGRESS,
        JobStatus.COMPLETED,
        "sagemaker",
    )


def test_failed_event_with_iso_times_records_sagemakers_reason(job: Job) -> None:
    event = event_for(job, "eventbridge_transform_failed.json")
    # ISO text, as the SageMaker developer guide's sample carries the times
    event["detail"].update(
        CreationTime="2026-11-25T12:26:13Z",
        TransformStartTime="2026-11-25T12:29:13Z",
        TransformEndTime="2026-11-25T12:35:13Z",
    )
    record(event)
    failed = job_repository.get_job(job.JobId)
    assert failed is not None and failed.Status is JobStatus.FAILED
    assert failed.StatusReason == "SageMaker: ClientError: See job logs for more information"
    assert failed.EndedAt == datetime(2026, 11, 25, 12, 35, 13, tzinfo=UTC)


def test_in_progress_event_with_epoch_strings_sets_the_start_time(aws: dict[str, str]) -> None:
    register_team("team-a")
    queued = make_job(JobStatus.QUEUED)  # launched, but the launcher's own write was lost
    event = event_for(queued, "eventbridge_transform_in_progress.json")
    # Epoch milliseconds as text, as the guide's other SageMaker samples carry them; the event
    # of a job that has started on its instances has its start time.
    event["detail"]["TransformStartTime"] = "1795609753000"
    reply = record(event)
    assert reply["status"] == "InProgress"
    started = job_repository.get_job(queued.JobId)
    assert started is not None and started.StartedAt == datetime(
        2026, 11, 25, 12, 29, 13, tzinfo=UTC
    )


def test_duplicate_completed_event_is_a_no_op(job: Job) -> None:
    event = event_for(job, "eventbridge_transform_completed.json")
    record(event)
    history_length = len(job_repository.job_history(job.JobId))
    assert record(event) == {"applied": False, "status": None}
    assert len(job_repository.job_history(job.JobId)) == history_length


def test_a_duplicate_is_decided_on_the_one_read_of_the_job(
    job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = event_for(job, "eventbridge_transform_completed.json")
    record(event)

    def second_read(job_id: str) -> Job | None:
        raise AssertionError("a no-op read the job a second time")

    monkeypatch.setattr(job_repository, "get_job", second_read)
    assert record(event) == {"applied": False, "status": None}


def test_a_late_in_progress_event_never_moves_a_completed_job_back(job: Job) -> None:
    record(event_for(job, "eventbridge_transform_completed.json"))
    assert record(event_for(job, "eventbridge_transform_in_progress.json"))["applied"] is False
    assert status_of(job.JobId) is JobStatus.COMPLETED


def test_stopped_after_a_cancel_says_it_was_the_teams_request(job: Job) -> None:
    from transform_jobs.adapters import sagemaker_gateway
    from transform_jobs.jobs import cancel

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sagemaker_gateway, "stop_transform_job", lambda name: None)
        cancel.cancel(job)
    event = event_for(job, "eventbridge_transform_completed.json", event_id="stop-1")
    event["detail"]["TransformJobStatus"] = "Stopped"
    record(event)
    stopped = job_repository.get_job(job.JobId)
    assert stopped is not None and stopped.Status is JobStatus.STOPPED
    assert stopped.StatusReason == "Stopped on the team's request."


def test_a_stopped_event_that_overtook_stopping_records_stopping_first(job: Job) -> None:
    stopped = event_for(job, "eventbridge_transform_completed.json", event_id="stopped-1")
    stopped["detail"]["TransformJobStatus"] = "Stopped"
    stopping = event_for(job, "eventbridge_transform_in_progress.json", event_id="stopping-1")
    stopping["detail"]["TransformJobStatus"] = "Stopping"

    assert record(stopped) == {"applied": True, "status": "Stopped"}
    assert record(stopping)["applied"] is False  # the step it reports is already taken

    history = job_repository.job_history(job.JobId)
    assert [(e.PreviousStatus, e.Status, e.Source, e.Reason) for e in history[-2:]] == [
        (
            JobStatus.IN_PROGRESS,
            JobStatus.STOPPING,
            "sagemaker",
            "SageMaker is stopping the job (stopped outside the service).",
        ),
        (JobStatus.STOPPING, JobStatus.STOPPED, "sagemaker", "Stopped outside the service."),
    ]


def test_an_end_that_overtook_in_progress_for_an_unrecorded_launch_records_the_start_first(
    aws: dict[str, str],
) -> None:
    register_team("team-a")
    queued = make_job(JobStatus.QUEUED)  # launched, but the launcher's own write was lost

    reply = record(event_for(queued, "eventbridge_transform_failed.json"))

    assert reply == {"applied": True, "status": "Failed"}
    history = job_repository.job_history(queued.JobId)
    assert [(e.PreviousStatus, e.Status) for e in history[-2:]] == [
        (JobStatus.QUEUED, JobStatus.IN_PROGRESS),
        (JobStatus.IN_PROGRESS, JobStatus.FAILED),
    ]
    failed = job_repository.get_job(queued.JobId)
    assert failed is not None
    assert failed.StartedAt == datetime(2026, 11, 25, 12, 29, 13, tzinfo=UTC)
    assert failed.StatusReason == "SageMaker: ClientError: See job logs for more information"


def test_an_event_for_an_unknown_job_is_ignored(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform_jobs.jobs import state_changes

    warnings: list[str] = []
    monkeypatch.setattr(
        state_changes.logger, "warning", lambda message, **_: warnings.append(message)
    )
    event = copy.deepcopy(load_event("eventbridge_transform_completed.json"))
    assert record(event) == {"applied": False, "status": None}
    assert warnings == ["Ignoring a report for an unknown job"]


def test_an_event_for_a_job_named_outside_the_service_is_ignored(aws: dict[str, str]) -> None:
    event = copy.deepcopy(load_event("eventbridge_transform_completed.json"))
    event["detail"]["TransformJobName"] = "someone-elses-job"
    assert record(event) == {"applied": False, "status": None}


def test_a_malformed_event_is_rejected_by_the_parser(aws: dict[str, str]) -> None:
    from aws_lambda_powertools.utilities.parser import ValidationError

    event = copy.deepcopy(load_event("eventbridge_transform_completed.json"))
    event["detail"]["TransformJobStatus"] = "Exploded"
    with pytest.raises(ValidationError):
        record(event)
