"""deliver_webhook keeps a batch within the invocation's time: receivers that hang are waited
for side by side, and a delivery that could not finish in time is not started (nor recorded)
but left to SQS."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.conftest import load_event
from tests.support.lambda_context import RunningContext
from tests.support.receiver import Receiver
from transform_jobs import clock
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.models.webhook import DeliveryStatus, EventType, StoredDelivery, WebhookCreate
from transform_jobs.webhooks import delivery, sender, subscriptions

# Scaled down from 15 s and 3 s, so the test takes seconds.
RECEIVER_TIMEOUT_S = 2.0
RECORD_MARGIN_S = 0.5


@pytest.fixture
def deliveries(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    queue = boto3.client("sqs").create_queue(QueueName="webhooks")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_KEY_ID", key)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    monkeypatch.setattr(sender, "TIMEOUT_S", RECEIVER_TIMEOUT_S)
    monkeypatch.setattr(delivery, "RECORD_MARGIN_S", RECORD_MARGIN_S)
    return


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A receiver that accepts the connection (the kernel does) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/in"


def due_delivery(url: str, *, due_in: timedelta = timedelta(0)) -> tuple[str, str]:
    webhook = subscriptions.create(
        "team-a", WebhookCreate(Url=url, EventTypes=[EventType.COMPLETED])
    )
    delivery_id = f"msg_{webhook.WebhookId}"
    now = clock.now()
    webhook_repository.create_delivery(
        StoredDelivery(
            DeliveryId=delivery_id,
            WebhookId=webhook.WebhookId,
            TeamId="team-a",
            EventType=EventType.COMPLETED,
            JobId="01jbz3k9x2v5q8r7t6w4y3n2m1",
            Status=DeliveryStatus.PENDING,
            NextAttemptAt=now + due_in,
            CreatedAt=now,
            Body=json.dumps({"type": "transform_job.completed", "data": {}}),
        )
    )
    return webhook.WebhookId, delivery_id


def batch(*deliveries: tuple[str, str]) -> dict[str, Any]:
    template = load_event("sqs_deliver_webhook.json")["Records"][0]
    records = []
    for index, (webhook_id, delivery_id) in enumerate(deliveries):
        record = copy.deepcopy(template)
        record["messageId"] = f"message-{index}"
        record["body"] = json.dumps({"WebhookId": webhook_id, "DeliveryId": delivery_id})
        records.append(record)
    return {"Records": records}


def attempts(webhook_id: str, delivery_id: str) -> tuple[DeliveryStatus, list[str | None]]:
    found = webhook_repository.get_delivery(webhook_id, delivery_id)
    assert found is not None
    return found.Status, [attempt.Error for attempt in found.Attempts]


def test_hanging_receivers_are_waited_for_side_by_side_within_the_invocation(
    deliveries: None, receiver: Receiver, hanging_url: str
) -> None:
    from deliver_webhook import app

    slow = [due_delivery(hanging_url) for _ in range(2)]
    fast = [due_delivery(receiver.url) for _ in range(3)]
    # Time for one receiver timeout and the recording, not for two timeouts in a row.
    context = RunningContext(budget_s=RECEIVER_TIMEOUT_S + RECORD_MARGIN_S + 1.0)

    answer = app.handler(batch(*slow, *fast), context)

    assert context.get_remaining_time_in_millis() > 0
    assert answer == {"batchItemFailures": []}
    assert len(receiver.received) == 3
    for webhook_id, delivery_id in fast:
        assert attempts(webhook_id, delivery_id) == (DeliveryStatus.SUCCEEDED, [None])
    for webhook_id, delivery_id in slow:
        status, errors = attempts(webhook_id, delivery_id)
        assert status is DeliveryStatus.PENDING  # retried on the schedule
        assert len(errors) == 1 and "timed out" in str(errors[0]).lower()


def test_a_delivery_that_cannot_finish_in_time_is_left_to_sqs_unrecorded(
    deliveries: None, receiver: Receiver
) -> None:
    from deliver_webhook import app

    due = [due_delivery(receiver.url) for _ in range(2)]
    later = due_delivery(receiver.url, due_in=timedelta(minutes=5))  # an early duplicate
    context = RunningContext(budget_s=RECEIVER_TIMEOUT_S + RECORD_MARGIN_S - 0.5)

    answer = app.handler(batch(later, *due), context)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": "message-1"}, {"itemIdentifier": "message-2"}]
    }
    assert receiver.received == []
    for webhook_id, delivery_id in due:
        assert attempts(webhook_id, delivery_id) == (DeliveryStatus.PENDING, [])
    # The next invocation, with time enough, makes the attempts.
    assert app.handler(batch(*due), RunningContext()) == {"batchItemFailures": []}
    assert len(receiver.received) == 2
