"""Delivering webhooks end to end below the functions: subscription and delivery records in the
template's table, secrets in KMS, the delivery queue (moto), and a real receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Receiver
from transform_jobs import clock, identifiers
from transform_jobs.adapters import kms_gateway
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.models.webhook import (
    DeliveryStatus,
    EventType,
    StoredDelivery,
    StoredWebhook,
)
from transform_jobs.settings import get_settings
from transform_jobs.webhooks import delivery
from transform_jobs.webhooks.signing import new_secret

TEAM = "team-a"


@pytest.fixture
def webhooks(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    key = boto3.client("kms").create_key(Description="webhook secrets")["KeyMetadata"]["KeyId"]
    queue = boto3.client("sqs").create_queue(QueueName="webhooks")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_KEY_ID", key)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "1,1")
    return {"queue": queue}


def subscribe(url: str, secret: str, **changes: Any) -> StoredWebhook:
    now = clock.now()
    webhook_id = identifiers.new_job_id()
    context = {"TeamId": TEAM, "WebhookId": webhook_id}
    values: dict[str, Any] = {
        "WebhookId": webhook_id,
        "TeamId": TEAM,
        "Url": url,
        "EventTypes": [EventType.COMPLETED],
        "CreatedAt": now,
        "UpdatedAt": now,
        "SecretCiphertext": kms_gateway.encrypt(secret, context),
    }
    webhook = StoredWebhook.model_validate({**values, **changes})
    webhook_repository.create_webhook(webhook)
    return webhook


def pending(webhook: StoredWebhook, body: str = '{"type":"transform_job.completed"}') -> str:
    now = clock.now()
    delivery_id = "msg_" + identifiers.derived_id(int(now.timestamp() * 1000), webhook.WebhookId)
    created = webhook_repository.create_delivery(
        StoredDelivery(
            DeliveryId=delivery_id,
            WebhookId=webhook.WebhookId,
            TeamId=TEAM,
            EventType="transform_job.completed",
            Status=DeliveryStatus.PENDING,
            NextAttemptAt=now,
            CreatedAt=now,
            Body=body,
        )
    )
    assert created
    return delivery_id


def queued(queue: str, wait_s: int = 0) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
    ).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(message["Body"]) for message in messages]


def test_a_2xx_succeeds_and_the_receiver_verifies_it(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    secret = new_secret()
    webhook = subscribe(receiver.url, secret)
    delivery_id = pending(webhook, '{"type":"transform_job.completed","data":{"JobId":"j1"}}')
    result = delivery.deliver(webhook.WebhookId, delivery_id)
    assert result.delivery is not None and result.delivery.Status is DeliveryStatus.SUCCEEDED
    assert [a.StatusCode for a in result.delivery.Attempts] == [204]
    got = receiver.received[0]
    assert got["headers"]["webhook-id"] == delivery_id
    assert Webhook(secret).verify(got["body"], got["headers"])["data"] == {"JobId": "j1"}
    stored = webhook_repository.get_webhook(TEAM, webhook.WebhookId)
    assert stored is not None and stored.LastSuccessAt is not None
    assert queued(webhooks["queue"]) == []  # nothing more to do
    # A duplicate message does not send it again.
    delivery.deliver(webhook.WebhookId, delivery_id)
    assert len(receiver.received) == 1


def test_failures_are_retried_with_the_same_id_until_success(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    receiver.plan += [(500, {}), (503, {"Retry-After": "1"})]
    webhook = subscribe(receiver.url, new_secret())
    delivery_id = pending(webhook)
    for expected in (DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED):
        result = delivery.deliver(webhook.WebhookId, delivery_id)
        assert result.delivery is not None and result.delivery.Status is expected
        if expected is DeliveryStatus.PENDING:
            # The short wait rides on the queue's delay (about a second here).
            message = queued(webhooks["queue"], wait_s=3)
            made = len(result.delivery.Attempts)
            assert message == [
                {"WebhookId": webhook.WebhookId, "DeliveryId": delivery_id, "AttemptsMade": made}
            ]
            # the message is due in about a second: make it due now
            webhook_repository.update_delivery(
                webhook.WebhookId,
                delivery_id,
                lambda d: d.model_copy(update={"NextAttemptAt": clock.now()}),
            )
    assert result.delivery is not None
    assert [a.StatusCode for a in result.delivery.Attempts] == [500, 503, 204]
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {delivery_id}


def test_the_schedule_ends_in_failed_and_the_record_is_kept(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    receiver.plan += [(500, {})] * 3
    webhook = subscribe(receiver.url, new_secret())
    delivery_id = pending(webhook)
    for _ in range(3):  # the first attempt and the schedule's two retries
        webhook_repository.update_delivery(
            webhook.WebhookId,
            delivery_id,
            lambda d: d.model_copy(update={"NextAttemptAt": clock.now()}),
        )
        result = delivery.deliver(webhook.WebhookId, delivery_id)
    assert result.delivery is not None
    assert result.delivery.Status is DeliveryStatus.FAILED
    assert len(result.delivery.Attempts) == 3
    assert result.delivery.NextAttemptAt is None
    stored = webhook_repository.get_delivery(webhook.WebhookId, delivery_id)
    assert stored is not None and stored.Status is DeliveryStatus.FAILED


def test_410_disables_the_subscription(webhooks: dict[str, str], receiver: Receiver) -> None:
    receiver.plan.append((410, {}))
    webhook = subscribe(receiver.url, new_secret())
    first, second = pending(webhook), pending(webhook, '{"n":2}')
    assert delivery.deliver(webhook.WebhookId, first).delivery.Status is DeliveryStatus.FAILED  # type: ignore[union-attr]
    stored = webhook_repository.get_webhook(TEAM, webhook.WebhookId)
    assert stored is not None and not stored.Enabled and "410" in (stored.DisabledReason or "")
    later = delivery.deliver(webhook.WebhookId, second).delivery
    assert later is not None and later.Status is DeliveryStatus.FAILED
    assert "disabled" in (later.Attempts[-1].Error or "")
    assert len(receiver.received) == 1  # nothing is sent to a disabled subscription


def test_no_success_for_days_disables_the_subscription(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    receiver.plan.append((500, {}))
    failing_since = clock.now() - timedelta(days=6)
    webhook = subscribe(receiver.url, new_secret(), FailingSince=failing_since)
    delivery.deliver(webhook.WebhookId, pending(webhook))
    stored = webhook_repository.get_webhook(TEAM, webhook.WebhookId)
    assert stored is not None and not stored.Enabled
    assert "No successful delivery since" in (stored.DisabledReason or "")


def test_during_a_rotation_both_secrets_sign(webhooks: dict[str, str], receiver: Receiver) -> None:
    old, new = new_secret(), new_secret()
    webhook = subscribe(receiver.url, new)
    context = {"TeamId": TEAM, "WebhookId": webhook.WebhookId}
    webhook_repository.update_webhook(
        TEAM,
        webhook.WebhookId,
        lambda w: w.model_copy(
            update={
                "PreviousSecretCiphertext": kms_gateway.encrypt(old, context),
                "PreviousSecretExpiresAt": clock.now() + timedelta(hours=24),
            }
        ),
    )
    delivery.deliver(webhook.WebhookId, pending(webhook))
    got = receiver.received[0]
    assert len(got["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(got["body"], got["headers"])


def test_a_secret_does_not_decrypt_for_another_subscription(webhooks: dict[str, str]) -> None:
    secret = new_secret()
    ciphertext = kms_gateway.encrypt(secret, {"TeamId": TEAM, "WebhookId": "a"})
    assert kms_gateway.decrypt(ciphertext, {"TeamId": TEAM, "WebhookId": "a"}) == secret
    with pytest.raises(Exception, match="InvalidCiphertext"):
        kms_gateway.decrypt(ciphertext, {"TeamId": "team-b", "WebhookId": "a"})


def test_long_waits_are_carried_by_the_sweeper(
    webhooks: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "7200")
    receiver.plan.append((500, {}))
    webhook = subscribe(receiver.url, new_secret())
    delivery_id = pending(webhook)
    result = delivery.deliver(webhook.WebhookId, delivery_id)
    assert result.delivery is not None and result.delivery.NextAttemptAt is not None
    assert queued(webhooks["queue"]) == []  # two hours is too long for the queue's delay
    assert delivery.due_for_retry(clock.now()) == 0
    assert delivery.due_for_retry(clock.now() + timedelta(hours=3)) == 1
    assert queued(webhooks["queue"]) == [
        {"WebhookId": webhook.WebhookId, "DeliveryId": delivery_id, "AttemptsMade": 1}
    ]


def test_a_copy_of_a_message_whose_attempt_was_made_makes_no_other(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    """The sweeper's copy of a late message can land just before the next attempt is due, when
    judged by the times alone it would pass for that attempt: it names the attempt it was sent
    for, which has been made."""
    receiver.plan += [(500, {}), (500, {})]
    webhook = subscribe(receiver.url, new_secret())
    delivery_id = pending(webhook)
    first = delivery.deliver(webhook.WebhookId, delivery_id, attempts_made=0)
    assert first.outcome is not None and first.outcome.status_code == 500
    assert first.delivery is not None and first.delivery.NextAttemptAt is not None
    # Due within the tolerance for a message that arrives a little early.
    assert first.delivery.NextAttemptAt <= clock.now() + delivery.EARLY_TOLERANCE
    late_copy = delivery.deliver(webhook.WebhookId, delivery_id, attempts_made=0)
    assert late_copy.outcome is None
    assert len(receiver.received) == 1
    carried = delivery.deliver(webhook.WebhookId, delivery_id, attempts_made=1)
    assert carried.outcome is not None and len(receiver.received) == 2


def in_flight(queue: str) -> int:
    """Messages on the queue, delayed ones included (none is taken off it)."""
    counts = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return int(counts["ApproximateNumberOfMessages"]) + int(
        counts["ApproximateNumberOfMessagesDelayed"]
    )


@pytest.mark.parametrize(("max_queue_delay", "carried_by_the_queue"), [("", True), ("2", False)])
def test_a_wait_rides_on_the_queue_only_up_to_the_longest_delay_set(
    webhooks: dict[str, str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    max_queue_delay: str,
    carried_by_the_queue: bool,
) -> None:
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "5")
    monkeypatch.setenv("WEBHOOK_MAX_QUEUE_DELAY_SECONDS", max_queue_delay)
    receiver.plan.append((500, {}))
    webhook = subscribe(receiver.url, new_secret())
    delivery_id = pending(webhook)
    result = delivery.deliver(webhook.WebhookId, delivery_id)
    assert result.delivery is not None and result.delivery.Status is DeliveryStatus.PENDING
    # 5 s: within SQS's 900 s by default, beyond a limit of 2 s (then the sweeper's).
    assert in_flight(webhooks["queue"]) == (1 if carried_by_the_queue else 0)
    due = result.delivery.NextAttemptAt
    assert due is not None
    assert delivery.due_for_retry(due + timedelta(seconds=61)) == 1


def test_the_sweeper_leaves_a_due_delivery_to_its_message_for_the_grace_set(
    webhooks: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook = subscribe("https://hooks.example.com/in", new_secret())
    pending(webhook)
    now = clock.now()
    assert delivery.due_for_retry(now + timedelta(seconds=59)) == 0  # 60 s by default
    monkeypatch.setenv("WEBHOOK_SWEEP_GRACE_SECONDS", "3")
    assert delivery.due_for_retry(now + timedelta(seconds=2)) == 0
    assert delivery.due_for_retry(now + timedelta(seconds=4)) == 1


def history_items(job_id: str) -> list[dict[str, Any]]:
    """The job's history items as the stream's NewImage carries them (plain values)."""
    from transform_jobs.adapters.dynamodb.table import from_item, plain

    reply = boto3.client("dynamodb").query(
        TableName=get_settings().table_name,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
        ExpressionAttributeValues={":pk": {"S": f"JOB#{job_id}"}, ":e": {"S": "EVENT#"}},
    )
    return [plain(from_item(item)) for item in reply["Items"]]


def test_fan_out_makes_one_delivery_per_subscription_and_type_and_never_two(
    webhooks: dict[str, str], receiver: Receiver
) -> None:
    from tests.support.jobs import make_job
    from transform_jobs.adapters.dynamodb import job_repository
    from transform_jobs.models.job_status import JobStatus
    from transform_jobs.models.job_update import HistoryEntry, JobUpdate
    from transform_jobs.webhooks.fanout import HistoryItem, fan_out

    wants_completed = subscribe(receiver.url, new_secret())
    wants_all = subscribe(
        receiver.url, new_secret(), EventTypes=[EventType.COMPLETED, EventType.STATUS_CHANGED]
    )
    subscribe(receiver.url, new_secret(), Enabled=False)
    other_team = subscribe(receiver.url, new_secret())
    webhook_repository.delete_webhook(TEAM, other_team.WebhookId)

    job = make_job(JobStatus.IN_PROGRESS, team=TEAM)

    def complete(current: Any) -> JobUpdate:
        current.Status = JobStatus.COMPLETED
        return JobUpdate(
            current, [HistoryEntry(JobStatus.COMPLETED, JobStatus.IN_PROGRESS, "sagemaker")]
        )

    job_repository.update_job(job.JobId, complete)
    completed = next(i for i in history_items(job.JobId) if i["Status"] == "Completed")
    item = HistoryItem.of(completed)
    assert fan_out(item) == 3  # completed for both, status_changed for the second
    assert fan_out(item) == 3  # a retried stream batch: the same three, queued again
    made = {
        webhook.WebhookId: webhook_repository.list_deliveries(
            webhook.WebhookId, limit=10, token=None
        )[0]
        for webhook in (wants_completed, wants_all)
    }
    assert [d.EventType for d in made[wants_completed.WebhookId]] == ["transform_job.completed"]
    assert sorted(d.EventType for d in made[wants_all.WebhookId]) == [
        "transform_job.completed",
        "transform_job.status_changed",
    ]
    body = json.loads(made[wants_completed.WebhookId][0].Body)
    assert body["type"] == "transform_job.completed"
    assert body["data"]["JobId"] == job.JobId and body["data"]["Status"] == "Completed"
    assert body["timestamp"] == completed["Time"]
