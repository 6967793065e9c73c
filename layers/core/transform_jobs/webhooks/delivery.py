"""Delivering one webhook event to one subscription: an attempt, its record, and what comes next.

A delivery is Pending until a 2xx (Succeeded) or until the schedule is used up, the receiver
answers 410 or the subscription is disabled or deleted (Failed; kept in the log, redeliverable).
Between attempts the wait rides on the queue's delay when it is short (≤ 15 minutes) and on the
delivery's NextAttemptAt otherwise, which retry_deliveries turns into a message when due.

An attempt is three steps, prepare (reads and secrets), attempt (the POST) and conclude (the
records), so that deliver_webhook can make a batch's POSTs side by side in threads while every
AWS call stays on one thread (boto3 does not create clients safely from several at once).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from transform_jobs import clock
from transform_jobs.adapters import kms_gateway, queue_gateway
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.models.webhook import (
    Attempt,
    DeliveryStatus,
    StoredDelivery,
    StoredWebhook,
)
from transform_jobs.settings import get_settings
from transform_jobs.webhooks import sender
from transform_jobs.webhooks.retry_schedule import next_attempt, parse_schedule
from transform_jobs.webhooks.signing import signed_headers
from transform_jobs.webhooks.url_safety import UnsafeUrl, check_url

log = logging.getLogger(__name__)

# A message that arrives a little before the delivery is due still counts as due.
EARLY_TOLERANCE = timedelta(seconds=2)


def secret_context(webhook: StoredWebhook) -> dict[str, str]:
    """KMS encryption context: a secret decrypts only for its own team and subscription."""
    return {"TeamId": webhook.TeamId, "WebhookId": webhook.WebhookId}


def signing_secrets(webhook: StoredWebhook, now: datetime) -> list[str]:
    """The current secret, and the previous one while a rotation's overlap lasts."""
    context = secret_context(webhook)
    found = [kms_gateway.decrypt(webhook.SecretCiphertext, context)]
    if (
        webhook.PreviousSecretCiphertext
        and webhook.PreviousSecretExpiresAt
        and webhook.PreviousSecretExpiresAt > now
    ):
        found.append(kms_gateway.decrypt(webhook.PreviousSecretCiphertext, context))
    return found


def send_once(webhook: StoredWebhook, webhook_id: str, body: str, now: datetime) -> sender.Outcome:
    """One signed POST, with the URL checked again (DNS may have changed since registration)."""
    return _post(webhook.Url, webhook_id, body, now, signing_secrets(webhook, now))


class NoTimeLeft(Exception):
    """Too little of the invocation is left to give the receiver its whole timeout: the attempt
    is not made (nor recorded), and a later message makes it."""


# After the POST: recording the attempt, updating the subscription, queueing the next attempt.
RECORD_MARGIN_S = 3.0


def _post(
    url: str,
    webhook_id: str,
    body: str,
    now: datetime,
    secrets_in_use: list[str],
    *,
    deadline: float | None = None,
) -> sender.Outcome:
    """The POST itself: no AWS call, so attempts can run side by side in threads. With a
    `deadline` (time.monotonic()), NoTimeLeft unless the receiver's whole timeout and the
    recording fit before it."""
    try:
        target = check_url(url, allow_http_loopback=get_settings().webhook_allow_http_loopback)
    except UnsafeUrl as error:
        return sender.Outcome(None, 0, f"URL refused: {error}")
    if deadline is not None and deadline - time.monotonic() < sender.TIMEOUT_S + RECORD_MARGIN_S:
        raise NoTimeLeft(f"less than {sender.TIMEOUT_S + RECORD_MARGIN_S:.0f} s left")
    headers = signed_headers(
        webhook_id=webhook_id, body=body, sent_at=now, secrets_in_use=secrets_in_use
    )
    return sender.post(target, body, headers, now)


@dataclass(frozen=True)
class Result:
    delivery: StoredDelivery | None
    outcome: sender.Outcome | None = None


@dataclass(frozen=True)
class DueAttempt:
    """An attempt ready to be made: what prepare() read, and the secrets to sign with."""

    delivery: StoredDelivery
    webhook: StoredWebhook
    secrets: list[str]
    now: datetime


def deliver(webhook_id: str, delivery_id: str, attempts_made: int | None = None) -> Result:
    """Makes the attempt that is due (if one is), records it, and schedules what follows."""
    due = prepare(webhook_id, delivery_id, attempts_made)
    if isinstance(due, Result):
        return due
    return conclude(due, attempt(due))


def prepare(
    webhook_id: str, delivery_id: str, attempts_made: int | None = None
) -> DueAttempt | Result:
    """The attempt that is due, or the Result when none is (not due yet, done, or ended here
    because its subscription is gone or disabled). `attempts_made` is the count the message
    was sent after; None (a message from before messages carried it) leaves it to the times."""
    now = clock.now()
    delivery = webhook_repository.get_delivery(webhook_id, delivery_id)
    if delivery is None or delivery.Status is not DeliveryStatus.PENDING:
        return Result(delivery)  # done already: a duplicate message
    if attempts_made is not None and attempts_made != len(delivery.Attempts):
        # The attempt this message was sent for has been made: it is the sweeper's copy of a
        # message that came late, or one queued again. Judged by the times alone, it could
        # pass for the next attempt when it lands just before that one is due.
        return Result(delivery)
    if delivery.NextAttemptAt and delivery.NextAttemptAt > now + EARLY_TOLERANCE:
        return Result(delivery)  # an early duplicate; the real one comes when due
    webhook = webhook_repository.get_webhook(delivery.TeamId, webhook_id)
    if webhook is None or not webhook.Enabled:
        reason = (
            "the subscription was deleted" if webhook is None else "the subscription is disabled"
        )
        return Result(_end(delivery, now, reason))
    return DueAttempt(delivery, webhook, signing_secrets(webhook, now), now)


