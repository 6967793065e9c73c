"""SQS: the API and the sweepers hand jobs to launch_job through the launch queue."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from transform_jobs.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


@cache
def _client() -> SQSClient:
    return boto3.client("sqs")


class LaunchNotQueued(Exception):
    """SQS did not take the message (after botocore's own retries)."""


def send_launch(job_id: str, *, delay_seconds: int = 0) -> None:
    try:
        _client().send_message(
            QueueUrl=get_settings().launch_queue_url,
            MessageBody=json.dumps({"JobId": job_id}),
            DelaySeconds=delay_seconds,
        )
    except (BotoCoreError, ClientError) as error:
        raise LaunchNotQueued(f"launch of job {job_id} not queued: {error}") from error


class DeliveryNotQueued(Exception):
    """SQS did not take the webhook delivery message."""


SQS_MAX_DELAY_S = 900


def send_delivery(webhook_id: str, delivery_id: str, *, delay_seconds: int = 0) -> None:
    """Hands one delivery to deliver_webhook, after up to 15 minutes (SQS's longest delay)."""
    try:
        _client().send_message(
            QueueUrl=get_settings().webhook_queue_url,
            MessageBody=json.dumps({"WebhookId": webhook_id, "DeliveryId": delivery_id}),
            DelaySeconds=max(0, min(delay_seconds, SQS_MAX_DELAY_S)),
        )
    except (BotoCoreError, ClientError) as error:
        raise DeliveryNotQueued(f"delivery {delivery_id} not queued: {error}") from error
