"""SQS prepare queue → prepare_job: one preparation step of a job with InputPreparation."""

from __future__ import annotations

import json
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

from transform_jobs.preparation import give_up, prepare
from transform_jobs.settings import get_settings
from transform_jobs.work_budget import deadline

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def prepare_record(record: SQSRecord) -> None:
        message = json.loads(record.body)
        job_id = message["JobId"]
        try:
            status = prepare(job_id, int(message["Step"]), deadline=deadline(context))
        except Exception as error:
            if int(record.attributes.approximate_receive_count) < get_settings().step_max_receives:
                raise  # SQS delivers it again after the visibility timeout
            logger.exception("Last attempt of the step failed; failing the job", job_id=job_id)
            status = give_up(job_id, error)
        logger.info("Preparation step done", job_id=job_id, status=status)

    return process_partial_response(
        event=event, record_handler=prepare_record, processor=processor, context=context
    )
