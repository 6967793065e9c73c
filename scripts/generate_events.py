"""Write events/*.json from AWS's own event shapes, changing only the fields of each case.

API Gateway, SQS, DynamoDB stream and schedule events start from `sam local generate-event`
(the SAM CLI's own generator, called in process: the CLI command would also check PyPI for a
newer version). SageMaker's state-change events start from our own event laid out as the shape
the SageMaker developer guide documents (events/sources/), with the value types the EventBridge
schema registry gives. Each file's changes are listed below, so a reader sees exactly where it
departs from AWS's shape.
tests/unit/test_events.py regenerates every file and fails when one differs.

Run: .venv/bin/python scripts/generate_events.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"
SAGEMAKER_SHAPE = EVENTS / "sources" / "sagemaker-transform-job-state-change.user-guide-shape.json"

ACCOUNT = "123456789012"
REGION = "us-east-1"
STAGE = "dev"
JOB_ID = "01jbz3k9x2v5q8r7t6w4y3n2m1"
JOB_NAME = f"tj-{STAGE}-{JOB_ID}"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{JOB_NAME}"
API_KEY = "tjk_example-key-not-real"
TEAM = "team-a"


class Delete:
    """A change that removes the member: AWS would not send it in this case."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = Delete()


@dataclass(frozen=True)
class Merge:
    """A change that adds these members to the object (headers: the case's own, beside AWS's)."""

    members: dict[str, Any]


Change = tuple[str, Any]


@dataclass(frozen=True)
class Recipe:
    """One events/ file: where its shape comes from, and the changes that make it our case."""

    file: str
    source: str  # the command or document the base event comes from
    base: Callable[[], dict[str, Any]]
    changes: list[Change] = field(default_factory=list)

    def build(self) -> dict[str, Any]:
        event = self.base()
        for path, value in self.changes:
            apply(event, path, value)
        return event


def apply(event: dict[str, Any], path: str, value: Any) -> None:
    """Set (or delete, or merge into) the member at a dotted path; list items by index."""
    *parents, last = path.split(".")
    target: Any = event
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    elif isinstance(value, Merge):
        target[key] = {**target[key], **value.members}
    else:
        target[key] = value


# --- Bases --------------------------------------------------------------------------------------


def sam_command(service: str, event_type: str, options: dict[str, str]) -> str:
    flags = " ".join(f"--{name} '{value}'" for name, value in options.items())
    return f"sam local generate-event {service} {event_type} {flags}".strip()


def sam_event(service: str, event_type: str, **options: str) -> Callable[[], dict[str, Any]]:
    """What `sam local generate-event <service> <event_type> --<option> <value>...` prints.

    The CLI gives every option its default and passes them to the generator with `-` turned
    into `_` (click's parameter names); this does the same.
    """

    def generate() -> dict[str, Any]:
        from samcli.lib.generated_sample_events.events import (  # type: ignore[import-untyped]
            Events,
        )

        events = Events()
        tags = events.event_mapping[service][event_type]["tags"]
        values = {name.replace("-", "_"): spec["default"] for name, spec in tags.items()}
        values.update({name.replace("-", "_"): value for name, value in options.items()})
        event: dict[str, Any] = json.loads(events.generate_event(service, event_type, values))
        return event

    return generate


# --- API Gateway (REST, Lambda proxy) -----------------------------------------------------------

JSON_CLIENT = {"Accept": "application/json", "Authorization": f"Bearer {API_KEY}"}
# A REQUEST authorizer's context reaches the integration beside principalId and its latency.
AUTHORIZER = {"principalId": TEAM, "integrationLatency": 12, "teamId": TEAM}


def api_options(
    method: str, resource: str, path: str, query: dict[str, str] | None
) -> dict[str, str]:
    return {
        "stage": STAGE,
        "method": method,
        "resource": resource,
        "path": path.lstrip("/"),  # SAM's template puts the leading slash itself
        "querystringparameters": json.dumps(query),
        "account-id": ACCOUNT,
        "dns-suffix": f"{REGION}.amazonaws.com",
    }


def api_recipe(
    file: str,
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    authorized: bool = True,
) -> Recipe:
    options = api_options(method, resource, path, query)
    sent_headers = {**(JSON_CLIENT if authorized else {"Accept": "application/json"})}
    if body is not None:
        sent_headers["Content-Type"] = "application/json"
    sent_headers.update(headers or {})
    changes: list[Change] = [
        ("headers", Merge(sent_headers)),
        ("multiValueHeaders", Merge({name: [value] for name, value in sent_headers.items()})),
        ("pathParameters", path_parameters),
        ("multiValueQueryStringParameters", {k: [v] for k, v in query.items()} if query else None),
        ("stageVariables", None),  # the stage declares none
        # Text bodies arrive as they were sent: the API has no binary media types.
        ("body", json.dumps(body) if body is not None else None),
        ("isBase64Encoded", False),
    ]
    if authorized:
        changes.append(("requestContext.authorizer", AUTHORIZER))
    return Recipe(
        file=file,
        source=sam_command("apigateway", "aws-proxy", options),
        base=sam_event("apigateway", "aws-proxy", **options),
        changes=changes,
    )


