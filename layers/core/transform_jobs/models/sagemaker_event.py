"""The EventBridge event SageMaker publishes when a transform job changes status.

The envelope is declared here rather than taken from Powertools' parser (EventBridgeModel):
importing the parser package builds every event model it ships, some fifty, which took longer
than the rest of record_state_change's Init. The fields and names are EventBridge's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from transform_jobs import clock
from transform_jobs.models.job_status import SageMakerStatus


def _timestamp(value: object) -> object:
    """Epoch milliseconds as a number (the schema registry), as text (the guide's other SageMaker
    samples) or ISO text (the guide's transform sample): see events/README.md."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return clock.from_epoch_millis(value)
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return clock.from_epoch_millis(float(value))
    return value


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class TransformJobDetail(BaseModel):
    """The fields of `detail` the service uses; the rest (Tags, a map or a list) pass unread."""

    model_config = ConfigDict(extra="allow")

    TransformJobName: str
    TransformJobStatus: SageMakerStatus
    TransformJobArn: str | None = None
    FailureReason: str | None = None
    CreationTime: Timestamp | None = None
    TransformStartTime: Timestamp | None = None
    TransformEndTime: Timestamp | None = None


class EventBridgeEvent(BaseModel):
    """An EventBridge event as a rule's Lambda target receives it."""

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    replay_name: str | None = Field(None, alias="replay-name")


class TransformJobStateChange(EventBridgeEvent):
    detail: TransformJobDetail
