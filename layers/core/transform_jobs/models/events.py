"""The EventBridge event SageMaker publishes when a transform job changes status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict

from transform_jobs import clock
from transform_jobs.job_status import SageMakerStatus


def _timestamp(value: object) -> object:
    """AWS's sample events have ISO strings; real ones carry epoch milliseconds (number or text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return clock.from_epoch_millis(value)
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return clock.from_epoch_millis(float(value))
    return value


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class TransformJobDetail(BaseModel):
    """The fields of `detail` the service uses (it mirrors DescribeTransformJob)."""

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
