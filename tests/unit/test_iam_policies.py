"""Each function's role as CloudFormation would make it from template.yaml (local/iam/policies.py):
SAM's translator expands the policy templates, the intrinsics resolve to the stack's ARNs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.iam.evaluate import Request, evaluate, parse_statements
from local.iam.policies import (
    function_policies,
    kms_keys,
    policy_context,
    static_context,
)
from local.runtime.template import Template, load_template

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "runtime_app" / "template.yaml"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def app() -> Template:
    return load_template(APP)


def allowed(statements: list[dict[str, object]], action: str, resource: str) -> bool:
    return evaluate(parse_statements(statements), Request(action, resource)).allowed


def test_policy_templates_expand_into_statements_on_the_stacks_arns(app: Template) -> None:
    context = static_context(app)
    policies = function_policies(app, context)
    probe = policies["AwsProbeFunction"]
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/transform-jobs-ItemsTable"
    read = [g.statement for g in probe.grants if g.source == "DynamoDBReadPolicy"]
    assert read, [g.source for g in probe.grants]
    assert allowed(read, "dynamodb:Query", f"{table}/index/ByKind")
    assert not allowed(read, "dynamodb:PutItem", table)
    # The inline Deny is kept and beats the wildcard Allow.
    assert allowed(probe.statements, "dynamodb:PutItem", table)
    assert not allowed(probe.statements, "dynamodb:DeleteItem", table)
    assert probe.role_name == "transform-jobs-AwsProbeFunctionRole"
    assert probe.principal == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/transform-jobs-AwsProbeFunctionRole/"
        "transform-jobs-AwsProbeFunction"
    )
    worker = policies["SqsWorkerFunction"]
    records = f"arn:aws:sqs:us-east-1:{ACCOUNT}:transform-jobs-RecordsQueue"
    assert allowed(
        [g.statement for g in worker.grants if g.source == "SQSSendMessagePolicy"],
        "sqs:SendMessage",
        records,
    )


def test_sam_adds_the_managed_policies_of_the_functions_event_sources(app: Template) -> None:
    policies = function_policies(app, static_context(app))
    managed = {
        logical_id: sorted(g.source for g in policy.grants if g.managed)
        for logical_id, policy in policies.items()
    }
    basic = "managed policy service-role/AWSLambdaBasicExecutionRole"
    assert managed["InspectEnvFunction"] == [basic]
    assert managed["SqsWorkerFunction"] == [
        basic,
        "managed policy service-role/AWSLambdaSQSQueueExecutionRole",
    ]
    assert (
        "managed policy service-role/AWSLambdaDynamoDBExecutionRole"
        in (managed["StreamReaderFunction"])
    )


def test_what_lambda_does_with_each_role_is_listed_and_allowed(app: Template) -> None:
    context = static_context(app)
    policies = function_policies(app, context)
    stream = policies["StreamReaderFunction"]
    failures = f"arn:aws:sqs:us-east-1:{ACCOUNT}:transform-jobs-FailuresQueue"
    assert ("sqs:SendMessage", failures) in {
        (r.action, r.resource) for _, r in stream.service_requests
    }
    worker = policies["SqsWorkerFunction"]
    work = f"arn:aws:sqs:us-east-1:{ACCOUNT}:transform-jobs-WorkQueue"
    assert {(r.action, r.resource) for _, r in worker.service_requests} == {
        ("sqs:ReceiveMessage", work),
        ("sqs:DeleteMessage", work),
        ("sqs:GetQueueAttributes", work),
    }


def test_every_function_of_the_service_gets_a_role_lambda_can_run_it_with() -> None:
    template = load_template(ROOT / "template.yaml")
    context = static_context(template, {"DataBucketNames": "transform-jobs-data"})
    policies = function_policies(template, context)
    functions = [
        logical_id
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    assert sorted(policies) == sorted(functions)
    for policy in policies.values():
        assert not policy.problems, policy.problems
        assert any(not grant.managed for grant in policy.grants), policy.logical_id
        statements = parse_statements(policy.statements)
        for what, request in policy.service_requests:
            assert evaluate(statements, request).allowed, (policy.logical_id, what, request)
        # Resolved: no intrinsic function is left in any statement.
        assert '{"Fn::' not in json.dumps(policy.statements)
        assert '{"Ref"' not in json.dumps(policy.statements)


def test_a_role_from_outside_the_template_grants_nothing_and_says_so() -> None:
    template = Template(
        {
            "Transform": "AWS::Serverless-2016-10-31",
            "Resources": {
                "Fn": {
                    "Type": "AWS::Serverless::Function",
                    "Properties": {
                        "CodeUri": "fn/",
                        "Handler": "app.handler",
                        "Runtime": "python3.13",
                        "Role": "arn:aws:iam::123456789012:role/elsewhere",
                    },
                }
            },
        }
    )
    (policy,) = function_policies(template, static_context(template)).values()
    assert policy.grants == []
    assert "not defined in the template" in policy.problems[0]


def test_local_stand_in_arns_are_read_as_cloudformation_would_give_them(app: Template) -> None:
    context = static_context(app)
    # DynamoDB Local answers with its own region and account.
    local = "arn:aws:dynamodb:ddblocal:000000000000:table/transform-jobs-ItemsTable"
    context.attributes[("ItemsTable", "Arn")] = local
    context.attributes[("ItemsTable", "StreamArn")] = f"{local}/stream/2026-12-03T11:00:00.000"
    normal = policy_context(app, context)
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/transform-jobs-ItemsTable"
    assert normal.attributes[("ItemsTable", "Arn")] == table
    assert normal.attributes[("ItemsTable", "StreamArn")] == (
        f"{table}/stream/2026-12-03T11:00:00.000"
    )
    assert context.attributes[("ItemsTable", "Arn")] == local  # the runtime's own is untouched


def test_kms_keys_are_known_by_id_and_by_alias() -> None:
    template = load_template(ROOT / "template.yaml")
    context = static_context(template, {"DataBucketNames": "transform-jobs-data"})
    keys = kms_keys(template, context)
    arn = context.attributes[("WebhookSecretsKey", "Arn")]
    assert keys[context.refs["WebhookSecretsKey"]] == arn
    assert keys["alias/transform-jobs-WebhookSecretsKey"] == arn
