"""The local runtime's resource creation against a moto server, and its intrinsic resolver."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.runtime.resources import create_resources
from local.runtime.template import (
    NO_VALUE,
    Context,
    Template,
    TemplateError,
    UnresolvedReference,
    load_template,
    resolve,
)
from local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
STACK = "tj-local"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
PARAMETERS: dict[str, Any] = {"Stage": "dev", "DataBucketNames": ["transform-jobs-local"]}


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {**os.environ, **{k.upper(): v for k, v in CREDENTIALS.items()}}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"moto server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not answer within 30 s")
                time.sleep(0.1)
        yield endpoint
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def endpoints(moto_endpoint: str) -> dict[str, str]:
    return {
        "dynamodb": moto_endpoint,
        "sqs": moto_endpoint,
        "s3": moto_endpoint,
        "kms": moto_endpoint,
    }


@pytest.fixture(scope="module")
def context(template: Template, endpoints: dict[str, str]) -> Context:
    return create_resources(
        template,
        endpoints=endpoints,
        credentials=CREDENTIALS,
        region=REGION,
        stack_name=STACK,
        parameters=PARAMETERS,
    )


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def test_a_table_kept_from_an_older_template_gets_the_indexes_added_since(
    template: Template, endpoints: dict[str, str], moto_endpoint: str
) -> None:
    # The table alone: the module's other tests count the stack's keys and queues.
    document = copy.deepcopy(template.document)
    document["Resources"] = {"JobsTable": document["Resources"]["JobsTable"]}
    table = document["Resources"]["JobsTable"]["Properties"]
    table["GlobalSecondaryIndexes"] = [
        index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] != "DueSchedules"
    ]
    table["AttributeDefinitions"] = [
        kept
        for kept in table["AttributeDefinitions"]
        if kept["AttributeName"] not in {"ScheduleShard", "NextRunAt"}
    ]
    older = Template(document)
    stack = "upgrade-test"

    def resources(of: Template) -> None:
        create_resources(
            of,
            endpoints=endpoints,
            credentials=CREDENTIALS,
            region=REGION,
            stack_name=stack,
            parameters=PARAMETERS,
        )

    def indexes() -> set[str]:
        described = _client("dynamodb", moto_endpoint).describe_table(
            TableName=f"{stack}-JobsTable"
        )["Table"]
        return {index["IndexName"] for index in described["GlobalSecondaryIndexes"]}

    resources(older)
    assert "DueSchedules" not in indexes()
    document["Resources"] = {"JobsTable": template.document["Resources"]["JobsTable"]}
    resources(Template(document))  # the stack starts again on the data it kept
    assert "DueSchedules" in indexes()


# ------------------------------------------------------------------ resources on moto


def test_jobs_table_has_its_indexes_its_stream_and_ttl(
    context: Context, moto_endpoint: str
) -> None:
    ddb = _client("dynamodb", moto_endpoint)
    table = ddb.describe_table(TableName=f"{STACK}-JobsTable")["Table"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
        "TeamJobs",
        "ActiveJobs",
        "DueDeliveries",
        "DueSchedules",
    }
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert context.refs["JobsTable"] == f"{STACK}-JobsTable"
    assert context.attributes[("JobsTable", "Arn")] == table["TableArn"]
    assert context.attributes[("JobsTable", "StreamArn")] == table["LatestStreamArn"]
    ttl = ddb.describe_time_to_live(TableName=f"{STACK}-JobsTable")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert ttl["AttributeName"] == "ExpiresAt"


def test_idempotency_table_exists(context: Context, moto_endpoint: str) -> None:
    ddb = _client("dynamodb", moto_endpoint)
    table = ddb.describe_table(TableName=f"{STACK}-IdempotencyTable")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert context.refs["IdempotencyTable"] == f"{STACK}-IdempotencyTable"


def test_launch_queue_redrives_to_its_dead_letter_queue(
    context: Context, moto_endpoint: str
) -> None:
    sqs = _client("sqs", moto_endpoint)
    url = sqs.get_queue_url(QueueName=f"{STACK}-LaunchQueue")["QueueUrl"]
    assert context.refs["LaunchQueue"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    assert attributes["MessageRetentionPeriod"] == "1209600"
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_arn = context.attributes[("LaunchDeadLetterQueue", "Arn")]
    assert dlq_arn.endswith(f":{STACK}-LaunchDeadLetterQueue")
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 5
    assert context.attributes[("LaunchQueue", "QueueName")] == f"{STACK}-LaunchQueue"
    assert context.attributes[("LaunchQueue", "Arn")] == attributes["QueueArn"]


def test_artifacts_bucket_exists(context: Context, moto_endpoint: str) -> None:
    s3 = _client("s3", moto_endpoint)
    name = f"{STACK}-artifactsbucket"
    s3.head_bucket(Bucket=name)
    assert context.refs["ArtifactsBucket"] == name
    assert context.attributes[("ArtifactsBucket", "Arn")] == f"arn:aws:s3:::{name}"


def test_every_function_environment_resolves_to_strings(
    template: Template, context: Context
) -> None:
    functions = {spec.logical_id: spec for spec in template.functions()}
    assert set(functions) == {
        "AuthorizerFunction",
        "JobsApiFunction",
        "LaunchJobFunction",
        "RecordStateChangeFunction",
        "DispatchJobsFunction",
        "ReconcileJobsFunction",
        "WebhooksApiFunction",
        "NotifyFunction",
        "DeliverWebhookFunction",
        "RetryDeliveriesFunction",
        "RunSchedulesFunction",
        "SchedulesApiFunction",
        "PrepareJobFunction",
        "FinalizeJobFunction",
    }
    environments = {
        logical_id: resolve(spec.environment, context) for logical_id, spec in functions.items()
    }
    for environment in environments.values():
        assert all(isinstance(value, str) for value in environment.values()), environment
        assert environment["TABLE_NAME"] == f"{STACK}-JobsTable"
        assert environment["STAGE"] == "dev"
        assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    queue_url = context.refs["LaunchQueue"]
    assert queue_url.startswith("http://127.0.0.1:")
    for name in ("JobsApiFunction", "DispatchJobsFunction", "ReconcileJobsFunction"):
        assert environments[name]["LAUNCH_QUEUE_URL"] == queue_url
    assert environments["JobsApiFunction"]["IDEMPOTENCY_TABLE_NAME"] == f"{STACK}-IdempotencyTable"
    launch = environments["LaunchJobFunction"]
    assert launch["LAUNCH_MAX_RECEIVES"] == "5"
    assert launch["SERVICE_MAX_RUNNING_JOBS"] == "20"
    assert launch["ARTIFACTS_BUCKET"] == f"{STACK}-artifactsbucket"
    assert environments["ReconcileJobsFunction"]["RECONCILE_AFTER_SECONDS"] == "900"
    prepare_url, finalize_url = context.refs["PrepareQueue"], context.refs["FinalizeQueue"]
    for name in ("LaunchJobFunction", "PrepareJobFunction", "ReconcileJobsFunction"):
        assert environments[name]["PREPARE_QUEUE_URL"] == prepare_url
    for name in ("RecordStateChangeFunction", "FinalizeJobFunction", "ReconcileJobsFunction"):
        assert environments[name]["FINALIZE_QUEUE_URL"] == finalize_url


def test_function_specs_merge_globals(template: Template) -> None:
    functions = {spec.logical_id: spec for spec in template.functions()}
    authorizer = functions["AuthorizerFunction"]
    assert (authorizer.timeout, authorizer.memory) == (5, 256)
    assert authorizer.handler == "app.handler"
    assert authorizer.runtime == "python3.13"
    assert authorizer.code_uri == "functions/authorizer/"
    launch = functions["LaunchJobFunction"]
    assert launch.memory == 512
    assert launch.events["Launch"]["Type"] == "SQS"
    assert launch.events["Launch"]["Properties"]["Queue"] == {"Fn::GetAtt": ["LaunchQueue", "Arn"]}


def test_policies_resolve(template: Template, context: Context) -> None:
    jobs_api = next(s for s in template.functions() if s.logical_id == "JobsApiFunction")
    policies = resolve(jobs_api.policies, context)
    statements = {s["Sid"]: s for s in policies[1]["Statement"]}
    # the template leaves the partition of data-bucket ARNs as "*" (Fn::Join cannot take it)
    assert statements["ListDataBuckets"]["Resource"] == ["arn:*:s3:::transform-jobs-local"]
    assert statements["ReadDataObjects"]["Resource"] == ["arn:*:s3:::transform-jobs-local/*"]
    # without DataKmsKeyArns its conditional KMS grant is gone, not left empty
    assert len(policies) == 2
    table_arn = context.attributes[("JobsTable", "Arn")]
    assert statements["JobsTableItems"]["Resource"] == [table_arn, f"{table_arn}/index/*"]
    assert policies[0]["SQSSendMessagePolicy"]["QueueName"] == f"{STACK}-LaunchQueue"


def test_create_resources_twice_is_idempotent(
    template: Template, context: Context, endpoints: dict[str, str], moto_endpoint: str
) -> None:
    again = create_resources(
        template,
        endpoints=endpoints,
        credentials=CREDENTIALS,
        region=REGION,
        stack_name=STACK,
        parameters=PARAMETERS,
    )
    assert again.refs == context.refs
    assert again.attributes == context.attributes
    tables = _client("dynamodb", moto_endpoint).list_tables()["TableNames"]
    assert sorted(t for t in tables if t.startswith(STACK)) == [
        f"{STACK}-IdempotencyTable",
        f"{STACK}-JobsTable",
    ]
    queues = _client("sqs", moto_endpoint).list_queues(QueueNamePrefix=STACK)["QueueUrls"]
    assert len(queues) == 10
    # The KMS key is found again through its alias, not made a second time.
    kms = _client("kms", moto_endpoint)
    assert len(kms.list_keys()["Keys"]) == 1
    alias = kms.describe_key(KeyId=f"alias/{STACK}-WebhookSecretsKey")["KeyMetadata"]
    assert alias["KeyId"] == context.refs["WebhookSecretsKey"]


# ------------------------------------------------------------------ resolve()


@pytest.fixture
def unit_context() -> Context:
    return Context(
        parameters={"Stage": "dev", "Names": ["a", "b"], "Topic": ""},
        region="eu-west-1",
        account_id="111122223333",
        stack_name="stack",
        refs={"Table": "stack-Table"},
        attributes={("Table", "Arn"): "arn:aws:dynamodb:eu-west-1:111122223333:table/stack-Table"},
        conditions={
            "HasTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Topic"}, ""]}]},
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
        },
        mappings={"Launch": {"Attempts": {"Max": 5}}},
    )


def test_short_tags_load_as_long_forms(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  X:\n"
        "    Type: AWS::Foo\n"
        "    Properties:\n"
        "      A: !GetAtt T.Arn\n"
        "      B: !GetAtt [T, Arn]\n"
        "      C: !Sub ['${X}', {X: !Ref Stage}]\n"
        "      D: !If [C, !Select [0, !Split [',', 'a,b']], !Join ['-', [x, y]]]\n",
        encoding="utf-8",
    )
    properties = load_template(path).resources["X"]["Properties"]
    assert properties["A"] == {"Fn::GetAtt": ["T", "Arn"]}
    assert properties["B"] == {"Fn::GetAtt": ["T", "Arn"]}
    assert properties["C"] == {"Fn::Sub": ["${X}", {"X": {"Ref": "Stage"}}]}
    assert properties["D"] == {
        "Fn::If": [
            "C",
            {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
            {"Fn::Join": ["-", ["x", "y"]]},
        ]
    }


def test_sub(unit_context: Context) -> None:
    value = {"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Stage}"}
    assert resolve(value, unit_context) == "arn:aws:x:eu-west-1:111122223333:dev"
    assert resolve({"Fn::Sub": "${Table.Arn}/index/*"}, unit_context).endswith(
        "table/stack-Table/index/*"
    )
    assert resolve({"Fn::Sub": "${Table}-${!Literal}"}, unit_context) == "stack-Table-${Literal}"
    with_vars = {"Fn::Sub": ["${AWS::StackName}:${N}", {"N": {"Fn::Join": [",", ["1", "2"]]}}]}
    assert resolve(with_vars, unit_context) == "stack:1,2"


def test_find_in_map(unit_context: Context) -> None:
    assert resolve({"Fn::FindInMap": ["Launch", "Attempts", "Max"]}, unit_context) == "5"
    with pytest.raises(UnresolvedReference, match="Launch, Attempts, Min"):
        resolve({"Fn::FindInMap": ["Launch", "Attempts", "Min"]}, unit_context)


def test_if_and_conditions(unit_context: Context) -> None:
    value = {
        "A": {"Fn::If": ["HasTopic", ["topic"], {"Ref": "AWS::NoValue"}]},
        "B": {"Fn::If": ["IsDev", "yes", "no"]},
        "C": [{"Fn::If": ["HasTopic", "x", {"Ref": "AWS::NoValue"}]}, "y"],
    }
    assert resolve(value, unit_context) == {"B": "yes", "C": ["y"]}
    assert resolve({"Ref": "AWS::NoValue"}, unit_context) is NO_VALUE
    with pytest.raises(UnresolvedReference, match="Nope"):
        resolve({"Fn::If": ["Nope", 1, 2]}, unit_context)


def test_join_split_select(unit_context: Context) -> None:
    assert resolve({"Fn::Join": [",", {"Ref": "Names"}]}, unit_context) == "a,b"
    assert resolve({"Fn::Split": ["|", "x|y|z"]}, unit_context) == ["x", "y", "z"]
    assert resolve({"Fn::Select": ["1", {"Fn::Split": ["|", "x|y"]}]}, unit_context) == "y"
    with pytest.raises(TemplateError, match="outside"):
        resolve({"Fn::Select": [5, ["x"]]}, unit_context)


def test_unknown_references_are_named(unit_context: Context) -> None:
    with pytest.raises(UnresolvedReference, match="Ref Missing"):
        resolve({"Ref": "Missing"}, unit_context)
    with pytest.raises(UnresolvedReference, match=r"Table\.StreamArn"):
        resolve({"Fn::GetAtt": ["Table", "StreamArn"]}, unit_context)
    with pytest.raises(UnresolvedReference, match="Ghost"):
        resolve({"Fn::Sub": "${Ghost}"}, unit_context)


def test_parameter_values_need_required_parameters(template: Template) -> None:
    with pytest.raises(TemplateError, match="DataBucketNames"):
        template.parameter_values({})
    values = template.parameter_values({"DataBucketNames": "a, b"})
    assert values["DataBucketNames"] == ["a", "b"]
    assert values["ServiceMaxRunningJobs"] == "20"
