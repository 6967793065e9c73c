"""Schedules on moto's DynamoDB: the sweep's claim on a due time, and changes that must neither
drop a due run nor be refused when the only change is a pause."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.sagemaker import SageMakerStub
from tests.support.teams import BUCKET, register_team
from transform_jobs import clock
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.adapters.dynamodb import schedule_repository as schedules
from transform_jobs.errors import Forbidden
from transform_jobs.models.schedule import ScheduleCreate, ScheduleUpdate, StoredSchedule
from transform_jobs.schedules import manage, runs

TEAM = "team-a"


def body(**changes: Any) -> ScheduleCreate:
    values: dict[str, Any] = {
        "Name": "every-five",
        "ScheduleExpression": "rate(5 minutes)",
        "Job": {
            "ModelName": "churn-xgb",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{TEAM}/in/"}
                }
            },
            "TransformOutput": {
                "S3OutputPath": f"s3://{BUCKET}/{TEAM}/out/{{ScheduledTime:%Y%m%dT%H%M}}/"
            },
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }
    values.update(changes)
    return ScheduleCreate.model_validate(values)


def stored(schedule_id: str) -> StoredSchedule:
    found = schedules.get_schedule(TEAM, schedule_id)
    assert found is not None
    return found


def scheduled_times(schedule_id: str) -> list[datetime]:
    jobs, _ = job_repository.list_jobs(
        job_repository.JobFilter(TEAM, schedule_id=schedule_id), limit=100, token=None
    )
    return sorted(job.ScheduledTime for job in jobs if job.ScheduledTime is not None)


def test_overlapping_sweeps_with_different_clocks_start_the_same_missed_time(
    aws: dict[str, str], sagemaker: SageMakerStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_team(TEAM)
    made = manage.create(TEAM, body())
    first = made.NextRunAt
    assert first is not None
    # Down since the first run: sweep A wakes at +17 min (latest due +15), and while it starts
    # that run, sweep B wakes at +22 min (latest due +20).
    a_now, b_now = first + timedelta(minutes=17), first + timedelta(minutes=22)
    original, started, overlapped = runs.start, [], []

    def start_with_b_overlapping(schedule: StoredSchedule, scheduled: datetime) -> Any:
        started.append(scheduled)
        if len(started) == 1:  # A's start: B sweeps now, before A makes the job
            overlapped.append(runs.run_due(b_now))
        return original(schedule, scheduled)

    monkeypatch.setattr(runs, "start", start_with_b_overlapping)
    sagemaker.model_exists("churn-xgb")  # B makes the job; A then finds it
    a = runs.run_due(a_now)

    assert started == [first + timedelta(minutes=15)] * 2  # B ran A's time, not its own +20
    assert scheduled_times(made.ScheduleId) == [first + timedelta(minutes=15)]
    assert overlapped[0].started == 1 and a.started == 0 and a.errors == 0
    after = stored(made.ScheduleId)
    assert after.RunningFor is None
    assert after.NextRunAt == first + timedelta(minutes=25)  # the first after B's clock
    assert after.LastRun is not None and after.LastRun.Skipped == 3  # +0, +5 and +10


def test_a_change_keeps_a_run_that_fell_due_and_was_not_yet_swept(aws: dict[str, str]) -> None:
    register_team(TEAM)
    made = manage.create(TEAM, body())
    due = made.NextRunAt
    assert due is not None and due <= clock.now()  # a rate without StartAt runs at once
    later = clock.now() + timedelta(days=30)
    changed = manage.update(TEAM, made.ScheduleId, ScheduleUpdate(EndAt=later))
    assert changed.NextRunAt == due


def test_a_schedule_whose_job_can_no_longer_start_can_be_paused_but_not_resumed(
    aws: dict[str, str],
) -> None:
    register_team(TEAM)
    made = manage.create(TEAM, body())
    register_team(TEAM, models=["fraud-*"])  # the operators take churn-xgb away
    paused = manage.update(TEAM, made.ScheduleId, ScheduleUpdate(Enabled=False))
    assert paused.Enabled is False and paused.NextRunAt is None
    with pytest.raises(Forbidden) as refused:
        manage.update(TEAM, made.ScheduleId, ScheduleUpdate(Enabled=True))
    assert [error.field for error in refused.value.errors] == ["Job.ModelName"]
