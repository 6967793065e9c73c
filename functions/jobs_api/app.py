"""REST API for jobs: submit, validate, read, list, cancel, rerun, history, outputs, health.

Routing, validation and the OpenAPI document come from Powertools; each route parses its input,
calls one function of the core and shapes the reply. Every error is application/problem+json.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from transform_jobs.adapters.dynamodb.job_repository import JobFilter
from transform_jobs.api import problems, rest
from transform_jobs.api.rest import MaxResults, NextToken
from transform_jobs.errors import FieldError
from transform_jobs.identifiers import JOB_ID_PATTERN
from transform_jobs.jobs import cancel, queries, submission
from transform_jobs.launch import validation
from transform_jobs.models.job import JobEventList, JobPage, JobResource, OutputList
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.request import JobRequest, RerunOverrides
from transform_jobs.models.validation import Finding, InputSummary, JobValidation
from transform_jobs.settings import Required, Settings, load


class JobsApiSettings(Settings):
    """What jobs_api cannot run without; checked at Init (settings.load)."""

    table_name: Required
    idempotency_table_name: Required
    launch_queue_url: Required


load(JobsApiSettings)  # a variable the template lost fails the cold start, naming it

# What a validation may spend on the launch's checks (listing a long input, mostly): API Gateway
# answers 504 after 29 s, and the function stops at 25.
VALIDATION_SECONDS = 15.0

logger = Logger()
metrics = Metrics()
api = rest.RestApi(
    {
        403: "The job reaches models or data the team may not use",
        404: "No such job for this team",
        409: "Conflict: the job already ended, or the Idempotency-Key is in use",
    }
)
app = api.app


JobId = Annotated[str, Path(alias="jobId", pattern=f"^{JOB_ID_PATTERN.pattern}$")]


def _location(job_id: str) -> str:
    """The job's URL path as the caller sees it: with the stage (or base path) in front."""
    return f"{rest.base_path(app)}/v1/jobs/{job_id}"


