"""SQS: jobs handed to launch_job, prepare_job and finalize_job, and webhook deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from transform_jobs.adapters import aws_clients
from transform_jobs.models.messages import DeliveryMessage, LaunchMessage, StepMessage
from transform_jobs.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient


def _client() -> SQSClient:
    return cast("SQSClient", aws_clients.client("sqs"))


class LaunchNotQueued(Exception):
    """SQS did not take the message (after botocore's own retries)."""


def send_launch(job_id: str, *, delay_seconds: int = 0) -> None:
    try:
        _client().send_message(
            QueueUrl=get_settings().launch_queue_url,
            MessageBody=LaunchMessage(JobId=job_id).model_dump_json(),
            DelaySeconds=delay_seconds,
        )
    except (BotoCoreError, ClientError) as error:
        raise LaunchNotQueued(f"launch of job {job_id} not queued: {error}") from error


def send_prepare(job_id: str, *, step: int) -> None:
    """Hands a job's next preparation step to prepare_job."""
    _send_step(get_settings().prepare_queue_url, job_id, step)


def send_finalize(job_id: str, *, step: int) -> None:
    """Hands a job's next reassembly step to finalize_job."""
    _send_step(get_settings().finalize_queue_url, job_id, step)


def _send_step(queue_url: str, job_id: str, step: int) -> None:
    # A lost message is repaired by reconcile_jobs (the job stays Preparing or Finalizing).
    _client().send_message(
        QueueUrl=queue_url, MessageBody=StepMessage(JobId=job_id, Step=step).model_dump_json()
    )


class DeliveryNotQueued(Exception):
    """SQS did not take the webhook delivery message."""


SQS_MAX_DELAY_S = 900


def send_delivery(
    webhook_id: str, delivery_id: str, *, attempts_made: int, delay_seconds: int = 0
) -> None:
    """Hands one delivery to deliver_webhook, after up to 15 minutes (SQS's longest delay), for
    the attempt that follows `attempts_made`: a message that outlived its attempt is dropped."""
    body = DeliveryMessage(WebhookId=webhook_id, DeliveryId=delivery_id, AttemptsMade=attempts_made)
    try:
        _client().send_message(
            QueueUrl=get_settings().webhook_queue_url,
            MessageBody=body.model_dump_json(),
            DelaySeconds=max(0, min(delay_seconds, SQS_MAX_DELAY_S)),
        )
    except (BotoCoreError, ClientError) as error:
        raise DeliveryNotQueued(f"delivery {delivery_id} not queued: {error}") from error
