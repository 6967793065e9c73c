"""Shared fixtures: a moto-backed AWS with the template's tables, queue and a data bucket."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.receiver import receiver  # noqa: F401 (a fixture for every test)
from tests.support.sagemaker import sagemaker  # noqa: F401 (a fixture for every test)
from tests.support.template import table_definition

EVENTS = Path(__file__).resolve().parents[1] / "events"
BUCKET = "transform-jobs-data"
ARTIFACTS_BUCKET = "transform-jobs-artifacts"
TABLE = "transform-jobs-test"
IDEMPOTENCY_TABLE = "transform-jobs-test-idempotency"

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
    POWERTOOLS_SERVICE_NAME="transform-jobs",
    POWERTOOLS_METRICS_NAMESPACE="TransformJobs",
    POWERTOOLS_DEV="false",
    STAGE="dev",
    TABLE_NAME=TABLE,
    IDEMPOTENCY_TABLE_NAME=IDEMPOTENCY_TABLE,
    SERVICE_MAX_RUNNING_JOBS="3",
    ARTIFACTS_BUCKET=ARTIFACTS_BUCKET,
    # Each function checks at import that its queues and key are set (settings.load); the tests
    # that send to them set the real URLs.
    LAUNCH_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unset-launch",
    PREPARE_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unset-prepare",
    FINALIZE_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unset-finalize",
    WEBHOOK_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/unset-webhooks",
    WEBHOOK_KEY_ID="alias/unset-webhooks",
)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with template.yaml's JobsTable and IdempotencyTable, a launch queue and a bucket."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition("JobsTable", TABLE))
        dynamodb.create_table(**table_definition("IdempotencyTable", IDEMPOTENCY_TABLE))
        queue_url = boto3.client("sqs").create_queue(QueueName="launch")["QueueUrl"]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("s3").create_bucket(Bucket=ARTIFACTS_BUCKET)
        monkeypatch.setenv("LAUNCH_QUEUE_URL", queue_url)
        yield {"queue_url": queue_url, "bucket": BUCKET, "table": TABLE}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n 2 --dist loadgroup` (make test) the tests that share the session's local
    stack run on one worker, so the suite starts that stack once; the rest spread over both."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("local-stack"))
