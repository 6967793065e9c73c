"""SQS launch queue → launch_job: preflight, capacity, CreateTransformJob (one job per message)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.job_status import JobStatus
from transform_jobs.launch import give_up, launch
from transform_jobs.settings import get_settings
from transform_jobs.work_budget import deadline

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def launch_record(record: SQSRecord, lambda_context: LambdaContext) -> None:
    job_id = json.loads(record.body)["JobId"]
    try:
        # The input listing stops at the step deadline (15 of the function's 30 s) and goes on
        # in a new message: the rest is the launch's, or the last attempt's giving up, which a
        # timeout would skip.
        status = launch(job_id, deadline=deadline(lambda_context))
    except Exception as error:
        if int(record.attributes.approximate_receive_count) < get_settings().launch_max_receives:
            raise  # SQS delivers it again after the visibility timeout
        logger.exception("Last launch attempt failed; failing the job", job_id=job_id)
        status = give_up(job_id, error)
    logger.info("Launch step done", job_id=job_id, status=status)
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
