"""Webhook subscriptions and their deliveries, as stored and as the API shows them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from transform_jobs.clock import UtcTime
from transform_jobs.models.partial import not_null, not_nullable


class EventType(StrEnum):
    """What a subscription may ask for. `webhook.test` is sent only by the test route."""

    STARTED = "transform_job.started"
    COMPLETED = "transform_job.completed"
    FAILED = "transform_job.failed"
    STOPPED = "transform_job.stopped"
    STATUS_CHANGED = "transform_job.status_changed"
    SCHEDULE_FAILED = "schedule.failed"


TEST_EVENT = "webhook.test"
# https only (plain http is for a receiver on loopback, in local mode); url_safety checks the rest.
WEBHOOK_URL = r"^https?://"


class DeliveryStatus(StrEnum):
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


def _unique(types: list[EventType] | None) -> list[EventType] | None:
    if types is not None and len(set(types)) != len(types):
        raise ValueError("lists an event type twice; list each once")
    return types


class WebhookCreate(BaseModel):
    """POST /v1/webhooks."""

    model_config = ConfigDict(extra="forbid")

    Url: str = Field(
        max_length=2048,
        pattern=WEBHOOK_URL,
        description="An https:// URL that answers 2xx quickly.",
    )
    EventTypes: list[EventType] = Field(min_length=1, max_length=len(EventType))
    Description: str | None = Field(default=None, max_length=256)

    _unique_types = field_validator("EventTypes")(_unique)


class WebhookUpdate(BaseModel):
    """PATCH /v1/webhooks/{webhookId}: any of the fields; Enabled true re-enables.

    A field left out keeps its value; only Description may be null (which clears it).
    """

    model_config = ConfigDict(extra="forbid")

    Url: str | None = Field(
        default=None, max_length=2048, pattern=WEBHOOK_URL, json_schema_extra=not_nullable
    )
    EventTypes: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(EventType), json_schema_extra=not_nullable
    )
    Description: str | None = Field(default=None, max_length=256)
    Enabled: StrictBool | None = Field(default=None, json_schema_extra=not_nullable)

    _unique_types = field_validator("EventTypes")(_unique)
    _present = field_validator("Url", "EventTypes", "Enabled", mode="before")(not_null)

    @model_validator(mode="after")
    def _something(self) -> WebhookUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "names no field to change; send Url, EventTypes, Description or Enabled"
            )
        return self


class Webhook(BaseModel):
    """A subscription as the API shows it (never with its secret)."""

    WebhookId: str
    Url: str
    EventTypes: list[EventType]
    Description: str | None = None
    Enabled: bool = True
    DisabledReason: str | None = None
    CreatedAt: UtcTime
    UpdatedAt: UtcTime
    LastSuccessAt: UtcTime | None = None
    SecretRotatedAt: UtcTime | None = None


class StoredWebhook(Webhook):
    """The subscription as stored: the team, the encrypted secrets and the failure streak."""

    TeamId: str
    SecretCiphertext: str
    PreviousSecretCiphertext: str | None = None
    PreviousSecretExpiresAt: UtcTime | None = None
    FailingSince: UtcTime | None = None
    Version: int = 0

    def public(self) -> Webhook:
        return Webhook.model_validate(self.model_dump(include=set(Webhook.model_fields)))


class WebhookWithSecret(Webhook):
    """The answer to a create: the only time the secret is shown."""

    Secret: str = Field(description="whsec_...: store it now; it is never shown again.")


class RotatedSecret(BaseModel):
    WebhookId: str
    Secret: str = Field(description="The new signing secret; shown only now.")
    PreviousSecretExpiresAt: UtcTime = Field(
        description="Until then deliveries carry signatures by both secrets."
    )


class WebhookPage(BaseModel):
    Webhooks: list[Webhook]
    NextToken: str | None = None


class Attempt(BaseModel):
    Time: UtcTime
    StatusCode: int | None = None
    LatencyMs: int
    Error: str | None = None


class Delivery(BaseModel):
    """One event for one subscription, with every attempt to deliver it."""

    DeliveryId: str = Field(description="Also the webhook-id header: the receiver's dedup key.")
    WebhookId: str
    EventType: str
    JobId: str | None = None
    ScheduleId: str | None = Field(default=None, description="For a schedule.failed event.")
    Status: DeliveryStatus
    Attempts: list[Attempt] = Field(default_factory=list)
    NextAttemptAt: UtcTime | None = None
    CreatedAt: UtcTime


class StoredDelivery(Delivery):
    """The delivery as stored: what to send (the exact body) and the team that owns it."""

    TeamId: str
    Body: str
    # Attempts before this index were made before the last redelivery: the schedule restarts.
    ScheduleStart: int = 0
    Version: int = 0

    def public(self) -> Delivery:
        return Delivery.model_validate(self.model_dump(include=set(Delivery.model_fields)))


class DeliveryPage(BaseModel):
    Deliveries: list[Delivery]
    NextToken: str | None = None


class TestResult(BaseModel):
    """POST /v1/webhooks/{webhookId}/test: what the receiver answered, now."""

    Delivered: bool
    StatusCode: int | None = None
    LatencyMs: int
    Error: str | None = None
