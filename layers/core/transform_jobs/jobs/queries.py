"""Reading jobs for a team: one job, a filtered page, a history, the outputs with links.

A team sees only its own jobs: an id that is not one of the team's jobs, well-formed or not,
is NotFound, the same answer as for an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.adapters.dynamodb.paging import paged
from transform_jobs.errors import FieldError, Malformed, NotFound
from transform_jobs.identifiers import is_job_id
from transform_jobs.jobs import work_area
from transform_jobs.models.job import (
    Job,
    JobEventList,
    JobPage,
    JobResource,
    OutputList,
    OutputObject,
)
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

logger = Logger(child=True)


def team_job(team_id: str, job_id: str) -> Job:
    job = job_repository.get_job(job_id) if is_job_id(job_id) else None
    if job is None or job.TeamId != team_id:
        raise NotFound(f"No job {job_id!r} for this team.")
    return job


def list_jobs(query: job_repository.JobFilter, *, limit: int, token: str | None) -> JobPage:
    if query.created_after and query.created_before and query.created_after > query.created_before:
        raise Malformed(
            "CreatedAfter is later than CreatedBefore.",
            [FieldError("CreatedAfter", "must be earlier than CreatedBefore; swap them")],
        )
    jobs, next_token = paged(lambda: job_repository.list_jobs(query, limit=limit, token=token))
    return JobPage(Jobs=[JobResource.of(job) for job in jobs], NextToken=next_token)


def history(team_id: str, job_id: str) -> JobEventList:
    job = team_job(team_id, job_id)
    return JobEventList(Events=job_repository.job_history(job.JobId))


def outputs(team_id: str, job_id: str, *, limit: int, token: str | None) -> OutputList:
    """The `.out` objects under the job's S3OutputPath, with presigned GET links."""
    job = team_job(team_id, job_id)
    folder = work_area.output_folder(job)
    if token is not None and not token.startswith(folder.key):
        raise Malformed(
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
    found: list[OutputObject] = []
    last_key: str | None = None
    for entry in output_folder_objects(job, start_after=token):
        last_key = entry.key
        if not is_output_of(job, entry):
            continue
        location = S3Location(entry.bucket, entry.key)
        link = s3_gateway.presign_get(location, expires_in=expires_in)
        found.append(
            OutputObject(
                Key=entry.key[len(folder.key) :],
                S3Uri=location.uri,
                Size=entry.size,
                LastModified=entry.last_modified or clock.now(),
                Url=link.url,
                UrlExpiresAt=link.expires_at,
            )
        )
        if len(found) == limit:
            break
    more = len(found) == limit and last_key is not None and _has_more(job, last_key)
    return OutputList(Outputs=found, NextToken=last_key if more else None)


def is_output_of(job: Job, entry: s3_gateway.S3Object) -> bool:
    """A `.out` object written since the job started (older ones belong to earlier jobs that
    used the same S3OutputPath), outside the service's work area."""
    if not entry.key.endswith(".out") or work_area.in_work_area(job, entry.key):
        return False
    if work_area.in_rerun_output(job, entry.key):
        return False  # a rerun's, written beside this job's
    # S3 lists LastModified in whole seconds: an output written in the second the job started
    # is listed with a time before it.
    started = job.StartedAt and job.StartedAt.replace(microsecond=0)
    return not (started and entry.last_modified and entry.last_modified < started)


# After every key under a prefix: U+10FFFF is the highest code point, and S3 orders keys by
# their UTF-8 bytes (the order of Python's str comparison).
_PAST_PREFIX = "\U0010ffff"


def output_folder_objects(
    job: Job, *, start_after: str | None = None
) -> Iterator[s3_gateway.S3Object]:
    """Objects under the job's S3OutputPath (after `start_after`), listed around the service's
    work area: `.transform-jobs/` sorts before most output names and may hold many shards,
    so the listing stops where it starts and a second listing starts after it."""
    folder = work_area.output_folder(job)
    work = work_area.work_root(job).key
    if start_after is None or start_after < work:
        for entry in s3_gateway.list_objects(folder, start_after=start_after):
            if entry.key >= work:
                break
            yield entry
    after_work = work + _PAST_PREFIX
    for entry in s3_gateway.list_objects(folder, start_after=max(start_after or "", after_work)):
        if not entry.key.startswith(work):  # a work key that itself holds U+10FFFF
            yield entry


def _has_more(job: Job, after: str) -> bool:
    listing = output_folder_objects(job, start_after=after)
    return any(is_output_of(job, entry) for entry in listing)
