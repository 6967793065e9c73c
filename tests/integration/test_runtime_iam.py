"""IAM in the local runtime: a function of the small app (tests/fixtures/runtime_app) calls AWS
from its own worker, and what its template policy does not allow fails as AWS fails it, before
anything reaches the stand-in (a moto server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.iam.enforcement import IamSettings, RoleTooNarrow
from local.runtime.functions import AwsAccess
from local.runtime.runtime import LocalRuntime
from local.stack.backends import LOCAL_CREDENTIALS, start_moto

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "runtime_app" / "template.yaml"
ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/iam-ItemsTable"
PRINCIPAL = f"arn:aws:sts::{ACCOUNT}:assumed-role/iam-AwsProbeFunctionRole/iam-AwsProbeFunction"


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsAccess]:
    moto = start_moto(log_dir=tmp_path_factory.mktemp("moto"))
    try:
        endpoints = dict.fromkeys(("dynamodb", "sqs", "events"), moto.endpoint)
        yield AwsAccess(endpoints, dict(LOCAL_CREDENTIALS))
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def usage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("iam-usage")


@pytest.fixture(scope="module")
def runtime(
    access: AwsAccess, usage_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    # Not started: no event source polls; the test invokes the probe function directly.
    running = LocalRuntime(
        access,
        state_dir=tmp_path_factory.mktemp("state"),
        template_path=APP,
        stack_name="iam",
        port=0,
        iam=IamSettings(usage_dir=usage_dir),
    )
    try:
        yield running
    finally:
        running.stop()


def call(runtime: LocalRuntime, service: str, operation: str, **params: Any) -> dict[str, Any]:
    event = {"service": service, "operation": operation, "params": params}
    return dict(runtime.pool("AwsProbeFunction").invoke(event))


def key(name: str) -> dict[str, Any]:
    return {"PK": {"S": name}}


def test_allowed_calls_reach_the_service(runtime: LocalRuntime) -> None:
    table = runtime.context.refs["ItemsTable"]
    assert "error" not in call(runtime, "dynamodb", "put_item", TableName=table, Item=key("a"))
    got = call(runtime, "dynamodb", "get_item", TableName=table, Key=key("a"))
    assert got["response"]["Item"] == key("a")


def test_an_explicit_deny_fails_the_call_before_it_is_sent(runtime: LocalRuntime) -> None:
    table = runtime.context.refs["ItemsTable"]
    call(runtime, "dynamodb", "put_item", TableName=table, Item=key("kept"))
    denied = call(runtime, "dynamodb", "delete_item", TableName=table, Key=key("kept"))
    assert denied["error"]["Code"] == "AccessDeniedException"
    assert denied["status"] == 400
    assert denied["error"]["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: dynamodb:DeleteItem on resource: "
        f"{TABLE_ARN} with an explicit deny in an identity-based policy"
    )
    # Nothing reached DynamoDB: the item is still there.
    item = runtime.client("dynamodb").get_item(TableName=table, Key=key("kept")).get("Item")
    assert item == key("kept")


def test_a_call_no_statement_allows_is_denied_and_logged_with_the_function(
    runtime: LocalRuntime,
) -> None:
    queue_url = runtime.context.refs["WorkQueue"]
    denied = call(runtime, "sqs", "send_message", QueueUrl=queue_url, MessageBody="x")
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:iam-WorkQueue"
    assert denied["error"]["Code"] == "AccessDenied"
    assert denied["error"]["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: sqs:sendmessage on resource: "
        f"{queue_arn} because no identity-based policy allows the sqs:sendmessage action"
    )
    attributes = runtime.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    log = runtime.pool("AwsProbeFunction").log_path.read_text()
    assert (
        "[local IAM] AccessDenied: function iam-AwsProbeFunction calling SendMessage: "
        f"sqs:SendMessage on {queue_arn}"
    ) in log


def test_every_decision_is_recorded_for_the_report(runtime: LocalRuntime, usage_dir: Path) -> None:
    table = runtime.context.refs["ItemsTable"]
    call(runtime, "dynamodb", "delete_item", TableName=table, Key=key("x"))
    call(runtime, "dynamodb", "get_item", TableName=table, Key=key("x"))
    records = [json.loads(line) for line in (usage_dir / "AwsProbeFunction.jsonl").open()]
    decisions = {(r["action"], r["resource"], r["allowed"]) for r in records}
    assert ("dynamodb:DeleteItem", TABLE_ARN, False) in decisions
    assert ("dynamodb:GetItem", TABLE_ARN, True) in decisions
    # What Lambda itself does with the roles is recorded too (the SQS event source's polling).
    worker = [json.loads(line) for line in (usage_dir / "SqsWorkerFunction.jsonl").open()]
    assert {r["action"] for r in worker if r["operation"].startswith("Lambda:")} == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    policies = json.loads((usage_dir / "policies.json").read_text())
    assert policies["AwsProbeFunction"]["role"] == "iam-AwsProbeFunctionRole"


def test_with_iam_off_the_same_call_goes_through(access: AwsAccess, tmp_path: Path) -> None:
    runtime = LocalRuntime(
        access,
        state_dir=tmp_path,
        template_path=APP,
        stack_name="iam-off",
        port=0,
        iam=IamSettings(mode="off"),
    )
    try:
        table = runtime.context.refs["ItemsTable"]
        call(runtime, "dynamodb", "put_item", TableName=table, Item=key("gone"))
        assert "error" not in call(
            runtime, "dynamodb", "delete_item", TableName=table, Key=key("gone")
        )
        assert "Item" not in runtime.client("dynamodb").get_item(TableName=table, Key=key("gone"))
    finally:
        runtime.stop()


def test_a_role_that_cannot_poll_its_queue_stops_the_runtime_from_starting(
    access: AwsAccess, tmp_path: Path
) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: only-send
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: sqs:SendMessage
                Resource: !GetAtt Jobs.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.13
      Role: !GetAtt Role.Arn
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
"""
    )
    with pytest.raises(RoleTooNarrow, match=r"sqs:ReceiveMessage on arn:aws:sqs:[^ ]*:narrow-Jobs"):
        LocalRuntime(
            access,
            state_dir=tmp_path / "state",
            template_path=tmp_path / "template.yaml",
            stack_name="narrow",
            port=0,
        )
