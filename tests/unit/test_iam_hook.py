"""The worker's hook (local/iam/hook.py) on a botocore session: a denied call never leaves the
process and fails as AWS fails it; an allowed one is sent; each decision is recorded once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from local.iam.hook import AUDIT, Authorizer, register
from local.iam.policies import function_policies, static_context
from local.runtime.template import load_template
from transform_jobs.adapters.dynamodb import api_key_repository

ROOT = Path(__file__).resolve().parents[2]
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/app-FnRole/app-Fn"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/items"
# Nothing listens on the discard port: a call that is let through fails to connect at once.
NOWHERE = "http://127.0.0.1:9"


def policy(**overrides: Any) -> dict[str, Any]:
    return {
        "function": "app-Fn",
        "principal": PRINCIPAL,
        "role_arn": "arn:aws:iam::123456789012:role/app-FnRole",
        "account": "123456789012",
        "region": "us-east-1",
        "statements": [
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/in/*"},
            {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"},
        ],
        **overrides,
    }


@pytest.fixture
def usage(tmp_path: Path) -> Path:
    return tmp_path / "usage.jsonl"


def client(service: str, authorizer: Authorizer) -> Any:
    session = botocore.session.Session()
    register(session, authorizer)
    return session.create_client(
        service,  # type: ignore[call-overload]
        region_name="us-east-1",
        endpoint_url=NOWHERE,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call()
    return {
        **raised.value.response["Error"],
        "status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "exception": type(raised.value).__name__,
    }


def test_a_denied_dynamodb_call_is_an_access_denied_exception_naming_action_and_resource(
    usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = client("dynamodb", Authorizer(policy(), str(usage)))
    error = error_of(lambda: dynamodb.put_item(TableName="items", Item={"PK": {"S": "a"}}))
    assert error["Code"] == "AccessDeniedException"
    assert error["status"] == 400
    assert error["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: dynamodb:PutItem on resource: {TABLE} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )
    logged = capsys.readouterr().err
    assert f"function app-Fn calling PutItem: dynamodb:PutItem on {TABLE}" in logged
    # The allowed call is sent (and fails only for want of a server).
    with pytest.raises(EndpointConnectionError):
        dynamodb.get_item(TableName="items", Key={"PK": {"S": "a"}})


def test_s3_denials_are_access_denied_403_with_the_resource_quoted_and_head_has_no_body(
    usage: Path,
) -> None:
    s3 = client("s3", Authorizer(policy(), str(usage)))
    error = error_of(lambda: s3.get_object(Bucket="data", Key="out/x.csv"))
    assert (error["Code"], error["status"], error["exception"]) == (
        "AccessDenied",
        403,
        "AccessDenied",
    )
    assert 'perform: s3:GetObject on resource: "arn:aws:s3:::data/out/x.csv"' in error["Message"]
    head = error_of(lambda: s3.head_object(Bucket="data", Key="out/x.csv"))
    assert (head["Code"], head["Message"], head["status"]) == ("403", "Forbidden", 403)


def test_sqs_answers_access_denied_with_the_action_in_lower_case(usage: Path) -> None:
    sqs = client("sqs", Authorizer(policy(), str(usage)))
    url = f"{NOWHERE}/123456789012/app-Work"
    error = error_of(
        lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}])
    )
    assert error["Code"] == "AccessDenied"
    assert (
        "perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:123456789012:app-Work"
        in (error["Message"])
    )


def test_an_explicit_deny_says_so(usage: Path) -> None:
    sagemaker = client("sagemaker", Authorizer(policy(), str(usage)))
    error = error_of(sagemaker.list_transform_jobs)
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: {PRINCIPAL} is not authorized to perform: sagemaker:ListTransformJobs "
        "with an explicit deny in an identity-based policy"
    )


def test_every_decision_is_recorded_once(usage: Path) -> None:
    dynamodb = client("dynamodb", Authorizer(policy(), str(usage)))
    for _ in range(3):
        with pytest.raises(ClientError):
            dynamodb.delete_item(TableName="items", Key={"PK": {"S": "a"}})
    with pytest.raises(EndpointConnectionError):
        dynamodb.get_item(TableName="items", Key={"PK": {"S": "a"}})
    records = [json.loads(line) for line in usage.read_text().splitlines()]
    assert records == [
        {
            "function": "app-Fn",
            "operation": "DeleteItem",
            "action": "dynamodb:DeleteItem",
            "resource": TABLE,
            "allowed": False,
        },
        {
            "function": "app-Fn",
            "operation": "GetItem",
            "action": "dynamodb:GetItem",
            "resource": TABLE,
            "allowed": True,
        },
    ]


def test_audit_mode_sends_the_call_and_logs_what_aws_would_refuse(
    usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb = client("dynamodb", Authorizer(policy(mode=AUDIT), str(usage)))
    with pytest.raises(EndpointConnectionError):
        dynamodb.put_item(TableName="items", Item={"PK": {"S": "a"}})
    assert "AccessDenied in AWS (audit only" in capsys.readouterr().err


def test_a_presigned_url_is_checked_when_signed_and_recorded(
    usage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = client("s3", Authorizer(policy(), str(usage)))
    s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "in/a.csv"})
    assert capsys.readouterr().err == ""
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "out/a.csv"})
    assert url.startswith(NOWHERE)  # signing is local and always succeeds, as in AWS
    assert "a presigned URL that AWS would refuse" in capsys.readouterr().err
    allowed = {(r["resource"], r["allowed"]) for r in map(json.loads, usage.open())}
    assert allowed == {("arn:aws:s3:::data/in/a.csv", True), ("arn:aws:s3:::data/out/a.csv", False)}


def test_a_call_with_no_known_action_is_refused(usage: Path) -> None:
    lambda_client = client("lambda", Authorizer(policy(), str(usage)))
    error = error_of(lambda_client.list_functions)
    assert error["Code"] == "AccessDeniedException"
    assert "lambda:ListFunctions" in error["Message"]


def test_the_authorizers_role_lets_its_key_lookup_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """The authorizer's lookup is checked like any other call, and template.yaml's role for it
    allows the GetItem on the jobs table, and only there."""
    template = load_template(ROOT / "template.yaml")
    context = static_context(template, {"DataBucketNames": "transform-jobs-data"})
    role = function_policies(template, context)["AuthorizerFunction"]
    authorizer = Authorizer(json.loads(role.document(context, mode="enforce", kms_keys={})))
    original = botocore.session.Session.__init__

    def init(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        register(self, authorizer)

    def look_up_in(table: str) -> None:
        monkeypatch.setenv("TABLE_NAME", table)
        api_key_repository.team_for_key_hash("ab" * 32)

    monkeypatch.setattr(botocore.session.Session, "__init__", init)
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # An environment no other test has: the session made for it is made now, with the hook.
    monkeypatch.setenv("AWS_IAM_HOOKED", str(id(authorizer)))
    with pytest.raises(EndpointConnectionError):  # allowed, so sent
        look_up_in(context.refs["JobsTable"])
    with pytest.raises(ClientError, match="not authorized to perform: dynamodb:GetItem"):
        look_up_in("another-table")
