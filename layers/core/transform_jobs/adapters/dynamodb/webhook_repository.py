"""DynamoDB: webhook subscriptions and their deliveries, in the jobs table.

Keys:
  subscription PK=TEAM#<team>        SK=WEBHOOK#<webhook id>
  delivery     PK=WEBHOOK#<webhook>  SK=DELIVERY#<delivery id>  (ids are time-ordered)
               DueShard=DUE + DueAt (the DueDeliveries index) only while Pending; TTL ExpiresAt

Writes are conditional on the Version that was read, as for jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from transform_jobs import clock
from transform_jobs.adapters.dynamodb.table import (
    client,
    from_item,
    get,
    model_of,
    name,
    page,
    plain,
    put_new,
    to_item,
    versioned_update,
)
from transform_jobs.models.webhook import DeliveryStatus, StoredDelivery, StoredWebhook

DUE_INDEX = "DueDeliveries"
DUE_SHARD = "DUE"
DELIVERY_RETENTION = timedelta(days=30)


class WebhookConflict(Exception):
    """The item kept changing under us; the caller may try again."""


def _webhook_key(team_id: str, webhook_id: str) -> dict[str, str]:
    return {"PK": f"TEAM#{team_id}", "SK": f"WEBHOOK#{webhook_id}"}


def _delivery_key(webhook_id: str, delivery_id: str) -> dict[str, str]:
    return {"PK": f"WEBHOOK#{webhook_id}", "SK": f"DELIVERY#{delivery_id}"}


def _webhook_item(webhook: StoredWebhook) -> dict[str, Any]:
    values = webhook.model_dump(mode="json", exclude_none=True)
    values.update(_webhook_key(webhook.TeamId, webhook.WebhookId), Kind="Webhook")
    return to_item(values)


def _delivery_item(delivery: StoredDelivery) -> dict[str, Any]:
    values = delivery.model_dump(mode="json", exclude_none=True)
    values.update(_delivery_key(delivery.WebhookId, delivery.DeliveryId), Kind="Delivery")
    if delivery.Status is DeliveryStatus.PENDING and delivery.NextAttemptAt is not None:
        values.update(DueShard=DUE_SHARD, DueAt=clock.to_iso(delivery.NextAttemptAt))
    values["ExpiresAt"] = int((delivery.CreatedAt + DELIVERY_RETENTION).timestamp())
    return to_item(values)


# --- subscriptions ----------------------------------------------------------------------------


def create_webhook(webhook: StoredWebhook) -> None:
    if not put_new(_webhook_item(webhook)):
        raise WebhookConflict(f"webhook {webhook.WebhookId} exists")


def get_webhook(team_id: str, webhook_id: str) -> StoredWebhook | None:
    item = get(_webhook_key(team_id, webhook_id))
    return model_of(StoredWebhook, item) if item else None


def list_webhooks(
    team_id: str, *, limit: int, token: str | None
) -> tuple[list[StoredWebhook], str | None]:
    return page(
        StoredWebhook, f"TEAM#{team_id}", "WEBHOOK#", limit=limit, token=token, newest_first=False
    )


def team_webhooks(team_id: str) -> list[StoredWebhook]:
    """Every subscription of a team (notify fans out to them)."""
    found: list[StoredWebhook] = []
    token = None
    while True:
        page, token = list_webhooks(team_id, limit=100, token=token)
        found.extend(page)
        if token is None:
            return found


def update_webhook(
    team_id: str, webhook_id: str, decide: Callable[[StoredWebhook], StoredWebhook | None]
) -> StoredWebhook | None:
    return versioned_update(
        StoredWebhook, _webhook_key(team_id, webhook_id), _webhook_item, decide, WebhookConflict
    )


def delete_webhook(team_id: str, webhook_id: str) -> bool:
    reply = client().delete_item(
        TableName=name(), Key=to_item(_webhook_key(team_id, webhook_id)), ReturnValues="ALL_OLD"
    )
    return "Attributes" in reply


# --- deliveries -------------------------------------------------------------------------------


def create_delivery(delivery: StoredDelivery) -> bool:
    """Stores a new delivery; False if it exists already (a retried fan-out)."""
    return put_new(_delivery_item(delivery))


def get_delivery(webhook_id: str, delivery_id: str) -> StoredDelivery | None:
    item = get(_delivery_key(webhook_id, delivery_id))
    return model_of(StoredDelivery, item) if item else None


def list_deliveries(
    webhook_id: str, *, limit: int, token: str | None
) -> tuple[list[StoredDelivery], str | None]:
    return page(
        StoredDelivery,
        f"WEBHOOK#{webhook_id}",
        "DELIVERY#",
        limit=limit,
        token=token,
        newest_first=True,
    )


def update_delivery(
    webhook_id: str, delivery_id: str, decide: Callable[[StoredDelivery], StoredDelivery | None]
) -> StoredDelivery | None:
    return versioned_update(
        StoredDelivery,
        _delivery_key(webhook_id, delivery_id),
        _delivery_item,
        decide,
        WebhookConflict,
    )


class DueDelivery(BaseModel):
    WebhookId: str
    DeliveryId: str


def due_deliveries(now: datetime) -> Iterator[DueDelivery]:
    """Pending deliveries whose next attempt is due (oldest first)."""
    kwargs: dict[str, Any] = {
        "TableName": name(),
        "IndexName": DUE_INDEX,
        "KeyConditionExpression": "DueShard = :shard AND DueAt <= :now",
        "ExpressionAttributeValues": to_item({":shard": DUE_SHARD, ":now": clock.to_iso(now)}),
    }
    while True:
        reply = client().query(**kwargs)
        for item in reply["Items"]:
            values = plain(from_item(item))
            yield DueDelivery(WebhookId=values["WebhookId"], DeliveryId=values["DeliveryId"])
        if "LastEvaluatedKey" not in reply:
            return
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
