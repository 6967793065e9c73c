"""Each function's execution role and its policy statements, derived from template.yaml as
CloudFormation would derive them.

SAM's own translator (samtranslator, offline) turns the template into CloudFormation: it gives
every function without a Role its generated role, expands the policy templates
(DynamoDBCrudPolicy, SQSSendMessagePolicy, ...) into statements and adds what SAM adds on its
own (managed policies for event sources, destination policies). The statements' intrinsics are
then resolved against the stack's resources (local/runtime/template.py). AWS managed policies
are not in the template: the few SAM attaches are written out below.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from local.iam.evaluate import Request
from local.runtime.template import Context, Template, TemplateError, resolve

log = logging.getLogger(__name__)

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
METADATA_KEY = "iam-report"

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# The AWS managed policies SAM attaches to the roles it generates, as AWS publishes them
# (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html).
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": _LOGS, "Resource": "*"}
    ],
    "service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                *_LOGS,
            ],
            "Resource": "*",
        }
    ],
    "AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
}


class PolicyError(TemplateError):
    """The template's roles cannot be derived."""


@dataclass(frozen=True)
class Grant:
    """One statement of a function's role, and where it comes from (the policy template, an
    inline statement, a managed policy)."""

    source: str
    statement: dict[str, Any]
    managed: bool = False


@dataclass(frozen=True)
class FunctionPolicy:
    logical_id: str
    function_name: str
    role_name: str
    role_arn: str
    principal: str
    grants: list[Grant]
    # Metadata: iam-report: {unused: [{Action, Resource?, Reason}]}
    report_notes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # What Lambda itself does with the role for the function's event sources and destinations.
    service_requests: list[tuple[str, Request]] = field(default_factory=list)

    @property
    def statements(self) -> list[dict[str, Any]]:
        return [grant.statement for grant in self.grants]

    def summary(self) -> dict[str, Any]:
        """The role as the report reads it."""
        return {
            "function": self.function_name,
            "role": self.role_name,
            "grants": [
                {"source": g.source, "managed": g.managed, "statement": g.statement}
                for g in self.grants
            ],
            "problems": self.problems,
        }

    def document(self, context: Context, *, mode: str, kms_keys: Mapping[str, str]) -> str:
        """What the function's worker reads (hook.py)."""
        return json.dumps(
            {
                "function": self.function_name,
                "logical_id": self.logical_id,
                "principal": self.principal,
                "role_arn": self.role_arn,
                "account": context.account_id,
                "region": context.region,
                "partition": context.partition,
                "mode": mode,
                "kms_keys": dict(kms_keys),
                "statements": self.statements,
            },
            indent=1,
        )


# ------------------------------------------------------------------------------ translating


