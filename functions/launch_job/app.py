"""SQS launch queue → launch_job: preflight, capacity, CreateTransformJob (one job per message)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.jobs.steps import run_step
from transform_jobs.launch.launcher import give_up, launch
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.messages import LaunchRecord
from transform_jobs.settings import Required, Settings, get_settings, load


class LaunchJobSettings(Settings):
    """What launch_job cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required
    prepare_queue_url: Required
    artifacts_bucket: Required


load(LaunchJobSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
metrics = Metrics()
# Powertools types `model` as its own parser models; ours is the same shape (models.messages).
processor = BatchProcessor(event_type=EventType.SQS, model=LaunchRecord)  # type: ignore[arg-type]


def launch_record(record: LaunchRecord, lambda_context: LambdaContext) -> None:
    job_id = record.body.JobId
    # The input listing stops at the step deadline (15 of the function's 30 s) and goes on in
    # a new message: the rest is the launch's, or the last attempt's giving up, which a timeout
    # would skip.
    status = run_step(
        record,
        lambda_context,
        lambda until: launch(job_id, deadline=until),
        give_up,
        max_receives=get_settings().launch_max_receives,
    )
    if status in _OUTCOME_METRICS:
        metrics.add_metric(name=_OUTCOME_METRICS[status], unit=MetricUnit.Count, value=1)


_OUTCOME_METRICS = {
    JobStatus.IN_PROGRESS: "JobsLaunched",
    JobStatus.QUEUED: "JobsQueued",
    JobStatus.FAILED: "JobsFailedAtLaunch",
}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=launch_record, processor=processor, context=context
    )
