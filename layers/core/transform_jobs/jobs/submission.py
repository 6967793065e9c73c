"""Accepting a job: check it against the team, store it, hand it to the launcher.

The API never waits on SageMaker: a submission is one DynamoDB transaction and one queue message.
If the message is lost, the job stays Submitted and reconcile_jobs hands it over again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from transform_jobs import clock
from transform_jobs.access import team_access
from transform_jobs.adapters import queue_gateway
from transform_jobs.adapters.dynamodb import job_repository, team_repository
from transform_jobs.errors import Conflict, FieldError, Forbidden, Invalid
from transform_jobs.identifiers import derived_id, new_job_id
from transform_jobs.jobs import queries, request_size, work_area
from transform_jobs.models.job import Job, JobResource
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.request import JobRequest, RerunOverrides
from transform_jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(child=True)

# Powertools idempotency (and the boto3 client its DynamoDB store makes) is imported by the first
# submission that carries an Idempotency-Key: every other request of the API does without it.
_lambda_context: list[LambdaContext] = []


class Submission(BaseModel):
    """What identifies a submission for idempotency: the team, its key, and the body."""

    TeamId: str
    IdempotencyKey: str
    Request: JobRequest


class Rerun(BaseModel):
    """What identifies a rerun for idempotency: the team, its key, the job and the changes."""

    TeamId: str
    IdempotencyKey: str
    JobId: str
    Overrides: RerunOverrides


def submit(team_id: str, request: JobRequest, idempotency_key: str | None = None) -> JobResource:
    """Accept a job; with an Idempotency-Key, the same key and body give the same job."""
    if idempotency_key is None:
        return _submit(team_id, request, idempotent=False)
    submission = Submission(TeamId=team_id, IdempotencyKey=idempotency_key, Request=request)
    config, submit_once = _idempotent_submit()
    return _once(config, lambda: submit_once(submission=submission))


def rerun(
    team_id: str, job_id: str, overrides: RerunOverrides, idempotency_key: str | None = None
) -> JobResource:
    """A new job with the original's request and `overrides`, carrying RerunOf; its outputs go
    under <original S3OutputPath>/reruns/<new job id>/ unless the overrides say where. With an
    Idempotency-Key, the same key, job and overrides give the same new job."""
    if idempotency_key is None:
        return _rerun(team_id, job_id, overrides, idempotent=False)
    rerun = Rerun(TeamId=team_id, IdempotencyKey=idempotency_key, JobId=job_id, Overrides=overrides)
    config, rerun_once = _idempotent_rerun()
    return _once(config, lambda: rerun_once(rerun=rerun))


def _rerun(
    team_id: str, job_id: str, overrides: RerunOverrides, *, idempotent: bool
) -> JobResource:
    original = queries.team_job(team_id, job_id)
    new_id = new_job_id()
    request = overrides.applied_to(original.Request, work_area.rerun_output_path(original, new_id))
    return _submit(team_id, request, idempotent=idempotent, job_id=new_id, rerun_of=job_id)


def _scheduled_job_id(schedule_id: str, scheduled_time: datetime) -> str:
    millis = int(scheduled_time.timestamp() * 1000)
    return derived_id(millis, "schedule", schedule_id, clock.to_iso(scheduled_time))


def scheduled_job(schedule_id: str, scheduled_time: datetime) -> JobResource | None:
    """The job of a schedule's run at `scheduled_time`, if it was made."""
    found = job_repository.get_job(_scheduled_job_id(schedule_id, scheduled_time))
    return JobResource.of(found) if found is not None else None


def submit_scheduled(
    team_id: str, request: JobRequest, schedule_id: str, scheduled_time: datetime
) -> tuple[JobResource, bool]:
    """The job of a schedule's run at `scheduled_time`, and whether this call made it. Its id is
    derived from the schedule and the time, and stored only if new, so however often a run is
    started (a retried or duplicated sweep, two POSTs of /run), one job stands for it."""
    job_id = _scheduled_job_id(schedule_id, scheduled_time)
    try:
        made = _submit(
            team_id,
            request,
            idempotent=False,
            job_id=job_id,
            scheduled=(schedule_id, scheduled_time),
        )
    except job_repository.JobExists:
        return JobResource.of(queries.team_job(team_id, job_id)), False
    return made, True


