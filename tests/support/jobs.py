"""Creating jobs straight in the table, in any status, for tests of the back end."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import BUCKET, load_event
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs.submission import new_job
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.request import JobRequest


def request_body(team: str = "team-a", **change: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
    body["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/{team}/in/"
    body["TransformOutput"]["S3OutputPath"] = f"s3://{BUCKET}/{team}/out/"
    body.pop("DataProcessing")
    body.update(copy.deepcopy(change))
    return body


def make_job(status: JobStatus = JobStatus.SUBMITTED, team: str = "team-a", **change: Any) -> Job:
    job = new_job(team, JobRequest.model_validate(request_body(team, **change)))
    job_id = job.JobId
    job_repository.create_job(job)
    if status is not JobStatus.SUBMITTED:

        def decide(current: Job) -> JobUpdate:
            current.Status = status
            current.HoldsCapacity = status in (JobStatus.IN_PROGRESS, JobStatus.STOPPING)
            return JobUpdate(job=current)

        job = job_repository.update_job(job_id, decide) or job
    return job


def status_of(job_id: str) -> JobStatus:
    job = job_repository.get_job(job_id)
    assert job is not None
    return job.Status