@app.post(
    "/v1/jobs",
    status_code=202,
    summary="Submit a transform job",
    responses=api.responses((202, JobResource, "Accepted: the job, Submitted"), 400, 403, 409),
)
def submit_job(
    request: Annotated[JobRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[JobResource]:
    job = submission.submit(api.team(), request, idempotency_key)
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    return Response(202, "application/json", job, headers={"Location": _location(job.JobId)})


@app.post(
    "/v1/jobs/validate",
    summary="Check a job request without starting it",
    description=(
        "Runs every check of POST /v1/jobs and of the launch (the model, the input listing, the "
        "manifest, the header, the payload fit, InputPreparation's columns) and stores and starts "
        "nothing. The body is a job request as for POST /v1/jobs; any JSON object is accepted, and "
        "what breaks a rule is reported in Errors rather than refused."
    ),
    responses=api.responses(
        (200, JobValidation, "The findings; Valid when the job would start"), 400
    ),
)
def validate_job(
    body: Annotated[dict[str, Any], Body(description="A job request (JobRequest)")],
) -> JobValidation:
    rest.object_body(app, "a job request", "the job request as a JSON object")
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as invalid:
        errors = problems.field_errors(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        )
        return JobValidation(Valid=False, Errors=[_finding(e) for e in errors], Warnings=[])
    found = validation.check(api.team(), request, deadline=time.monotonic() + VALIDATION_SECONDS)
    summary = None
    if found.objects is not None:
        summary = InputSummary(Objects=found.objects, Bytes=found.size)
    return JobValidation(
        Valid=found.valid,
        Errors=[_finding(e) for e in found.errors],
        Warnings=[_finding(w) for w in found.warnings],
        Input=summary,
    )


def _finding(error: FieldError) -> Finding:
    return Finding(field=error.field, reason=error.reason)


@app.get(
    "/v1/jobs",
    summary="List the team's jobs, newest first",
    responses=api.responses((200, JobPage, "A page of jobs"), 400),
)
def list_jobs(
    status: Annotated[JobStatus | None, Query(alias="Status")] = None,
    model_name: Annotated[str | None, Query(alias="ModelName", max_length=63)] = None,
    created_after: Annotated[rest.DateTimeQuery | None, Query(alias="CreatedAfter")] = None,
    created_before: Annotated[rest.DateTimeQuery | None, Query(alias="CreatedBefore")] = None,
    schedule_id: Annotated[
        str | None, Query(alias="ScheduleId", pattern=f"^{JOB_ID_PATTERN.pattern}$")
    ] = None,
    max_results: MaxResults = 50,
    next_token: NextToken = None,
) -> JobPage:
    query = JobFilter(api.team(), status, model_name, created_after, created_before, schedule_id)
    return queries.list_jobs(query, limit=max_results, token=next_token)


@app.get(
    "/v1/jobs/<jobId>",
    summary="Get a job",
    responses=api.responses((200, JobResource, "The job"), 404),
)
def get_job(job_id: JobId) -> JobResource:
    return JobResource.of(queries.team_job(api.team(), job_id))


@app.post(
    "/v1/jobs/<jobId>/cancel",
    summary="Cancel a job (repeatable)",
    responses=api.responses((200, JobResource, "The job, Stopped or Stopping"), 404, 409),
)
def cancel_job(job_id: JobId) -> JobResource:
    job = cancel.cancel(queries.team_job(api.team(), job_id))
    return JobResource.of(job)


@app.post(
    "/v1/jobs/<jobId>/rerun",
    status_code=202,
    summary="Run a job again, on a new model or elsewhere",
    description=(
        "A new job with the original's request, changed by the body's overrides (all optional). "
        "Its outputs go to <original S3OutputPath>/reruns/<new job id>/ unless "
        "TransformOutput.S3OutputPath says where, never over the original's. The new job is "
        "checked like any submission and carries RerunOf."
    ),
    responses=api.responses(
        (202, JobResource, "Accepted: the new job, Submitted"), 400, 403, 404, 409
    ),
)
def rerun_job(
    job_id: JobId,
    overrides: Annotated[RerunOverrides | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[JobResource]:
    rest.object_body(
        app, "overrides, or no body", 'an object such as {"ModelName": "..."}, or no body'
    )
    try:
        job = submission.rerun(api.team(), job_id, overrides or RerunOverrides(), idempotency_key)
    except ValidationError as invalid:  # the overrides and the original together break a rule
        raise problems.from_validation(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        ) from None
    metrics.add_metric(name="JobsRerun", unit=MetricUnit.Count, value=1)
    return Response(202, "application/json", job, headers={"Location": _location(job.JobId)})


@app.get(
    "/v1/jobs/<jobId>/events",
    summary="A job's history of status changes",
    responses=api.responses((200, JobEventList, "The job's history, oldest first"), 404),
)
def job_events(job_id: JobId) -> JobEventList:
    return queries.history(api.team(), job_id)


@app.get(
    "/v1/jobs/<jobId>/outputs",
    summary="A job's output objects, with presigned links",
    responses=api.responses((200, OutputList, "Output objects"), 400, 404),
)
def job_outputs(
    job_id: JobId,
    max_results: MaxResults = 100,
    next_token: NextToken = None,
) -> OutputList:
    return queries.outputs(api.team(), job_id, limit=max_results, token=next_token)


@app.get("/v1/health", summary="Liveness (no key needed)")
def health() -> dict[str, str]:
    return {"Status": "ok"}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of these routes (scripts/generate_openapi.py merges the APIs')."""
    return rest.openapi_document(
        app,
        public_paths={"/v1/health"},
        links={
            ("/v1/jobs", "post"): {"jobId": "$response.body#/JobId"},
            ("/v1/jobs", "get"): {"jobId": "$response.body#/Jobs/0/JobId"},
        },
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    submission.register_lambda_context(context)
    return rest.resolve(app, event, context)
