"""DynamoDB stream (INSERTs of job history items only: the stream filter) → notify: one delivery
per subscription and event type, queued for deliver_webhook."""

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
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.table import plain
from transform_jobs.webhooks.fanout import HistoryItem, fan_out

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def notify_record(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("Kind") != "JobEvent":
        return  # the stream filter keeps these out; nothing to do if one comes anyway
    item = HistoryItem.of(plain(dict(image)))
    queued = fan_out(item)
    logger.info("Fanned out", job_id=item.job_id, status=item.status, deliveries=queued)
    if queued:
        metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=queued)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=notify_record, processor=processor, context=context
    )
