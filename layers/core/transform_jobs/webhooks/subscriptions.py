"""What the webhooks API does: subscriptions (secret shown once), rotation, a test event now,
the delivery log and redelivery. Team-scoped: another team's id is the same 404 as none."""

from __future__ import annotations

import json
from datetime import timedelta

from transform_jobs import clock, identifiers
from transform_jobs.adapters import kms_gateway, queue_gateway
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.adapters.dynamodb.paging import paged
from transform_jobs.errors import FieldError, Invalid, NotFound
from transform_jobs.models.webhook import (
    TEST_EVENT,
    DeliveryPage,
    DeliveryStatus,
    RotatedSecret,
    StoredDelivery,
    StoredWebhook,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookPage,
    WebhookUpdate,
    WebhookWithSecret,
)
from transform_jobs.models.webhook import Delivery as DeliveryView
from transform_jobs.settings import get_settings
from transform_jobs.webhooks.delivery import secret_context, send_once
from transform_jobs.webhooks.signing import new_secret
from transform_jobs.webhooks.url_safety import UnsafeUrl, check_url


def _checked_url(url: str) -> str:
    try:
        check_url(url, allow_http_loopback=get_settings().webhook_allow_http_loopback)
    except UnsafeUrl as error:
        raise Invalid(
            "The webhook URL cannot receive deliveries.",
            [FieldError("Url", f"{error}")],
        ) from None
    return url


def _own(team_id: str, webhook_id: str) -> StoredWebhook:
    found = webhook_repository.get_webhook(team_id, webhook_id)
    if found is None:
        raise NotFound(f"No webhook {webhook_id!r} for this team.")
    return found


def create(team_id: str, request: WebhookCreate) -> WebhookWithSecret:
    url = _checked_url(request.Url)
    now = clock.now()
    webhook_id = identifiers.new_job_id()
    secret = new_secret()
    stored = StoredWebhook(
        WebhookId=webhook_id,
        TeamId=team_id,
        Url=url,
        EventTypes=request.EventTypes,
        Description=request.Description,
        CreatedAt=now,
        UpdatedAt=now,
        SecretCiphertext=kms_gateway.encrypt(secret, {"TeamId": team_id, "WebhookId": webhook_id}),
    )
    webhook_repository.create_webhook(stored)
    return WebhookWithSecret(**stored.public().model_dump(), Secret=secret)


def get(team_id: str, webhook_id: str) -> Webhook:
    return _own(team_id, webhook_id).public()


def page(team_id: str, *, limit: int, token: str | None) -> WebhookPage:
    found, next_token = paged(
        lambda: webhook_repository.list_webhooks(team_id, limit=limit, token=token)
    )
    return WebhookPage(Webhooks=[webhook.public() for webhook in found], NextToken=next_token)


def update(team_id: str, webhook_id: str, change: WebhookUpdate) -> Webhook:
    _own(team_id, webhook_id)
    url = _checked_url(change.Url) if change.Url is not None else None

    def decide(current: StoredWebhook) -> StoredWebhook:
        if url is not None:
            current.Url = url
        if change.EventTypes is not None:
            current.EventTypes = change.EventTypes
        if "Description" in change.model_fields_set:
            current.Description = change.Description
        if change.Enabled is not None:
            current.Enabled = change.Enabled
            if change.Enabled:  # a fresh start: no old failure streak disables it again
                current.DisabledReason, current.FailingSince = None, None
            else:
                current.DisabledReason = "Disabled by the team."
        current.UpdatedAt = clock.now()
        return current

    updated = webhook_repository.update_webhook(team_id, webhook_id, decide)
    if updated is None:
        raise NotFound(f"No webhook {webhook_id!r} for this team.")
    return updated.public()


def delete(team_id: str, webhook_id: str) -> None:
    if not webhook_repository.delete_webhook(team_id, webhook_id):
        raise NotFound(f"No webhook {webhook_id!r} for this team.")


def rotate(team_id: str, webhook_id: str) -> RotatedSecret:
    """A new secret; the current one keeps signing too for the overlap (24 hours)."""
    _own(team_id, webhook_id)
    secret = new_secret()
    now = clock.now()
    expires = now + timedelta(seconds=get_settings().webhook_secret_overlap_seconds)

    def decide(current: StoredWebhook) -> StoredWebhook:
        current.PreviousSecretCiphertext = current.SecretCiphertext
        current.PreviousSecretExpiresAt = expires
        current.SecretCiphertext = kms_gateway.encrypt(secret, secret_context(current))
        current.SecretRotatedAt = current.UpdatedAt = now
        return current

    if webhook_repository.update_webhook(team_id, webhook_id, decide) is None:
        raise NotFound(f"No webhook {webhook_id!r} for this team.")
    return RotatedSecret(WebhookId=webhook_id, Secret=secret, PreviousSecretExpiresAt=expires)


def send_test(team_id: str, webhook_id: str) -> TestResult:
    """A `webhook.test` event sent now, signed like any delivery; the receiver's answer."""
    webhook = _own(team_id, webhook_id)
    now = clock.now()
    test_id = "msg_" + identifiers.new_job_id()
    body = json.dumps(
        {
            "type": TEST_EVENT,
            "timestamp": clock.to_iso(now),
            "data": {"WebhookId": webhook_id, "Message": "A test delivery from transform-jobs."},
        },
        separators=(",", ":"),
    )
    outcome = send_once(webhook, test_id, body, now)
    return TestResult(
        Delivered=outcome.succeeded,
        StatusCode=outcome.status_code,
        LatencyMs=outcome.latency_ms,
        Error=outcome.error,
    )


def deliveries(team_id: str, webhook_id: str, *, limit: int, token: str | None) -> DeliveryPage:
    _own(team_id, webhook_id)
    found, next_token = paged(
        lambda: webhook_repository.list_deliveries(webhook_id, limit=limit, token=token)
    )
    return DeliveryPage(Deliveries=[d.public() for d in found], NextToken=next_token)


def redeliver(team_id: str, webhook_id: str, delivery_id: str) -> DeliveryView:
    """Sends a delivery again, whatever its state, with a fresh schedule (same webhook-id)."""
    _own(team_id, webhook_id)
    now = clock.now()

    def decide(current: StoredDelivery) -> StoredDelivery:
        current.Status = DeliveryStatus.PENDING
        current.NextAttemptAt = now
        current.ScheduleStart = len(current.Attempts)
        return current

    updated = webhook_repository.update_delivery(webhook_id, delivery_id, decide)
    if updated is None or updated.TeamId != team_id:
        raise NotFound(f"No delivery {delivery_id!r} for this webhook.")
    queue_gateway.send_delivery(webhook_id, delivery_id, attempts_made=len(updated.Attempts))
    return updated.public()
