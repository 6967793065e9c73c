"""SQS webhook queue → deliver_webhook: one signed POST per due delivery, recorded in its log."""

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

from transform_jobs.webhooks.delivery import deliver

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


def deliver_record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    result = deliver(message["WebhookId"], message["DeliveryId"])
    if result.outcome is None:
        return  # not due, or already done: a duplicate message
    logger.info(
        "Delivery attempt",
        webhook_id=message["WebhookId"],
        delivery_id=message["DeliveryId"],
        status_code=result.outcome.status_code,
        latency_ms=result.outcome.latency_ms,
        error=result.outcome.error,
        delivery_status=result.delivery.Status if result.delivery else None,
    )
    name = "WebhookDeliveriesSucceeded" if result.outcome.succeeded else "WebhookAttemptsFailed"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=deliver_record, processor=processor, context=context
    )