def attempt(due: DueAttempt, *, deadline: float | None = None) -> sender.Outcome:
    """Makes the attempt (safe in a thread: no AWS call); NoTimeLeft if it cannot finish by
    `deadline`."""
    delivery = due.delivery
    return _post(
        due.webhook.Url, delivery.DeliveryId, delivery.Body, due.now, due.secrets, deadline=deadline
    )


def conclude(due: DueAttempt, outcome: sender.Outcome) -> Result:
    """Records the attempt, updates the subscription, and schedules the next attempt."""
    recorded = _record(due.delivery, outcome, due.now)
    _update_subscription(due.webhook, outcome, due.now)
    if recorded is not None and recorded.Status is DeliveryStatus.PENDING:
        _carry(recorded, due.now)
    return Result(recorded, outcome)


def _record(
    delivery: StoredDelivery, outcome: sender.Outcome, now: datetime
) -> StoredDelivery | None:
    schedule = parse_schedule(get_settings().webhook_retry_schedule)

    def decide(current: StoredDelivery) -> StoredDelivery | None:
        if current.Status is not DeliveryStatus.PENDING or len(current.Attempts) != len(
            delivery.Attempts
        ):
            return None  # another attempt won the race; this one is not recorded twice
        current.Attempts.append(
            Attempt(
                Time=now,
                StatusCode=outcome.status_code,
                LatencyMs=outcome.latency_ms,
                Error=outcome.error,
            )
        )
        if outcome.succeeded:
            current.Status, current.NextAttemptAt = DeliveryStatus.SUCCEEDED, None
        elif outcome.gone:
            current.Status, current.NextAttemptAt = DeliveryStatus.FAILED, None
        else:
            due = next_attempt(
                _made_since_redelivery(current), now, schedule=schedule,
                retry_after_s=outcome.retry_after_s,
            )  # fmt: skip
            current.NextAttemptAt = due
            current.Status = DeliveryStatus.PENDING if due else DeliveryStatus.FAILED
        return current

    return webhook_repository.update_delivery(delivery.WebhookId, delivery.DeliveryId, decide)


def _made_since_redelivery(delivery: StoredDelivery) -> int:
    """Attempts that count against the schedule: those since the last manual redelivery."""
    return len(delivery.Attempts) - delivery.ScheduleStart


def _end(delivery: StoredDelivery, now: datetime, reason: str) -> StoredDelivery | None:
    def decide(current: StoredDelivery) -> StoredDelivery | None:
        if current.Status is not DeliveryStatus.PENDING:
            return None
        current.Attempts.append(Attempt(Time=now, LatencyMs=0, Error=f"not sent: {reason}"))
        current.Status, current.NextAttemptAt = DeliveryStatus.FAILED, None
        return current

    return webhook_repository.update_delivery(delivery.WebhookId, delivery.DeliveryId, decide)


def _update_subscription(webhook: StoredWebhook, outcome: sender.Outcome, now: datetime) -> None:
    """A success ends a failure streak; 410, or no success for days, disables the subscription."""
    disable_after = timedelta(seconds=get_settings().webhook_disable_after_seconds)

    def decide(current: StoredWebhook) -> StoredWebhook | None:
        if outcome.succeeded:
            if current.LastSuccessAt == now and current.FailingSince is None:
                return None
            current.LastSuccessAt, current.FailingSince = now, None
            return current
        if not current.Enabled:
            return None
        if outcome.gone:
            current.Enabled = False
            current.DisabledReason = "The receiver answered 410 Gone."
        elif current.FailingSince is None:
            current.FailingSince = now
        elif now - current.FailingSince >= disable_after:
            current.Enabled = False
            current.DisabledReason = (
                f"No successful delivery since {clock.to_iso(current.FailingSince)}."
            )
        else:
            return None
        current.UpdatedAt = now
        return current

    webhook_repository.update_webhook(webhook.TeamId, webhook.WebhookId, decide)


def _carry(delivery: StoredDelivery, now: datetime) -> None:
    """A short wait goes on the queue's delay; a long one waits for retry_deliveries."""
    if delivery.NextAttemptAt is None:
        return
    wait = (delivery.NextAttemptAt - now).total_seconds()
    if wait <= get_settings().webhook_max_queue_delay_seconds:
        queue_gateway.send_delivery(
            delivery.WebhookId,
            delivery.DeliveryId,
            attempts_made=len(delivery.Attempts),
            delay_seconds=max(0, round(wait)),
        )


def due_for_retry(now: datetime) -> int:
    """retry_deliveries: queues every Pending delivery that is due; returns how many. A due
    delivery is left to its queue message for a grace first (short waits ride on one): this
    repairs lost messages and carries the long waits."""
    grace = timedelta(seconds=get_settings().webhook_sweep_grace_seconds)
    queued = 0
    for due in webhook_repository.due_deliveries(now - grace):
        # The index holds only the keys; the message must name the attempt it is sent for.
        delivery = webhook_repository.get_delivery(due.WebhookId, due.DeliveryId)
        if delivery is None or delivery.Status is not DeliveryStatus.PENDING:
            continue  # made or ended since the index was read
        queue_gateway.send_delivery(
            due.WebhookId, due.DeliveryId, attempts_made=len(delivery.Attempts)
        )
        queued += 1
    return queued
