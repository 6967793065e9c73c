"""Publishing "SageMaker Transform Job State Change" events to a (local) EventBridge bus, in the
shape AWS documents them (events/sources/: the fields of the SageMaker developer guide's sample
and the EventBridge schema registry's schema; events/README.md says where they disagree)."""

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

# The members of `detail` AWS documents, nested members included (None: all of them).
# DescribeTransformJob has more (DataProcessing, ModelClientConfig, DataCaptureConfig,
# ExperimentConfig, TransformResources.VolumeKmsKeyId, ...), but no AWS source shows them in
# the event, so they are left out: no consumer may come to rely on them here and find them
# missing in AWS.
DOCUMENTED: dict[str, tuple[str, ...] | None] = {
    "TransformJobName": None,
    "TransformJobArn": None,
    "TransformJobStatus": None,
    "FailureReason": None,  # only when Failed, as the guide says
    "ModelName": None,
    "MaxConcurrentTransforms": None,
    "MaxPayloadInMB": None,
    "BatchStrategy": None,
    "Environment": None,
    "TransformInput": ("DataSource", "ContentType", "CompressionType", "SplitType"),
    "TransformOutput": ("S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"),
    "TransformResources": ("InstanceType", "InstanceCount"),
    "CreationTime": None,
    "TransformStartTime": None,
    "TransformEndTime": None,
}
# The registry requires these; the API documents "None" as their default when not given.
_INPUT_DEFAULTS = {"CompressionType": "None", "SplitType": "None"}
_TIMES = ("CreationTime", "TransformStartTime", "TransformEndTime")


def _epoch_millis(value: Any) -> Any:
    """The service keeps epoch seconds; the registry types the event's times as numbers, and
    SageMaker's events carry milliseconds."""
    if isinstance(value, datetime):
        value = value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 1000)
    return value


def event_detail(description: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    """`detail` for a job's DescribeTransformJob answer and its tags (a map, `{}` when none)."""
    detail: dict[str, Any] = {}
    for name, members in DOCUMENTED.items():
        if description.get(name) is None:
            continue
        value = description[name]
        if members is not None:
            value = {key: value[key] for key in members if value.get(key) is not None}
        detail[name] = value
    if detail.get("TransformJobStatus") != "Failed":
        detail.pop("FailureReason", None)
    if "TransformInput" in detail:
        detail["TransformInput"] = {**_INPUT_DEFAULTS, **detail["TransformInput"]}
    for name in _TIMES:
        if name in detail:
            detail[name] = _epoch_millis(detail[name])
    detail["Tags"] = dict(tags or {})
    copied: dict[str, Any] = json.loads(json.dumps(detail))  # shares nothing with the record
    return copied


class EventBridgePublisher:
    """Sends one event per status change; a bus that cannot be reached is logged, not fatal
    (the service's reconciler repairs what events lose, as in AWS)."""

    def __init__(self, *, bus: str = "default") -> None:
        self.bus = bus

    @cached_property
    def _client(self) -> Any:  # no EventBridge stubs in the dev requirements
        return boto3.client("events")

    def entry(self, description: dict[str, Any]) -> dict[str, Any]:
        """The PutEvents entry for a change (EventBridge adds the envelope: id, time, account,
        region, version)."""
        tags = description.get("Tags")
        return {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(event_detail(description, tags)),
            "Resources": [str(description.get("TransformJobArn", ""))],
            "EventBusName": self.bus,
        }

    def __call__(self, description: dict[str, Any]) -> None:
        try:
            reply = self._client.put_events(Entries=[self.entry(description)])
        except (BotoCoreError, ClientError) as error:
            log.warning(
                "state change of %s not published: %s", description.get("TransformJobName"), error
            )
            return
        if reply.get("FailedEntryCount"):
            log.warning("state change not published: %s", reply.get("Entries"))
