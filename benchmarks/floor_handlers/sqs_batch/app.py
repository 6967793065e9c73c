"""Floor for an SQS-driven function: partial batch responses over pydantic-validated messages."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


class Step(BaseModel):
    job_id: str = Field(min_length=1, max_length=40)
    attempt: int = Field(ge=0, le=100)


def record_handler(record: SQSRecord) -> None:
    Step.model_validate_json(record.body)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
