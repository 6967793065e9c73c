"""Reading jobs for a team: one job, a filtered page, a history, the outputs with links.

A team sees only its own jobs: an id that is not one of the team's jobs, well-formed or not,
is NotFound, the same answer as for an id that does not exist.
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from transform_jobs import clock, repository, s3_gateway
from transform_jobs.identifiers import is_job_id
from transform_jobs.models.job import (
    Job,
    JobEventList,
    JobPage,
    JobResource,
    OutputList,
    OutputObject,
)
from transform_jobs.problems import BadRequest, FieldError, NotFound
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings
from transform_jobs.work_area import in_work_area

logger = Logger(child=True)


def team_job(team_id: str, job_id: str) -> Job:
    job = repository.get_job(job_id) if is_job_id(job_id) else None
    if job is None or job.TeamId != team_id:
        raise NotFound(f"No job {job_id!r} for this team.")
    return job


def list_jobs(query: repository.JobFilter, *, limit: int, token: str | None) -> JobPage:
    if query.created_after and query.created_before and query.created_after > query.created_before:
        raise BadRequest(
            "CreatedAfter is later than CreatedBefore.",
            [FieldError("CreatedAfter", "must be earlier than CreatedBefore; swap them")],
        )
    try:
        jobs, next_token = repository.list_jobs(query, limit=limit, token=token)
    except repository.InvalidPageToken:
        raise BadRequest(
            "NextToken is not valid for this listing.",
            [FieldError("NextToken", "pass back the NextToken of the previous page unchanged")],
        ) from None
    return JobPage(Jobs=[JobResource.of(job) for job in jobs], NextToken=next_token)


def history(team_id: str, job_id: str) -> JobEventList:
    job = team_job(team_id, job_id)
    return JobEventList(Events=repository.job_history(job.JobId))


def outputs(team_id: str, job_id: str, *, limit: int, token: str | None) -> OutputList:
    """The `.out` objects under the job's S3OutputPath, with presigned GET links."""
    job = team_job(team_id, job_id)
    output = S3Location.parse(job.Request.TransformOutput.S3OutputPath)
    folder = S3Location(output.bucket, output.reach(folder=True))
    if token is not None and not token.startswith(folder.key):
        raise BadRequest(
            "NextToken is not valid for this job's outputs.",
            [FieldError("NextToken", "pass back the NextToken of the previous page unchanged")],
        )
    try:
        return _listed_outputs(job, folder, limit=limit, token=token)
    except s3_gateway.ObjectMissing as missing:
        # The bucket is gone (or no longer readable): there is nothing to download.
        logger.warning("Outputs cannot be listed", job_id=job.JobId, error=str(missing))
        return OutputList(Outputs=[], NextToken=None)


def _listed_outputs(job: Job, folder: S3Location, *, limit: int, token: str | None) -> OutputList:
    expires_in = get_settings().presigned_url_seconds
    expires_at = clock.now() + timedelta(seconds=expires_in)
    found: list[OutputObject] = []
    last_key: str | None = None
    for entry in s3_gateway.list_objects(folder, start_after=token):
        last_key = entry.key
        if not is_output_of(job, entry):
            continue
        location = S3Location(entry.bucket, entry.key)
        found.append(
            OutputObject(
                Key=entry.key[len(folder.key) :],
                S3Uri=location.uri,
                Size=entry.size,
                LastModified=entry.last_modified or clock.now(),
                Url=s3_gateway.presign_get(location, expires_in=expires_in),
                UrlExpiresAt=expires_at,
            )
        )
        if len(found) == limit:
            break
    more = len(found) == limit and last_key is not None and _has_more(job, folder, last_key)
    return OutputList(Outputs=found, NextToken=last_key if more else None)


def is_output_of(job: Job, entry: s3_gateway.S3Object) -> bool:
    """A `.out` object written since the job started (older ones belong to earlier jobs that
    used the same S3OutputPath), outside the service's work area."""
    if not entry.key.endswith(".out") or in_work_area(job, entry.key):
        return False
    return not (job.StartedAt and entry.last_modified and entry.last_modified < job.StartedAt)


def _has_more(job: Job, folder: S3Location, after: str) -> bool:
    listing = s3_gateway.list_objects(folder, start_after=after)
    return any(is_output_of(job, entry) for entry in listing)
