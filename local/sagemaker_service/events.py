"""Publishing "SageMaker Transform Job State Change" events to a (local) EventBridge bus, in the
shape AWS publishes them: `detail` mirrors DescribeTransformJob, with Tags as a map and times
as epoch milliseconds (as real events carry them)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import cached_property
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Transform Job State Change"
log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


_TIMES = ("CreationTime", "TransformStartTime", "TransformEndTime")


def event_detail(description: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = _plain(description)
    for name in _TIMES:  # the service keeps epoch seconds; events carry milliseconds
        if isinstance(detail.get(name), int | float):
            detail[name] = int(detail[name] * 1000)
    detail["Tags"] = dict(tags or {})
    return detail


class EventBridgePublisher:
    """Sends one event per status change; a bus that cannot be reached is logged, not fatal
    (the service's reconciler repairs what events lose, as in AWS)."""

    def __init__(self, *, bus: str = "default") -> None:
        self.bus = bus

    @cached_property
    def _client(self) -> Any:  # no EventBridge stubs in the dev requirements
        return boto3.client("events")

    def __call__(self, description: dict[str, Any]) -> None:
        tags = description.pop("Tags", None)
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(event_detail(description, tags)),
            "Resources": [str(description.get("TransformJobArn", ""))],
            "EventBusName": self.bus,
        }
        try:
            reply = self._client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as error:
            log.warning(
                "state change of %s not published: %s", description.get("TransformJobName"), error
            )
            return
        if reply.get("FailedEntryCount"):
            log.warning("state change not published: %s", reply.get("Entries"))