SUBMIT_BODY: dict[str, Any] = {
    "TransformJobName": "churn-scoring-2026-11",
    "ModelName": "churn-xgb",
    "MaxConcurrentTransforms": 4,
    "MaxPayloadInMB": 6,
    "BatchStrategy": "MultiRecord",
    "Environment": {"LOG_LEVEL": "info"},
    "TransformInput": {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": "s3://transform-jobs-data/team-a/churn/input/",
            }
        },
        "ContentType": "text/csv",
        "CompressionType": "None",
        "SplitType": "Line",
    },
    "TransformOutput": {
        "S3OutputPath": "s3://transform-jobs-data/team-a/churn/output/",
        "Accept": "text/csv",
        "AssembleWith": "Line",
    },
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    "Tags": [{"Key": "cost-center", "Value": "ml-platform"}],
}
WEBHOOK_BODY = {
    "Url": "https://hooks.example.com/transform-jobs",
    "EventTypes": ["transform_job.completed", "transform_job.failed"],
    "Description": "Scoring results to the billing service",
}
JOB = {"jobId": JOB_ID}

API_RECIPES = [
    api_recipe("api_health.json", "GET", "/v1/health", "/v1/health", authorized=False),
    api_recipe(
        "api_submit_job.json",
        "POST",
        "/v1/jobs",
        "/v1/jobs",
        body=SUBMIT_BODY,
        headers={"Idempotency-Key": "churn-2026-11-25"},
    ),
    api_recipe(
        "api_list_jobs.json",
        "GET",
        "/v1/jobs",
        "/v1/jobs",
        query={"Status": "InProgress", "MaxResults": "20"},
    ),
    api_recipe(
        "api_get_job.json", "GET", "/v1/jobs/{jobId}", f"/v1/jobs/{JOB_ID}", path_parameters=JOB
    ),
    api_recipe(
        "api_cancel_job.json",
        "POST",
        "/v1/jobs/{jobId}/cancel",
        f"/v1/jobs/{JOB_ID}/cancel",
        path_parameters=JOB,
    ),
    api_recipe(
        "api_job_events.json",
        "GET",
        "/v1/jobs/{jobId}/events",
        f"/v1/jobs/{JOB_ID}/events",
        path_parameters=JOB,
    ),
    api_recipe(
        "api_job_outputs.json",
        "GET",
        "/v1/jobs/{jobId}/outputs",
        f"/v1/jobs/{JOB_ID}/outputs",
        path_parameters=JOB,
    ),
    api_recipe(
        "api_create_webhook.json", "POST", "/v1/webhooks", "/v1/webhooks", body=WEBHOOK_BODY
    ),
]

# The REQUEST authorizer: `--restApiId` cannot be set from the CLI (click hands the generator
# `restapiid`), so the API id stays SAM's default.
AUTHORIZER_OPTIONS = {
    "stage": STAGE,
    "method": "POST",
    "resource": "v1/jobs",
    "account-id": ACCOUNT,
    "region": REGION,
}
AUTHORIZER_RECIPE = Recipe(
    file="authorizer_request.json",
    source=sam_command("apigateway", "request-authorizer", AUTHORIZER_OPTIONS),
    base=sam_event("apigateway", "request-authorizer", **AUTHORIZER_OPTIONS),
    changes=[("headers", Merge({"Authorization": f"Bearer {API_KEY}"}))],
)


# --- SQS ----------------------------------------------------------------------------------------


def sqs_recipe(file: str, queue: str, body: dict[str, Any]) -> Recipe:
    # `--body` with quotes breaks SAM's template (it does not escape them): the body is set here,
    # with the MD5 SQS computes over it.
    options = {
        "queue-name": f"transform-jobs-{STAGE}-{queue}",
        "region": REGION,
        "account-id": ACCOUNT,
    }
    text = json.dumps(body)
    return Recipe(
        file=file,
        source=sam_command("sqs", "receive-message", options),
        base=sam_event("sqs", "receive-message", **options),
        changes=[
            ("Records.0.body", text),
            ("Records.0.md5OfBody", hashlib.md5(text.encode()).hexdigest()),  # noqa: S324 (SQS's)
        ],
    )


