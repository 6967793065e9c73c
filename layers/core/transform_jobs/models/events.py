"""The EventBridge event SageMaker publishes when a transform job changes status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict

from transform_jobs import clock
from transform_jobs.job_status import SageMakerStatus


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


class TransformJobStateChange(EventBridgeModel):
    detail: TransformJobDetail
