"""The DynamoDB repository against moto, with the table template.yaml declares."""

from __future__ import annotations

import boto3
import pytest

from tests.support.jobs import make_job
from tests.support.teams import register_team
from transform_jobs import settings
from transform_jobs.adapters.dynamodb import api_key_repository, job_repository, team_repository
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate


def test_a_lost_race_reruns_the_decision_on_the_fresh_state(aws: dict[str, str]) -> None:
    register_team("team-a")
    job = make_job()
    seen: list[JobStatus] = []

    def decide(current: Job) -> JobUpdate | None:
        seen.append(current.Status)
        if len(seen) == 1:  # another writer gets in between our read and our write
            job_repository.update_job(
                job.JobId, lambda other: move(other, JobStatus.VALIDATING, source="test")
            )
        return move(current, JobStatus.QUEUED, source="test", reason="waiting")

    updated = job_repository.update_job(job.JobId, decide)
    assert seen == [JobStatus.SUBMITTED, JobStatus.VALIDATING]
    assert updated is not None and updated.Status is JobStatus.QUEUED
    assert [e.Status for e in job_repository.job_history(job.JobId)] == [
        JobStatus.SUBMITTED,
        JobStatus.VALIDATING,
        JobStatus.QUEUED,
    ]


def test_a_decision_of_none_writes_nothing(aws: dict[str, str]) -> None:
    register_team("team-a")
    job = make_job(JobStatus.COMPLETED)
    assert (
        job_repository.update_job(
            job.JobId, lambda current: move(current, JobStatus.FAILED, source="t")
        )
        is None
    )
    assert len(job_repository.job_history(job.JobId)) == 1


def test_an_unknown_job_is_none(aws: dict[str, str]) -> None:
    assert job_repository.get_job("01m89tzw4mbp9z2kgnr6jvqxvf") is None
    assert job_repository.update_job("01m89tzw4mbp9z2kgnr6jvqxvf", lambda job: None) is None


def test_ended_jobs_leave_the_sparse_active_index(aws: dict[str, str]) -> None:
    register_team("team-a")
    running = make_job(JobStatus.IN_PROGRESS)
    ended = make_job(JobStatus.IN_PROGRESS)
    job_repository.update_job(ended.JobId, lambda job: move(job, JobStatus.COMPLETED, source="t"))
    assert [job.JobId for job in job_repository.active_jobs(JobStatus.IN_PROGRESS)] == [
        running.JobId
    ]
    item = boto3.client("dynamodb").get_item(
        TableName=aws["table"], Key={"PK": {"S": f"JOB#{ended.JobId}"}, "SK": {"S": "JOB"}}
    )["Item"]
    assert "ActiveStatus" not in item


def test_capacity_is_taken_up_to_the_limit_and_released_at_the_end(aws: dict[str, str]) -> None:
    register_team("team-a")
    first, second = make_job(JobStatus.VALIDATING), make_job(JobStatus.VALIDATING)
    job_repository.take_capacity(first, team_limit=1, service_limit=5)
    with pytest.raises(job_repository.CapacityFull, match="team's limit of 1"):
        job_repository.take_capacity(second, team_limit=1, service_limit=5)
    assert (job_repository.running_count("team-a"), job_repository.running_count()) == (1, 1)

    again = job_repository.take_capacity(first, team_limit=1, service_limit=5)  # idempotent
    assert again.HoldsCapacity
    assert job_repository.running_count("team-a") == 1

    job_repository.update_job(first.JobId, lambda job: move(job, JobStatus.FAILED, source="t"))
    assert (job_repository.running_count("team-a"), job_repository.running_count()) == (0, 0)
    job_repository.take_capacity(second, team_limit=1, service_limit=5)
    assert job_repository.running_count("team-a") == 1


def test_a_cancelled_job_never_takes_capacity(aws: dict[str, str]) -> None:
    register_team("team-a")
    job = make_job(JobStatus.STOPPED)
    assert not job_repository.take_capacity(job, team_limit=1, service_limit=1).HoldsCapacity
    assert job_repository.running_count() == 0


def test_an_api_key_needs_an_existing_team(aws: dict[str, str]) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="TransactionCanceled"):
        team_repository.put_api_key(key_hash="ab" * 32, key_id="abababababab", team_id="ghost")
    assert api_key_repository.team_for_key_hash("ab" * 32) is None


@pytest.mark.parametrize("value", [None, "", "transform-jobs-prod"])
def test_the_key_lookup_reads_the_table_name_the_settings_read(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    """api_key_repository reads TABLE_NAME without pydantic (for the authorizer's cold start)."""
    if value is None:
        monkeypatch.delenv("TABLE_NAME", raising=False)
    else:
        monkeypatch.setenv("TABLE_NAME", value)
    assert api_key_repository.table_name() == settings.get_settings().table_name


def test_updating_a_team_keeps_its_running_count(aws: dict[str, str]) -> None:
    register_team("team-a")
    job_repository.take_capacity(make_job(JobStatus.VALIDATING), team_limit=5, service_limit=5)
    register_team("team-a", max_running_jobs=9)
    team = team_repository.get_team("team-a")
    assert team is not None and team.MaxRunningJobs == 9
    assert job_repository.running_count("team-a") == 1