SQS_RECIPES = [
    sqs_recipe("sqs_launch_job.json", "LaunchQueue", {"JobId": JOB_ID}),
    sqs_recipe("sqs_prepare_job.json", "PrepareQueue", {"JobId": JOB_ID, "Step": 0}),
    sqs_recipe("sqs_finalize_job.json", "FinalizeQueue", {"JobId": JOB_ID, "Step": 0}),
    sqs_recipe(
        "sqs_deliver_webhook.json",
        "WebhookQueue",
        {"WebhookId": "01jbz4a0c1d2e3f4g5h6j7k8m9", "DeliveryId": "msg_01jbz4b2c3d4e5f6g7h8j9k0m1"},
    ),
]


# --- DynamoDB stream: one history item's INSERT, as notify's filter lets it through ------------

HISTORY_TIME = "2026-11-25T12:41:02.456Z"
HISTORY_EVENT_ID = f"{HISTORY_TIME}#5f1a2b3c"
HISTORY_KEYS = {"PK": {"S": f"JOB#{JOB_ID}"}, "SK": {"S": f"EVENT#{HISTORY_EVENT_ID}"}}
HISTORY_SNAPSHOT = {
    "JobId": JOB_ID,
    "Status": "Completed",
    "StatusReason": None,
    "CreatedAt": "2026-11-25T12:26:13.123Z",
    "UpdatedAt": HISTORY_TIME,
    "StartedAt": "2026-11-25T12:27:01.000Z",
    "EndedAt": "2026-11-25T12:41:00.000Z",
    "TransformJobName": "churn-scoring-2026-11",
    "SageMakerJobName": JOB_NAME,
    "SageMakerJobArn": JOB_ARN,
    "Progress": {"InputObjects": 1, "OutputObjects": 1},
    "Request": {
        "ModelName": "churn-xgb",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://transform-jobs-data/team-a/input/",
                }
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://transform-jobs-data/team-a/output/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    },
}
HISTORY_IMAGE = {
    **HISTORY_KEYS,
    "Kind": {"S": "JobEvent"},
    "JobId": {"S": JOB_ID},
    "TeamId": {"S": TEAM},
    "EventId": {"S": HISTORY_EVENT_ID},
    "Time": {"S": HISTORY_TIME},
    "Status": {"S": "Completed"},
    "PreviousStatus": {"S": "InProgress"},
    "Source": {"S": "sagemaker"},
    "Snapshot": {"S": json.dumps(HISTORY_SNAPSHOT, separators=(",", ":"))},
}
DYNAMODB_OPTIONS = {
    "table": f"transform-jobs-{STAGE}-JobsTable",
    "region": REGION,
    "account-id": ACCOUNT,
}
DYNAMODB_RECIPE = Recipe(
    file="dynamodb_history_insert.json",
    source=sam_command("dynamodb", "update", DYNAMODB_OPTIONS),
    base=sam_event("dynamodb", "update", **DYNAMODB_OPTIONS),
    changes=[
        ("Records.2", DELETE),  # the sample's REMOVE and MODIFY: the stream filter drops them
        ("Records.1", DELETE),
        ("Records.0.dynamodb.Keys", HISTORY_KEYS),
        ("Records.0.dynamodb.NewImage", HISTORY_IMAGE),
    ],
)


# --- Schedule -----------------------------------------------------------------------------------

SCHEDULE_OPTIONS = {
    "rule": f"transform-jobs-{STAGE}-Schedule",
    "region": REGION,
    "account-id": ACCOUNT,
}
SCHEDULE_RECIPE = Recipe(
    file="schedule.json",
    source=sam_command("cloudwatch", "scheduled-event", SCHEDULE_OPTIONS),
    base=sam_event("cloudwatch", "scheduled-event", **SCHEDULE_OPTIONS),
    # SAM's sample lacks `version`, which EventBridge puts in every event ("0").
    changes=[("version", "0")],
)


# --- SageMaker Transform Job State Change -------------------------------------------------------

CREATED = "2026-11-25T12:26:13Z"
STARTED = "2026-11-25T12:29:13Z"  # three minutes later
ENDED = "2026-11-25T12:35:13Z"  # nine minutes after creation

# Our job's event, every member the guide's shape has, in its value forms (times as ISO text,
# Tags a map, FailureReason beside a Failed status). The recipes below make each case of it.
TRANSFORM_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "5f1a2b3c-0000-4a1b-9c2d-000000000000",
    "detail-type": "SageMaker Transform Job State Change",
    "source": "aws.sagemaker",
    "account": ACCOUNT,
    "time": CREATED,
    "region": REGION,
    "resources": [JOB_ARN],
    "detail": {
        "TransformJobName": JOB_NAME,
        "TransformJobArn": JOB_ARN,
        "TransformJobStatus": "Failed",
        "FailureReason": "ClientError: See job logs for more information",
        "ModelName": SUBMIT_BODY["ModelName"],
        "MaxConcurrentTransforms": SUBMIT_BODY["MaxConcurrentTransforms"],
        "MaxPayloadInMB": SUBMIT_BODY["MaxPayloadInMB"],
        "BatchStrategy": SUBMIT_BODY["BatchStrategy"],
        "Environment": SUBMIT_BODY["Environment"],
        "TransformInput": SUBMIT_BODY["TransformInput"],
        "TransformOutput": {
            **SUBMIT_BODY["TransformOutput"],
            "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/transform-jobs-output",
        },
        "TransformResources": SUBMIT_BODY["TransformResources"],
        "CreationTime": CREATED,
        "TransformStartTime": STARTED,
        "TransformEndTime": ENDED,
        "Tags": {
            "cost-center": "ml-platform",
            "transform-jobs:job-id": JOB_ID,
            "transform-jobs:team": TEAM,
        },
    },
}

