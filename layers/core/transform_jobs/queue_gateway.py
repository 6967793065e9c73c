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
