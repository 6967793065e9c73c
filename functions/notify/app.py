"""DynamoDB stream (INSERTs of job history items and schedule failures only: the stream filter)
→ notify: one delivery per subscription and event type, queued for deliver_webhook.

One update may write several history items (a job that passed through Stopping on its way to
Stopped); the stream does not keep the order of a transaction's items, so a batch is fanned out
in history order.
"""

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

from transform_jobs.adapters.dynamodb.table import plain
from transform_jobs.settings import Required, Settings, load
from transform_jobs.webhooks.fanout import HistoryItem, fan_out, fan_out_schedule_failure


class NotifySettings(Settings):
    """What notify cannot run without; checked at Init (settings.load)."""

    table_name: Required
    webhook_queue_url: Required


load(NotifySettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def notify_record(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else None
    kind = image.get("Kind") if image else None
    if image and kind == "ScheduleFailure":
        values = plain(dict(image))
        queued = fan_out_schedule_failure(values)
        logger.info("Fanned out", schedule_id=values["ScheduleId"], deliveries=queued)
        _count(queued)
        return
    if not image or kind != "JobEvent":
        return  # the stream filter keeps these out; nothing to do if one comes anyway
    item = HistoryItem.of(plain(dict(image)))
    queued = fan_out(item)
    logger.info("Fanned out", job_id=item.job_id, status=item.status, deliveries=queued)
    _count(queued)


def _count(queued: int) -> None:
    if queued:
        metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=queued)


def in_history_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's records by job, each job's history items in the order GET lists them (their
    sort keys). Jobs are independent, so their relative order does not matter."""
    return sorted(records, key=_history_key)


def _history_key(record: dict[str, Any]) -> tuple[str, str]:
    keys = record.get("dynamodb", {}).get("Keys", {})
    return keys.get("PK", {}).get("S", ""), keys.get("SK", {}).get("S", "")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Failures are still reported by sequence number, so Lambda resumes from the earliest failed
    # record in stream order; records fanned out again find their deliveries already made.
    ordered = {**event, "Records": in_history_order(event.get("Records", []))}
    return process_partial_response(
        event=ordered, record_handler=notify_record, processor=processor, context=context
    )
