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
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from transform_jobs import clock
from transform_jobs.models.webhook import DeliveryStatus, StoredDelivery, StoredWebhook
from transform_jobs.table import (
    InvalidPageToken,
    client,
    decode_page_token,
    encode_page_token,
    from_item,
    name,
    plain,
    to_item,
)

DUE_INDEX = "DueDeliveries"
DUE_SHARD = "DUE"
DELIVERY_RETENTION = timedelta(days=30)
_MAX_OPTIMISTIC_RETRIES = 8

Stored = TypeVar("Stored", StoredWebhook, StoredDelivery)


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


def _model(kind: type[Stored], item: dict[str, Any]) -> Stored:
    return kind.model_validate(plain(from_item(item)))


def _put_new(item: dict[str, Any]) -> bool:
    try:
        client().put_item(
            TableName=name(), Item=item, ConditionExpression="attribute_not_exists(PK)"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _get(key: dict[str, str]) -> dict[str, Any] | None:
    reply = client().get_item(TableName=name(), Key=to_item(key), ConsistentRead=True)
    return reply.get("Item")


def _update(
    kind: type[Stored],
    key: dict[str, str],
    to_write: Callable[[Stored], dict[str, Any]],
    decide: Callable[[Stored], Stored | None],
) -> Stored | None:
    """Read, decide, write only if nobody wrote in between (else again, on the fresh item)."""
    for _ in range(_MAX_OPTIMISTIC_RETRIES):
        item = _get(key)
        if item is None:
            return None
        current = _model(kind, item)
        changed = decide(current.model_copy(deep=True))
        if changed is None:
            return None
        changed.Version = current.Version + 1
        try:
            client().put_item(
                TableName=name(),
                Item=to_write(changed),
                ConditionExpression="Version = :version",
                ExpressionAttributeValues=to_item({":version": current.Version}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue
            raise
        return changed
    raise WebhookConflict(f"{key['SK']} kept changing; try again")


def _page(
    kind: type[Stored], pk: str, prefix: str, *, limit: int, token: str | None, newest_first: bool
) -> tuple[list[Stored], str | None]:
    scope = f"{pk}/{prefix}"
    kwargs: dict[str, Any] = {
        "TableName": name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": prefix}),
        "ScanIndexForward": not newest_first,
        "Limit": limit,
        "ConsistentRead": True,
    }
    if token:
        start = decode_page_token(token, scope, ("PK", "SK"))
        if start["PK"] != pk:
            raise InvalidPageToken
        kwargs["ExclusiveStartKey"] = to_item(start)
    reply = client().query(**kwargs)
    items = [_model(kind, item) for item in reply["Items"]]
    last = reply.get("LastEvaluatedKey")
    next_token = (
        encode_page_token({"PK": last["PK"]["S"], "SK": last["SK"]["S"]}, scope) if last else None
    )
    return items, next_token


# --- subscriptions ----------------------------------------------------------------------------


def create_webhook(webhook: StoredWebhook) -> None:
    if not _put_new(_webhook_item(webhook)):
        raise WebhookConflict(f"webhook {webhook.WebhookId} exists")


def get_webhook(team_id: str, webhook_id: str) -> StoredWebhook | None:
    item = _get(_webhook_key(team_id, webhook_id))
    return _model(StoredWebhook, item) if item else None


def list_webhooks(
    team_id: str, *, limit: int, token: str | None
) -> tuple[list[StoredWebhook], str | None]:
    return _page(
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
    return _update(StoredWebhook, _webhook_key(team_id, webhook_id), _webhook_item, decide)


def delete_webhook(team_id: str, webhook_id: str) -> bool:
    reply = client().delete_item(
        TableName=name(), Key=to_item(_webhook_key(team_id, webhook_id)), ReturnValues="ALL_OLD"
    )
    return "Attributes" in reply


# --- deliveries -------------------------------------------------------------------------------


def create_delivery(delivery: StoredDelivery) -> bool:
    """Stores a new delivery; False if it exists already (a retried fan-out)."""
    return _put_new(_delivery_item(delivery))


def get_delivery(webhook_id: str, delivery_id: str) -> StoredDelivery | None:
    item = _get(_delivery_key(webhook_id, delivery_id))
    return _model(StoredDelivery, item) if item else None


def list_deliveries(
    webhook_id: str, *, limit: int, token: str | None
) -> tuple[list[StoredDelivery], str | None]:
    return _page(
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
    return _update(StoredDelivery, _delivery_key(webhook_id, delivery_id), _delivery_item, decide)


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