def _once(config: IdempotencyConfig, call: Callable[[], JobResource]) -> JobResource:
    """An idempotent call, its two refusals as the API's 422 and 409."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if _lambda_context:
        config.register_lambda_context(_lambda_context[-1])
    try:
        result: JobResource = call()
    except IdempotencyValidationError:
        raise Invalid(
            "This Idempotency-Key was used with a different request body in the last 24 hours.",
            [FieldError("Idempotency-Key", "use a new key for a different request")],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from None
    return result


def _submit(
    team_id: str,
    request: JobRequest,
    *,
    idempotent: bool,
    job_id: str | None = None,
    rerun_of: str | None = None,
    scheduled: tuple[str, datetime] | None = None,
) -> JobResource:
    team = team_repository.get_team(team_id)
    if team is None:
        raise Forbidden(f"Team {team_id!r} is not registered with the service.")
    team_access.check_request(team, request)
    job = new_job(team_id, request, job_id=job_id, rerun_of=rerun_of)
    if scheduled is not None:
        job.ScheduleId, job.ScheduledTime = scheduled
    request_size.check(job, idempotency_key=idempotent)
    job_id = job.JobId
    job_repository.create_job(job)
    try:
        queue_gateway.send_launch(job_id)
    except queue_gateway.LaunchNotQueued:
        # The job is stored, so the submission stands: answering 500 would invite a retry and
        # a second job. reconcile_jobs hands jobs left in Submitted to the launcher.
        logger.exception("Launch message not sent; the reconciler will send it", job_id=job_id)
    return JobResource.of(job)


def new_job(
    team_id: str, request: JobRequest, *, job_id: str | None = None, rerun_of: str | None = None
) -> Job:
    """A job as submitted: Submitted, with the SageMaker name the service gives it."""
    now = clock.now()
    job_id = job_id or new_job_id()
    return Job(
        JobId=job_id,
        TeamId=team_id,
        Status=JobStatus.SUBMITTED,
        CreatedAt=now,
        UpdatedAt=now,
        SageMakerJobName=f"{get_settings().job_name_prefix}{job_id}",
        Request=request,
        RerunOf=rerun_of,
    )


def _config(settings: Settings, *, payload: str) -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig  # noqa: PLC0415

    return IdempotencyConfig(
        event_key_jmespath="[TeamId, IdempotencyKey]",
        payload_validation_jmespath=payload,
        expires_after_seconds=settings.idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )


def register_lambda_context(context: LambdaContext) -> None:
    """Lets idempotency expire an in-flight record when the invocation would have timed out
    (handed over at the submission, so a request without a key never loads idempotency)."""
    _lambda_context[:] = [context]


def _idempotent_submit() -> tuple[IdempotencyConfig, Any]:
    return _idempotent_submit_with(get_settings())  # type: ignore[no-any-return]


def _idempotent_rerun() -> tuple[IdempotencyConfig, Any]:
    return _idempotent_rerun_with(get_settings())  # type: ignore[no-any-return]


# Built once per settings (once per process in Lambda), on first use: they create a client.
@cache
def _idempotent_submit_with(settings: Settings) -> Any:
    """Powertools idempotency around _submit, built on first use (it creates a boto3 client).

    The key is the team and its Idempotency-Key, so two teams never share a job; the body is the
    payload check, so the same key with another body is refused (IdempotencyValidationError).
    """
    from aws_lambda_powertools.utilities.idempotency import idempotent_function  # noqa: PLC0415
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (  # noqa: PLC0415
        PydanticSerializer,
    )

    config = _config(settings, payload="Request")

    @idempotent_function(
        data_keyword_argument="submission",
        persistence_store=_store(settings, config.payload_validation_jmespath),
        config=config,
        output_serializer=PydanticSerializer(model=JobResource),
    )
    def submit_once(submission: Submission) -> JobResource:
        return _submit(submission.TeamId, submission.Request, idempotent=True)

    return config, submit_once


@cache
def _idempotent_rerun_with(settings: Settings) -> Any:
    """Powertools idempotency around _rerun: the same key, job and overrides give one new job
    (its id, and so its default output path, are made once)."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function  # noqa: PLC0415
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (  # noqa: PLC0415
        PydanticSerializer,
    )

    config = _config(settings, payload="[JobId, Overrides]")

    @idempotent_function(
        data_keyword_argument="rerun",
        persistence_store=_store(settings, config.payload_validation_jmespath),
        config=config,
        output_serializer=PydanticSerializer(model=JobResource),
    )
    def rerun_once(rerun: Rerun) -> JobResource:
        return _rerun(rerun.TeamId, rerun.JobId, rerun.Overrides, idempotent=True)

    return config, rerun_once


@cache
def _store(settings: Settings, payload: str) -> Any:
    """A persistence layer per idempotent function: Powertools configures a layer once, from
    the first config it is used with, so a shared one would check a rerun's payload by the
    submission's JMESPath (or the reverse), and let a reused key with another body through."""
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
    )

    return DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name)