# The value forms of the shape file (its "forms" member says what each means).
SHAPE_FORMS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "uuid": lambda value: (
        isinstance(value, str)
        and re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value) is not None
    ),
    "arn": lambda value: isinstance(value, str) and value.startswith("arn:"),
    "date-time": lambda value: (
        isinstance(value, str)
        and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value) is not None
    ),
    "string-map": lambda value: (
        isinstance(value, dict) and all(isinstance(text, str) for text in [*value, *value.values()])
    ),
    "map": lambda value: isinstance(value, dict),
}


def in_shape(form: Any, value: Any, path: str) -> Any:
    """The value laid out as the shape's form: an object's members in the shape's order, every
    one of them present and of its form. Anything else fails loudly."""
    if isinstance(form, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: {value!r} is not an object")
        if set(value) != set(form):
            missing, unknown = sorted(set(form) - set(value)), sorted(set(value) - set(form))
            raise ValueError(f"{path}: missing {missing}, not in the shape {unknown}")
        return {
            name: in_shape(member, value[name], f"{path}.{name}") for name, member in form.items()
        }
    if isinstance(form, list):
        if not isinstance(value, list):
            raise ValueError(f"{path}: {value!r} is not an array")
        return [in_shape(form[0], item, f"{path}.{index}") for index, item in enumerate(value)]
    matches = value == form[1:] if form.startswith("=") else SHAPE_FORMS[form](value)
    if not matches:
        raise ValueError(f"{path}: {value!r} is not of the form {form!r}")
    return value


def sagemaker_event() -> dict[str, Any]:
    """Our job's event (TRANSFORM_EVENT) as the guide's shape lays it out."""
    shape = json.loads(SAGEMAKER_SHAPE.read_text())["event"]
    event: dict[str, Any] = in_shape(shape, copy.deepcopy(TRANSFORM_EVENT), "event")
    return event


def epoch_millis(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1000


def transform_recipe(
    file: str, status: str, number: int, *, started: bool, ended: bool, failure: str | None = None
) -> Recipe:
    """Our event for one status. Times are epoch milliseconds as the schema registry types them
    (the guide's ISO text is read too: tests/unit/test_sagemaker_event_shape.py); FailureReason
    only when Failed, as the guide says; no KmsKeyId, as our jobs set none."""
    detail = "detail"
    changes: list[Change] = [
        ("id", f"5f1a2b3c-0000-4a1b-9c2d-{number:012d}"),
        (f"{detail}.TransformJobStatus", status),
        (f"{detail}.FailureReason", failure if failure is not None else DELETE),
        (f"{detail}.TransformOutput.KmsKeyId", DELETE),
        (f"{detail}.CreationTime", epoch_millis(CREATED)),
        (f"{detail}.TransformStartTime", epoch_millis(STARTED) if started else DELETE),
        (f"{detail}.TransformEndTime", epoch_millis(ENDED) if ended else DELETE),
    ]
    return Recipe(
        file=file,
        source="our event of the SageMaker developer guide's shape: events/sources/"
        + SAGEMAKER_SHAPE.name,
        base=sagemaker_event,
        changes=changes,
    )


TRANSFORM_RECIPES = [
    # Published when the job is created: it has not started on its instances yet.
    transform_recipe(
        "eventbridge_transform_in_progress.json", "InProgress", 1, started=False, ended=False
    ),
    transform_recipe(
        "eventbridge_transform_completed.json", "Completed", 2, started=True, ended=True
    ),
    transform_recipe(
        "eventbridge_transform_failed.json",
        "Failed",
        3,
        started=True,
        ended=True,
        failure="ClientError: See job logs for more information",
    ),
]

RECIPES = [
    *API_RECIPES,
    AUTHORIZER_RECIPE,
    *SQS_RECIPES,
    DYNAMODB_RECIPE,
    SCHEDULE_RECIPE,
    *TRANSFORM_RECIPES,
]


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2) + "\n"


if __name__ == "__main__":
    for recipe in RECIPES:
        (EVENTS / recipe.file).write_text(render(recipe.build()))
        print(f"wrote events/{recipe.file}  ({recipe.source})", file=sys.stderr)
