"""Accepting a job: check it against the team, store it, hand it to the launcher.

The API never waits on SageMaker: a submission is one DynamoDB transaction and one queue message.
If the message is lost, the job stays Submitted and reconcile_jobs hands it over again.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from transform_jobs import clock, queue_gateway, repository, request_size, team_access
from transform_jobs.identifiers import new_job_id
from transform_jobs.job_status import JobStatus
from transform_jobs.models.job import Job, JobResource
from transform_jobs.models.request import JobRequest
from transform_jobs.problems import Conflict, FieldError, Forbidden, InvalidRequest
from transform_jobs.settings import get_settings

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


def submit(team_id: str, request: JobRequest, idempotency_key: str | None = None) -> JobResource:
    """Accept a job; with an Idempotency-Key, the same key and body give the same job."""
    if idempotency_key is None:
        return _submit(team_id, request, idempotent=False)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    submission = Submission(TeamId=team_id, IdempotencyKey=idempotency_key, Request=request)
    if _lambda_context:
        _idempotency_config().register_lambda_context(_lambda_context[-1])
    try:
        result: JobResource = _idempotent_submit()(submission=submission)
    except IdempotencyValidationError:
        raise InvalidRequest(
            "This Idempotency-Key was used with a different request body in the last 24 hours.",
            [FieldError("Idempotency-Key", "use a new key for a different request")],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from None
    return result


def _submit(team_id: str, request: JobRequest, *, idempotent: bool) -> JobResource:
    team = repository.get_team(team_id)
    if team is None:
        raise Forbidden(f"Team {team_id!r} is not registered with the service.")
    team_access.check_request(team, request)
    job = new_job(team_id, request)
    request_size.check(job, idempotency_key=idempotent)
    job_id = job.JobId
    repository.create_job(job)
    try:
        queue_gateway.send_launch(job_id)
    except queue_gateway.LaunchNotQueued:
        # The job is stored, so the submission stands: answering 500 would invite a retry and
        # a second job. reconcile_jobs hands jobs left in Submitted to the launcher.
        logger.exception("Launch message not sent; the reconciler will send it", job_id=job_id)
    return JobResource.of(job)


def new_job(team_id: str, request: JobRequest) -> Job:
    """A job as submitted: Submitted, with the SageMaker name the service gives it."""
    now = clock.now()
    job_id = new_job_id()
    return Job(
        JobId=job_id,
        TeamId=team_id,
        Status=JobStatus.SUBMITTED,
        CreatedAt=now,
        UpdatedAt=now,
        SageMakerJobName=f"{get_settings().job_name_prefix}{job_id}",
        Request=request,
    )


@cache
def _idempotency_config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig  # noqa: PLC0415

    return IdempotencyConfig(
        event_key_jmespath="[TeamId, IdempotencyKey]",
        payload_validation_jmespath="Request",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )


def register_lambda_context(context: LambdaContext) -> None:
    """Lets idempotency expire an in-flight record when the invocation would have timed out
    (handed over at the submission, so a request without a key never loads idempotency)."""
    _lambda_context[:] = [context]


@cache
def _idempotent_submit() -> Any:
    """Powertools idempotency around _submit, built on first use (it creates a boto3 client).

    The key is the team and its Idempotency-Key, so two teams never share a job; the body is the
    payload check, so the same key with another body is refused (IdempotencyValidationError).
    """
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (  # noqa: PLC0415
        PydanticSerializer,
    )

    store = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name)

    @idempotent_function(
        data_keyword_argument="submission",
        persistence_store=store,
        config=_idempotency_config(),
        output_serializer=PydanticSerializer(model=JobResource),
    )
    def submit_once(submission: Submission) -> JobResource:
        return _submit(submission.TeamId, submission.Request, idempotent=True)

    return submit_once
