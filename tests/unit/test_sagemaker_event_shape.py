"""SageMaker's "Transform Job State Change" event as AWS documents it (events/sources/): the
parser reads every documented form, events/ has the registry's shape, and the local SageMaker
service publishes exactly that shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from botocore.stub import Stubber

from local.sagemaker_service.events import EventBridgePublisher
from local.sagemaker_service.service import SageMakerService
from tests.support.sagemaker_event_schema import (
    GUIDE_SHAPE,
    aws_shape_violations,
    guide_shape_violations,
    registry_violations,
)
from transform_jobs.models.job_status import SageMakerStatus
from transform_jobs.models.sagemaker_event import TransformJobStateChange

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2026, 11, 25, 12, 26, 13, tzinfo=UTC)
STARTED = datetime(2026, 11, 25, 12, 29, 13, tzinfo=UTC)
ENDED = datetime(2026, 11, 25, 12, 35, 13, tzinfo=UTC)
STARTED_MILLIS = 1795609753000
TIMES = ("CreationTime", "TransformStartTime", "TransformEndTime")
EVENT_FILES = sorted((ROOT / "events").glob("eventbridge_transform_*.json"))
JOB_NAME = "tj-dev-01jbz3k9x2v5q8r7t6w4y3n2m1"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB_NAME}"
FAILURE = "ClientError: the model answered 500"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def guide_shaped(status: SageMakerStatus) -> dict[str, Any]:
    """An event of the shape the guide documents, with our own values: every member it shows,
    times as ISO text, Tags a map, FailureReason (which its sample carries), for a status
    SageMaker sends."""
    return {
        "version": "0",
        "id": "0d5e7c9a-3b1f-4c2d-8e6f-7a9b1c3d5e7f",
        "detail-type": "SageMaker Transform Job State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": iso(CREATED),
        "region": "us-east-1",
        "resources": [JOB_ARN],
        "detail": {
            "TransformJobName": JOB_NAME,
            "TransformJobArn": JOB_ARN,
            "TransformJobStatus": status.value,
            "FailureReason": FAILURE,
            "ModelName": "churn-xgb",
            "MaxConcurrentTransforms": 2,
            "MaxPayloadInMB": 6,
            "BatchStrategy": "MultiRecord",
            "Environment": {"LOG_LEVEL": "info"},
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": "s3://data/out/",
                "Accept": "text/csv",
                "AssembleWith": "Line",
                "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/transform-jobs-output",
            },
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            "CreationTime": iso(CREATED),
            "TransformStartTime": iso(STARTED),
            "TransformEndTime": iso(ENDED),
            "Tags": {"transform-jobs:team": "team-a"},
        },
    }


# --- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(SageMakerStatus))
def test_our_event_has_the_guides_shape(status: SageMakerStatus) -> None:
    assert guide_shape_violations(guide_shaped(status)) == []


def test_the_guides_shape_is_checked() -> None:
    """The shape check sees what the guide's shape does not allow: numbers for its ISO times, a
    list for its Tags map, a text count, a member missing or one it does not show."""
    event = guide_shaped(SageMakerStatus.COMPLETED)
    detail = event["detail"]
    detail["CreationTime"] = 1795609573000
    detail["Tags"] = [{"Key": "team", "Value": "a"}]
    detail["TransformResources"]["InstanceCount"] = "1"
    del detail["TransformOutput"]["KmsKeyId"]
    detail["DataProcessing"] = {"JoinSource": "Input"}
    event["source"] = "aws.sagemaker.local"
    assert guide_shape_violations(event) == sorted(
        [
            ("source", "'aws.sagemaker.local' is not of the form '=aws.sagemaker'"),
            ("detail", "'DataProcessing' is not in the guide's shape"),
            ("detail/CreationTime", "1795609573000 is not of the form 'date-time'"),
            ("detail/Tags", "[{'Key': 'team', 'Value': 'a'}] is not of the form 'map'"),
            ("detail/TransformOutput", "'KmsKeyId' is missing"),
            ("detail/TransformResources/InstanceCount", "'1' is not of the form 'integer'"),
        ]
    )


@pytest.mark.parametrize("status", list(SageMakerStatus))
def test_the_parser_reads_an_event_of_the_guides_shape(status: SageMakerStatus) -> None:
    event = parse(event=guide_shaped(status), model=TransformJobStateChange)
    detail = event.detail
    assert (detail.TransformJobName, detail.TransformJobStatus) == (JOB_NAME, status)
    assert detail.TransformJobArn == JOB_ARN
    assert detail.FailureReason == FAILURE
    assert [getattr(detail, name) for name in TIMES] == [CREATED, STARTED, ENDED]
    assert event.account == "123456789012" and event.detail_type == (
        "SageMaker Transform Job State Change"
    )


def test_the_parser_reads_an_event_typed_as_the_registry_types_it() -> None:
    event = guide_shaped(SageMakerStatus.COMPLETED)
    detail = event["detail"]
    del detail["FailureReason"]
    for name, moment in zip(TIMES, (CREATED, STARTED, ENDED), strict=True):
        detail[name] = int(moment.timestamp()) * 1000
    detail["Tags"] = [{"Key": "team", "Value": "a"}]
    assert registry_violations(event) == []

    parsed = parse(event=event, model=TransformJobStateChange).detail
    assert parsed.FailureReason is None
    assert [getattr(parsed, name) for name in TIMES] == [CREATED, STARTED, ENDED]


@pytest.mark.parametrize(
    "value",
    [
        STARTED_MILLIS,  # the registry's number
        float(STARTED_MILLIS),  # "1592411992203.0", the guide's Endpoint State Change sample
        str(STARTED_MILLIS),  # "1583831889050", the guide's Training Job State Change sample
        iso(STARTED),  # ISO text, as the guide's Transform Job State Change sample has it
    ],
)
def test_the_parser_reads_every_form_of_time_aws_shows(value: object) -> None:
    event = guide_shaped(SageMakerStatus.IN_PROGRESS)
    event["detail"]["TransformStartTime"] = value
    assert parse(event=event, model=TransformJobStateChange).detail.TransformStartTime == STARTED


def test_absent_and_null_optional_members_read_as_absent() -> None:
    event = guide_shaped(SageMakerStatus.IN_PROGRESS)
    detail = event["detail"]
    del detail["TransformStartTime"], detail["FailureReason"]
    detail["TransformEndTime"] = None  # consumers of real events see nulls for unset members
    parsed = parse(event=event, model=TransformJobStateChange).detail
    assert (parsed.TransformStartTime, parsed.TransformEndTime, parsed.FailureReason) == (
        None,
        None,
        None,
    )


# --- the two AWS sources and events/ ------------------------------------------------------------


def test_the_guides_shape_and_the_registry_disagree_on_times_and_tags_only() -> None:
    event = guide_shaped(SageMakerStatus.COMPLETED)
    detail = event["detail"]
    assert registry_violations(event) == sorted(
        [
            ("detail/Tags", f"{detail['Tags']!r} is not of type 'array'"),
            *((f"detail/{name}", f"{detail[name]!r} is not of type 'number'") for name in TIMES),
        ]
    )


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda path: path.name)
def test_events_files_have_the_registrys_shape_with_the_guides_tags(path: Path) -> None:
    event = json.loads(path.read_text())
    assert aws_shape_violations(event) == []
    assert isinstance(event["detail"]["Tags"], dict)
    assert set(event["detail"]) <= set(GUIDE_SHAPE["detail"])  # nothing AWS does not document
    assert ("FailureReason" in event["detail"]) == (
        event["detail"]["TransformJobStatus"] == "Failed"
    )


# --- what the local SageMaker service publishes -------------------------------------------------

REQUEST: dict[str, Any] = {
    "TransformJobName": "tj-dev-01jbz3k9x2v5q8r7t6w4y3n2m1",
    "ModelName": "churn-xgb",
    "MaxConcurrentTransforms": 2,
    "MaxPayloadInMB": 6,
    "BatchStrategy": "MultiRecord",
    "ModelClientConfig": {"InvocationsTimeoutInSeconds": 60, "InvocationsMaxRetries": 1},
    "Environment": {"LOG_LEVEL": "info"},
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}},
        "ContentType": "text/csv",
    },
    "TransformOutput": {"S3OutputPath": "s3://data/out/", "AssembleWith": "Line"},
    "TransformResources": {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeKmsKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
    },
    "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input"},
    "Tags": [{"Key": "transform-jobs:team", "Value": "team-a"}],
}


def as_eventbridge_delivers(entry: dict[str, Any], number: int) -> dict[str, Any]:
    """The PutEvents entry in the envelope EventBridge wraps it in."""
    return {
        "version": "0",
        "id": f"00000000-0000-0000-0000-{number:012d}",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-11-25T12:26:13Z",
        "region": "us-east-1",
        "resources": entry["Resources"],
        "detail": json.loads(entry["Detail"]),
    }


@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A job's life in the local SageMaker service (the engine's reports played by hand), each
    change sent through the service's EventBridge publisher to a stubbed client that checks
    every PutEvents against botocore's model."""
    events = boto3.client("events", region_name="us-east-1")
    publisher = EventBridgePublisher(bus="default")
    publisher.__dict__["_client"] = events  # the cached client
    entries: list[dict[str, Any]] = []

    def publish(description: dict[str, Any]) -> None:
        entry = publisher.entry(description)
        entries.append(entry)
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(entries))}]},
            {"Entries": [entry]},
        )
        publisher(description)

    with Stubber(events) as stubber:
        service = SageMakerService(tmp_path, publish=publish)
        monkeypatch.setattr(service.runner, "start", lambda request, model: None)
        service.call(
            "CreateModel",
            {"ModelName": "churn-xgb", "PrimaryContainer": {"Image": "any"}},
        )
        service.call("CreateTransformJob", REQUEST)
        name = REQUEST["TransformJobName"]
        started = datetime(2026, 11, 25, 12, 29, 13, 250000, tzinfo=UTC)
        ended = datetime(2026, 11, 25, 12, 35, 13, tzinfo=UTC)
        service._job_changed(
            name, {"TransformJobStatus": "InProgress", "TransformStartTime": started}
        )
        service._job_changed(
            name,
            {
                "TransformJobStatus": "Failed",
                "TransformStartTime": started,
                "TransformEndTime": ended,
                "FailureReason": "ClientError: the model answered 500",
            },
        )
        stubber.assert_no_pending_responses()
    return [as_eventbridge_delivers(entry, number) for number, entry in enumerate(entries)]


