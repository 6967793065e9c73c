"""REST API for schedules: create, list, get, change, delete, and run one now.

Its own function, as the webhooks API is: the jobs API's cold start does not carry it, and its
role holds only what schedules need (their items, the launch queue to run one now, the model
check).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.api import rest
from transform_jobs.api.rest import MaxResults, NextToken
from transform_jobs.identifiers import JOB_ID_PATTERN
from transform_jobs.models.job import JobResource
from transform_jobs.models.schedule import (
    RunRequest,
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleUpdate,
)
from transform_jobs.schedules import manage as schedules
from transform_jobs.settings import Required, Settings, load


class SchedulesApiSettings(Settings):
    """What schedules_api cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required


load(SchedulesApiSettings)  # a variable the template lost fails the cold start, naming it


logger = Logger()
metrics = Metrics()
api = rest.RestApi(
    {
        403: "The schedule's job reaches models or data the team may not use",
        404: "No such schedule for this team",
        409: "Conflict: the run has its job already, or the team has as many schedules as it may",
    }
)
app = api.app

ScheduleId = Annotated[str, Path(alias="scheduleId", pattern=f"^{JOB_ID_PATTERN.pattern}$")]


@app.post(
    "/v1/schedules",
    status_code=201,
    summary="Create a schedule: a job that runs on a rate or cron expression",
    description=(
        "The Job template is rendered for the next run and checked as POST /v1/jobs checks a "
        "job. Each due time starts exactly one job (carrying ScheduleId and ScheduledTime), "
        "within a minute of its time."
    ),
    responses=api.responses((201, Schedule, "The schedule, with its NextRunAt"), 400, 403, 409),
)
def create_schedule(body: Annotated[ScheduleCreate, Body()]) -> Response[Schedule]:
    created = schedules.create(api.team(), body)
    location = f"{rest.base_path(app)}/v1/schedules/{created.ScheduleId}"
    return Response(201, "application/json", created, headers={"Location": location})


@app.get(
    "/v1/schedules",
    summary="List the team's schedules",
    responses=api.responses((200, SchedulePage, "A page of schedules"), 400),
)
def list_schedules(max_results: MaxResults = 50, next_token: NextToken = None) -> SchedulePage:
    return schedules.page(api.team(), limit=max_results, token=next_token)


@app.get(
    "/v1/schedules/<scheduleId>",
    summary="Get a schedule",
    responses=api.responses((200, Schedule, "The schedule"), 404),
)
def get_schedule(schedule_id: ScheduleId) -> Schedule:
    return schedules.get(api.team(), schedule_id)


@app.patch(
    "/v1/schedules/<scheduleId>",
    summary="Change a schedule, or enable or disable it",
    responses=api.responses((200, Schedule, "The schedule"), 400, 403, 404),
)
def update_schedule(schedule_id: ScheduleId, change: Annotated[ScheduleUpdate, Body()]) -> Schedule:
    return schedules.update(api.team(), schedule_id, change)


@app.delete(
    "/v1/schedules/<scheduleId>",
    summary="Delete a schedule (its jobs stay)",
    responses=api.responses((204, None, "Deleted"), 404),
)
def delete_schedule(schedule_id: ScheduleId) -> Response[None]:
    schedules.delete(api.team(), schedule_id)
    return Response(204)


@app.post(
    "/v1/schedules/<scheduleId>/run",
    status_code=202,
    summary="Run a schedule's job now, for the current or a given time",
    description=(
        "One job for ScheduledTime (default: now, to the second), enabled or not. A time that "
        "has its job already is a 409."
    ),
    responses=api.responses((202, JobResource, "Accepted: the job, Submitted"), 400, 403, 404, 409),
)
def run_schedule(
    schedule_id: ScheduleId, body: Annotated[RunRequest | None, Body()] = None
) -> Response[JobResource]:
    rest.object_body(app, "the run's time, or no body", '{"ScheduledTime": "..."}, or no body')
    job = schedules.run_now(api.team(), schedule_id, body.ScheduledTime if body else None)
    metrics.add_metric(name="ScheduleRunsStarted", unit=MetricUnit.Count, value=1)
    return Response(
        202,
        "application/json",
        job,
        headers={"Location": f"{rest.base_path(app)}/v1/jobs/{job.JobId}"},
    )


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of these routes (scripts/generate_openapi.py merges the APIs')."""
    return rest.openapi_document(
        app,
        public_paths=set(),
        links={
            ("/v1/schedules", "post"): {"scheduleId": "$response.body#/ScheduleId"},
            ("/v1/schedules", "get"): {"scheduleId": "$response.body#/Schedules/0/ScheduleId"},
        },
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rest.resolve(app, event, context)
