"""notify: one job history item (the outbox) becomes one delivery per subscription and event type.

The delivery id (the webhook-id receivers dedupe on) is derived from the subscription, the
history item and the event type, so a stream batch that is retried finds its deliveries already
made instead of making new, different ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from transform_jobs import clock, identifiers
from transform_jobs.adapters import queue_gateway
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.webhook import DeliveryStatus, EventType, StoredDelivery

_FINAL_TYPES = {
    JobStatus.IN_PROGRESS: EventType.STARTED,
    JobStatus.COMPLETED: EventType.COMPLETED,
    JobStatus.FAILED: EventType.FAILED,
    JobStatus.STOPPED: EventType.STOPPED,
}


@dataclass(frozen=True)
class HistoryItem:
    """What notify needs of a history item from the stream's NewImage."""

    job_id: str
    team_id: str
    event_id: str
    time: datetime
    status: JobStatus
    previous: JobStatus | None
    snapshot: dict[str, Any]

    @classmethod
    def of(cls, values: dict[str, Any]) -> HistoryItem:
        previous = values.get("PreviousStatus")
        return cls(
            job_id=str(values["JobId"]),
            team_id=str(values["TeamId"]),
            event_id=str(values["EventId"]),
            time=clock.parse(str(values["Time"])),
            status=JobStatus(values["Status"]),
            previous=JobStatus(previous) if previous else None,
            snapshot=json.loads(values["Snapshot"]),
        )


def event_types(item: HistoryItem) -> list[EventType]:
    """status_changed for every change of status, plus started/completed/failed/stopped."""
    if item.status == item.previous:
        return []  # a note, not a change
    types = [EventType.STATUS_CHANGED]
    if item.status in _FINAL_TYPES:
        types.append(_FINAL_TYPES[item.status])
    return types


def fan_out(item: HistoryItem) -> int:
    """Makes (or finds) the deliveries for one history item and queues them; returns how many."""
    return _deliver(
        item.team_id,
        event_types(item),
        item.event_id,
        item.time,
        item.snapshot,
        job_id=item.job_id,
    )


def fan_out_schedule_failure(values: dict[str, Any]) -> int:
    """schedule.failed for a failure item (schedules.repository.record_failure) from the stream."""
    data = {
        "ScheduleId": values["ScheduleId"],
        "Name": values.get("Name"),
        "ScheduledTime": values["ScheduledTime"],
        "Reason": values["Reason"],
        "Errors": values.get("Errors") or [],
    }
    return _deliver(
        str(values["TeamId"]),
        [EventType.SCHEDULE_FAILED],
        f"{values['PK']}#{values['SK']}",
        clock.parse(str(values["Time"])),
        data,
        schedule_id=str(values["ScheduleId"]),
    )


def _deliver(
    team_id: str,
    types: list[EventType],
    event_id: str,
    time: datetime,
    data: dict[str, Any],
    *,
    job_id: str | None = None,
    schedule_id: str | None = None,
) -> int:
    if not types:
        return 0
    millis = int(time.timestamp() * 1000)
    queued = 0
    for webhook in webhook_repository.team_webhooks(team_id):
        if not webhook.Enabled:
            continue
        for event_type in (t for t in types if t in webhook.EventTypes):
            delivery_id = "msg_" + identifiers.derived_id(
                millis, webhook.WebhookId, event_id, event_type.value
            )
            body = json.dumps(
                {"type": event_type.value, "timestamp": clock.to_iso(time), "data": data},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            now = clock.now()
            webhook_repository.create_delivery(
                StoredDelivery(
                    DeliveryId=delivery_id,
                    WebhookId=webhook.WebhookId,
                    TeamId=team_id,
                    EventType=event_type.value,
                    JobId=job_id,
                    ScheduleId=schedule_id,
                    Status=DeliveryStatus.PENDING,
                    NextAttemptAt=now,
                    CreatedAt=now,
                    Body=body,
                )
            )
            # Queued again on a retried batch too: deliver() skips what is no longer due.
            queue_gateway.send_delivery(webhook.WebhookId, delivery_id, attempts_made=0)
            queued += 1
    return queued