def test_the_local_service_publishes_the_registrys_shape_with_the_guides_tags(
    published: list[dict[str, Any]],
) -> None:
    assert [event["detail"]["TransformJobStatus"] for event in published] == [
        "InProgress",
        "Failed",
    ]
    for event in published:
        assert aws_shape_violations(event) == []
        assert event["detail"]["Tags"] == {"transform-jobs:team": "team-a"}
        parse(event=event, model=TransformJobStateChange)


def test_the_local_service_publishes_only_what_aws_documents(
    published: list[dict[str, Any]],
) -> None:
    in_progress, failed = (event["detail"] for event in published)
    assert set(failed) <= set(GUIDE_SHAPE["detail"])
    assert "DataProcessing" not in failed and "ModelClientConfig" not in failed
    assert set(failed["TransformResources"]) == {"InstanceType", "InstanceCount"}
    # The API's documented defaults for what the request left out, as the registry requires.
    assert (failed["TransformInput"]["CompressionType"], failed["TransformInput"]["SplitType"]) == (
        "None",
        "None",
    )
    assert "FailureReason" not in in_progress
    assert failed["FailureReason"] == "ClientError: the model answered 500"
    assert "TransformStartTime" not in in_progress  # published at creation, before the start
    # Epoch milliseconds, whole numbers, as SageMaker's events carry them.
    assert failed["TransformStartTime"] == 1795609753250
    assert failed["TransformEndTime"] == 1795610113000
    assert isinstance(failed["CreationTime"], int)