def translate(template: Template, context: Context) -> dict[str, Any]:
    """The template as CloudFormation sees it after the SAM transform, without calling AWS."""
    document = copy.deepcopy(template.document)
    for resource in (document.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        # The transform wants code in S3; where it lies does not change a role.
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://local/{properties[key]}"
    parameters: dict[str, Any] = {
        name: ",".join(value) if isinstance(value, list) else value
        for name, value in context.parameters.items()
    }
    parameters.update(
        {
            "AWS::Region": context.region,
            "AWS::AccountId": context.account_id,
            "AWS::Partition": context.partition,
            "AWS::StackName": context.stack_name,
        }
    )
    # The translator only asks the session for its region; no AWS call is made.
    session = cast(Any, SimpleNamespace(region_name=context.region))
    translator = Translator(None, Parser(), boto_session=session)
    quiet = logging.getLogger("samtranslator")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns about feature toggles it has no config for
    try:
        translated: dict[str, Any] = translator.translate(
            document, parameters, get_managed_policy_map=dict
        )
    except Exception as error:  # the translator's own exceptions carry the reasons
        raise PolicyError(f"the SAM transform of the template failed: {error}") from error
    finally:
        translator.metrics.publish()  # to its dummy publisher: nothing is sent anywhere
        quiet.setLevel(level)
    return translated


def policy_context(template: Template, context: Context) -> Context:
    """`context` with the ARNs CloudFormation would give: a local stand-in may answer with its
    own region and account (DynamoDB Local says ddblocal:000000000000)."""
    attributes = dict(context.attributes)
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != "AWS::DynamoDB::Table" or logical_id not in context.refs:
            continue
        table = (
            f"arn:{context.partition}:dynamodb:{context.region}:{context.account_id}:"
            f"table/{context.refs[logical_id]}"
        )
        attributes[(logical_id, "Arn")] = table
        stream = context.attributes.get((logical_id, "StreamArn"))
        if stream:
            attributes[(logical_id, "StreamArn")] = f"{table}/stream/{stream.rsplit('/', 1)[-1]}"
    return replace(context, attributes=attributes)


def kms_keys(template: Template, context: Context) -> dict[str, str]:
    """Key ids and alias names of the template's KMS keys → key ARNs."""
    keys: dict[str, str] = {}
    for logical_id, resource in template.resources.items():
        if resource.get("Type") == "AWS::KMS::Key" and (logical_id, "Arn") in context.attributes:
            arn = context.attributes[(logical_id, "Arn")]
            keys[context.refs[logical_id]] = arn
            # The alias local/runtime/resources.py finds the key by.
            keys[f"alias/{context.stack_name}-{logical_id}"] = arn
    for resource in template.resources.values():
        if resource.get("Type") == "AWS::KMS::Alias":
            properties = resolve(resource.get("Properties") or {}, context)
            target = str(properties.get("TargetKeyId", ""))
            arn = keys.get(target, target)
            keys[str(properties.get("AliasName"))] = arn
    return keys


def static_context(template: Template, parameters: Mapping[str, Any] | None = None) -> Context:
    """A context with the names and ARNs CloudFormation would give the stack's resources, for
    reading the policies without a running stack (the report, the policy lint)."""
    context = template.context(parameters=parameters)

    def arn(service: str, resource: str) -> str:
        return f"arn:{context.partition}:{service}:{context.region}:{context.account_id}:{resource}"

    for logical_id, resource in template.resources.items():
        kind = str(resource.get("Type", ""))
        name = f"{context.stack_name}-{logical_id}"
        properties = resource.get("Properties") or {}
        if kind == "AWS::DynamoDB::Table":
            table = arn("dynamodb", f"table/{name}")
            context.attributes[(logical_id, "Arn")] = table
            context.attributes[(logical_id, "StreamArn")] = (
                f"{table}/stream/1970-01-01T00:00:00.000"
            )
        elif kind == "AWS::SQS::Queue":
            queue = str(properties.get("QueueName") or name)
            context.attributes[(logical_id, "Arn")] = arn("sqs", queue)
            context.attributes[(logical_id, "QueueName")] = queue
            name = f"https://sqs.{context.region}.amazonaws.com/{context.account_id}/{queue}"
            context.attributes[(logical_id, "QueueUrl")] = name
        elif kind == "AWS::S3::Bucket":
            name = name.lower()
            context.attributes[(logical_id, "Arn")] = f"arn:{context.partition}:s3:::{name}"
        elif kind == "AWS::KMS::Key":
            name = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
            context.attributes[(logical_id, "Arn")] = arn("kms", f"key/{name}")
            context.attributes[(logical_id, "KeyId")] = name
        else:
            service = kind.split("::")[1].lower() if kind.count("::") == 2 else "local"
            context.attributes[(logical_id, "Arn")] = arn(service, name)
        context.refs[logical_id] = name
    return context


# ------------------------------------------------------------------------------ roles


def function_policies(template: Template, context: Context) -> dict[str, FunctionPolicy]:
    """Every function's role and statements, by logical id, resolved against `context`."""
    translated = translate(template, context)
    resources: dict[str, Any] = translated.get("Resources") or {}
    resolving = policy_context(template, context)
    resolving = replace(
        resolving, conditions={**resolving.conditions, **(translated.get("Conditions") or {})}
    )
    policies: dict[str, FunctionPolicy] = {}
    for logical_id, resource in template.resources.items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        function = resources.get(logical_id) or {}
        policies[logical_id] = _function_policy(
            logical_id, resource, function, resources, resolving
        )
    return policies


def _function_policy(
    logical_id: str,
    sam_resource: Mapping[str, Any],
    function: Mapping[str, Any],
    resources: Mapping[str, Any],
    context: Context,
) -> FunctionPolicy:
    name = str(context.refs.get(logical_id, logical_id))
    role = (function.get("Properties") or {}).get("Role")
    problems: list[str] = []
    grants: list[Grant] = []
    role_id = None
    if isinstance(role, dict) and "Fn::GetAtt" in role:
        role_id = str(role["Fn::GetAtt"][0])
    if role_id is None or role_id not in resources:
        problems.append(
            f"{logical_id}: its role ({role!r}) is not defined in the template, so its "
            "permissions are unknown here: every call it makes is denied"
        )
        role_name = f"{context.stack_name}-{logical_id}Role"
    else:
        role_properties = resolve(resources[role_id].get("Properties") or {}, context)
        role_name = str(role_properties.get("RoleName") or f"{context.stack_name}-{role_id}")
        labels = _policy_labels(logical_id, sam_resource)
        for policy in role_properties.get("Policies") or []:
            label = labels.get(str(policy.get("PolicyName")), str(policy.get("PolicyName")))
            grants += _grants(label, policy.get("PolicyDocument") or {})
        for arn in role_properties.get("ManagedPolicyArns") or []:
            grants += _managed_grants(str(arn), problems)
        grants += _attached_policies(role_id, resources, context)
    for problem in problems:
        log.warning("%s", problem)
    properties = sam_resource.get("Properties") or {}
    service_requests = lambda_service_requests(
        resolve(properties.get("Events") or {}, context),
        resolve(properties.get("EventInvokeConfig") or {}, context),
    )
    metadata = sam_resource.get("Metadata") or {}
    notes = list((metadata.get(METADATA_KEY) or {}).get("unused") or [])
    return FunctionPolicy(
        logical_id=logical_id,
        function_name=name,
        role_name=role_name,
        role_arn=f"arn:{context.partition}:iam::{context.account_id}:role/{role_name}",
        principal=(
            f"arn:{context.partition}:sts::{context.account_id}:assumed-role/{role_name}/{name}"
        ),
        grants=grants,
        report_notes=notes,
        problems=problems,
        service_requests=service_requests,
    )


_DESTINATION_ACTIONS = {
    ":sqs:": "sqs:SendMessage",
    ":sns:": "sns:Publish",
    ":lambda:": "lambda:InvokeFunction",
    ":events:": "events:PutEvents",
    ":s3:": "s3:PutObject",
}


def _destination(what: str, arn: str) -> list[tuple[str, Request]]:
    for marker, action in _DESTINATION_ACTIONS.items():
        if marker in arn:
            return [(what, Request(action, arn))]
    return []


def lambda_service_requests(
    events: Mapping[str, Any], invoke_config: Mapping[str, Any]
) -> list[tuple[str, Request]]:
    """The calls Lambda makes with the function's role: polling its SQS queues and streams, and
    sending to its destinations. (CloudFormation fails an event source mapping whose role lacks
    them.)"""
    requests: list[tuple[str, Request]] = []
    for name, event in events.items():
        properties = event.get("Properties") or {}
        what = f"event source {name}"
        if event.get("Type") == "SQS":
            queue = str(properties["Queue"])
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                requests.append((what, Request(action, queue)))
        elif event.get("Type") in {"DynamoDB", "Kinesis"}:
            stream = str(properties["Stream"])
            for action in ("DescribeStream", "GetRecords", "GetShardIterator"):
                requests.append((what, Request(f"dynamodb:{action}", stream)))
            # No resource type in the Service Authorization Reference: "*".
            requests.append((what, Request("dynamodb:ListStreams", "*")))
        destination = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
        if destination.get("Destination"):
            requests += _destination(f"{what} on-failure destination", destination["Destination"])
    for outcome in ("OnFailure", "OnSuccess"):
        destination = (invoke_config.get("DestinationConfig") or {}).get(outcome) or {}
        if destination.get("Destination"):
            requests += _destination(f"{outcome} destination", str(destination["Destination"]))
    return requests


def _policy_labels(logical_id: str, sam_resource: Mapping[str, Any]) -> dict[str, str]:
    """Generated policy name → what the template wrote: SAM names the n-th entry of Policies
    <Function>RolePolicy<n>."""
    labels = {}
    entries = (sam_resource.get("Properties") or {}).get("Policies") or []
    if isinstance(entries, dict | str):
        entries = [entries]
    for position, entry in enumerate(entries):
        if isinstance(entry, dict) and len(entry) == 1 and "Statement" not in entry:
            kind = next(iter(entry))  # a policy template such as SQSSendMessagePolicy
        else:
            kind = "inline statements"
        labels[f"{logical_id}RolePolicy{position}"] = kind
    return labels


def _grants(source: str, document: Mapping[str, Any], *, managed: bool = False) -> list[Grant]:
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    return [Grant(source, dict(statement), managed) for statement in statements]


def _managed_grants(arn: str, problems: list[str]) -> list[Grant]:
    name = arn.split(":policy/", 1)[-1]
    statements = MANAGED_POLICIES.get(name)
    if statements is None:
        problems.append(f"managed policy {arn} is not known locally: it grants nothing here")
        return []
    return _grants(f"managed policy {name}", {"Statement": statements}, managed=True)


def _attached_policies(role_id: str, resources: Mapping[str, Any], context: Context) -> list[Grant]:
    """AWS::IAM::Policy and ManagedPolicy resources that name the role."""
    grants: list[Grant] = []
    for policy_id, resource in resources.items():
        if resource.get("Type") not in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            continue
        roles = (resource.get("Properties") or {}).get("Roles") or []
        if {"Ref": role_id} in roles:
            properties = resolve(resource.get("Properties") or {}, context)
            grants += _grants(policy_id, properties.get("PolicyDocument") or {})
    return grants


def write_policy_files(
    policies: Mapping[str, FunctionPolicy],
    directory: Path,
    context: Context,
    *,
    mode: str,
    keys: Mapping[str, str],
) -> dict[str, Path]:
    """One JSON file per function for its worker; logical id → path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for logical_id, policy in policies.items():
        path = directory / f"{logical_id}.json"
        path.write_text(policy.document(context, mode=mode, kms_keys=keys) + "\n")
        paths[logical_id] = path
    return paths
