"""Schedule → retry_deliveries: queue the webhook deliveries whose next attempt is due (the
waits too long for SQS's delay, and any whose message was lost)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs import clock
from transform_jobs.settings import Required, Settings, load
from transform_jobs.webhooks.delivery import due_for_retry


class RetryDeliveriesSettings(Settings):
    """What retry_deliveries cannot run without; checked at Init (settings.load)."""

    table_name: Required
    webhook_queue_url: Required


load(RetryDeliveriesSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    queued = due_for_retry(clock.now())
    logger.info("Due deliveries queued", queued=queued)
    return {"queued": queued}
