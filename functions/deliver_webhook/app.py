"""SQS webhook queue → deliver_webhook: one signed POST per due delivery, recorded in its log.

A batch's POSTs run side by side (a receiver may take its whole 15 s), each started only if it
can finish within the invocation's time; one that cannot is reported as a batch item failure,
unrecorded, and SQS delivers its message again.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.models.messages import DeliveryRecord
from transform_jobs.settings import Required, Settings, load
from transform_jobs.webhooks import delivery


class DeliverWebhookSettings(Settings):
    """What deliver_webhook cannot run without; checked at Init (settings.load)."""

    table_name: Required
    webhook_key_id: Required
    webhook_queue_url: Required


load(DeliverWebhookSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
metrics = Metrics()
# Powertools types `model` as its own parser models; ours is the same shape (models.messages).
processor = AsyncBatchProcessor(event_type=EventType.SQS, model=DeliveryRecord)  # type: ignore[arg-type]
# One thread per message of a batch (the event source's BatchSize); only the POSTs run in them.
posts = ThreadPoolExecutor(max_workers=10, thread_name_prefix="webhook-post")


async def deliver_record(record: DeliveryRecord, lambda_context: LambdaContext) -> None:
    message = record.body
    webhook_id, delivery_id = message.WebhookId, message.DeliveryId
    due = delivery.prepare(webhook_id, delivery_id, message.AttemptsMade)
    if isinstance(due, delivery.Result):
        return  # not due, or already done: a duplicate message
    deadline = time.monotonic() + lambda_context.get_remaining_time_in_millis() / 1000
    post = partial(delivery.attempt, due, deadline=deadline)
    try:
        # A receiver that trickles its answer can outlast the socket timeouts: stop waiting
        # for it in time to end the invocation (the attempt is then not recorded).
        outcome = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(posts, post),
            timeout=max(0.0, deadline - time.monotonic() - delivery.RECORD_MARGIN_S),
        )
    except TimeoutError:
        raise delivery.NoTimeLeft("the receiver did not answer within the invocation") from None
    result = delivery.conclude(due, outcome)
    logger.info(
        "Delivery attempt",
        webhook_id=webhook_id,
        delivery_id=delivery_id,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        delivery_status=result.delivery.Status if result.delivery else None,
    )
    name = "WebhookDeliveriesSucceeded" if outcome.succeeded else "WebhookAttemptsFailed"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=deliver_record, processor=processor, context=context
    )
