"""SQS finalize queue → finalize_job: one reassembly step of a job that asked for Reassemble."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.reassembly import finalize, give_up
from transform_jobs.work_budget import run_step

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> None:
        run_step(record, context, finalize, give_up)

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
