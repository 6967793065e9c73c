"""Creates template.yaml's tables, queues, buckets and KMS keys on local endpoints, as
CloudFormation would.

`create_resources` is idempotent: a table, queue or bucket that already exists is kept (a
queue's attributes are brought up to date), so a restarted local stack finds its data again.
Resource types it does not create get a placeholder name and ARN so intrinsics that mention
them (a log group's Ref, a function's Arn) still resolve.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.runtime.template import Context, Template, TemplateError, references, resolve

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
KMS_KEY = "AWS::KMS::Key"
CREATED_TYPES = (TABLE, QUEUE, BUCKET, KMS_KEY)

# SQS queue properties (CloudFormation name → SetQueueAttributes name) the local runtime applies.
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
}


def physical_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def bucket_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id.lower()}"


def creation_order(template: Template) -> list[str]:
    """The tables, queues and buckets, each after the resources its properties refer to."""
    wanted = {
        logical_id: references(resource.get("Properties") or {}) & set(template.resources)
        for logical_id, resource in template.resources.items()
        if resource.get("Type") in CREATED_TYPES
    }
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular dependency through {logical_id}")
        visiting.add(logical_id)
        for dependency in sorted(wanted[logical_id]):
            if dependency in wanted:
                visit(dependency)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in wanted:
        visit(logical_id)
    return order


def create_resources(
    template: Template,
    *,
    endpoints: Mapping[str, str],
    credentials: Mapping[str, str],
    region: str,
    stack_name: str,
    parameters: Mapping[str, Any] | None = None,
    account_id: str = "123456789012",
) -> Context:
    """Creates (or finds) every table, queue and bucket; returns the Context to resolve with."""
    context = template.context(
        parameters=parameters, region=region, account_id=account_id, stack_name=stack_name
    )
    _add_placeholders(template, context)
    clients = _Clients(endpoints, credentials, region)
    # KMS keys first, in template order: the local KMS gives the n-th key of a run the same id
    # and material at every start (local/stack/moto_server.py), so the order must not vary.
    ordered = creation_order(template)
    ordered.sort(key=lambda logical_id: template.resources[logical_id]["Type"] != KMS_KEY)
    for logical_id in ordered:
        resource = template.resources[logical_id]
        properties = resolve(resource.get("Properties") or {}, context)
        kind = resource["Type"]
        if kind == TABLE:
            _create_table(clients, context, logical_id, properties)
        elif kind == QUEUE:
            _create_queue(clients, context, logical_id, properties)
        elif kind == KMS_KEY:
            _create_key(clients, context, logical_id, properties)
        else:
            _create_bucket(clients, context, logical_id)
    return context


class _Clients:
    def __init__(self, endpoints: Mapping[str, str], credentials: Mapping[str, str], region: str):
        self.endpoints = endpoints
        self.credentials = credentials
        self.region = region

    def _endpoint(self, service: str) -> str:
        try:
            return self.endpoints[service]
        except KeyError:
            raise TemplateError(f"no local endpoint for {service}") from None

    def _kwargs(self, service: str) -> dict[str, Any]:
        return {
            "endpoint_url": self._endpoint(service),
            "region_name": self.region,
            "aws_access_key_id": self.credentials.get("aws_access_key_id", "local"),
            "aws_secret_access_key": self.credentials.get("aws_secret_access_key", "local"),
            "aws_session_token": self.credentials.get("aws_session_token"),
        }

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", **self._kwargs("dynamodb"))

    def sqs(self) -> Any:
        return boto3.client("sqs", **self._kwargs("sqs"))

    def s3(self) -> Any:
        return boto3.client("s3", **self._kwargs("s3"))

    def kms(self) -> Any:
        return boto3.client("kms", **self._kwargs("kms"))


def _add_placeholders(template: Template, context: Context) -> None:
    for logical_id, resource in template.resources.items():
        kind = str(resource.get("Type", ""))
        if kind in CREATED_TYPES:
            continue
        name = physical_name(context.stack_name, logical_id)
        service = kind.split("::")[1].lower() if kind.count("::") >= 2 else "local"
        if kind == "AWS::Serverless::Function":
            service, name_arn = "lambda", f"function:{name}"
        else:
            name_arn = name
        context.refs[logical_id] = name
        context.attributes[(logical_id, "Arn")] = (
            f"arn:{context.partition}:{service}:{context.region}:{context.account_id}:{name_arn}"
        )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _create_table(
    clients: _Clients, context: Context, logical_id: str, properties: dict[str, Any]
) -> None:
    ddb = clients.dynamodb()
    name = physical_name(context.stack_name, logical_id)
    try:
        ddb.describe_table(TableName=name)
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
            for index in properties.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        local_indexes = properties.get("LocalSecondaryIndexes")
        if local_indexes:
            request["LocalSecondaryIndexes"] = local_indexes
        stream = properties.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        try:
            ddb.create_table(**request)
        except ClientError as create_error:
            if _error_code(create_error) != "ResourceInUseException":
                raise
        ddb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    _add_new_indexes(ddb, name, properties)
    ttl = properties.get("TimeToLiveSpecification") or {}
    if str(ttl.get("Enabled", "false")).lower() == "true":
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
    table = ddb.describe_table(TableName=name)["Table"]
    context.refs[logical_id] = name
    context.attributes[(logical_id, "Arn")] = str(table["TableArn"])
    if table.get("LatestStreamArn"):
        context.attributes[(logical_id, "StreamArn")] = str(table["LatestStreamArn"])


def _add_new_indexes(ddb: Any, name: str, properties: dict[str, Any]) -> None:
    """A table kept from an earlier version of the template gets the indexes added since, as a
    CloudFormation update would add them (one at a time, each waited for until ACTIVE)."""
    table = ddb.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in properties.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        ddb.update_table(
            TableName=name,
            AttributeDefinitions=properties["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[
                {"Create": {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}}
            ],
        )
        for _ in range(120):
            described = ddb.describe_table(TableName=name)["Table"]
            statuses = {
                found["IndexName"]: found.get("IndexStatus")
                for found in described.get("GlobalSecondaryIndexes", [])
            }
            if statuses.get(index["IndexName"]) == "ACTIVE":
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"index {index['IndexName']} of {name} did not become ACTIVE")


def _create_queue(
    clients: _Clients, context: Context, logical_id: str, properties: dict[str, Any]
) -> None:
    sqs = clients.sqs()
    fifo = str(properties.get("FifoQueue", "false")).lower() == "true"
    name = str(properties.get("QueueName") or physical_name(context.stack_name, logical_id))
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes = {
        target: str(properties[source])
        for source, target in _QUEUE_ATTRIBUTES.items()
        if source in properties
    }
    redrive = properties.get("RedrivePolicy")
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": str(redrive["deadLetterTargetArn"]),
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
        )
    try:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as error:
        if _error_code(error) not in {
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        }:
            raise
        create_attributes = dict(attributes)
        if fifo:
            create_attributes["FifoQueue"] = "true"
        url = str(sqs.create_queue(QueueName=name, Attributes=create_attributes)["QueueUrl"])
    else:
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    context.refs[logical_id] = url
    context.attributes[(logical_id, "Arn")] = str(arn["QueueArn"])
    context.attributes[(logical_id, "QueueName")] = name
    context.attributes[(logical_id, "QueueUrl")] = url


def _create_bucket(clients: _Clients, context: Context, logical_id: str) -> None:
    s3 = clients.s3()
    name = bucket_name(context.stack_name, logical_id)
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as error:
        if _error_code(error) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        request: dict[str, Any] = {"Bucket": name}
        if context.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": context.region}
        try:
            s3.create_bucket(**request)
        except ClientError as create_error:
            if _error_code(create_error) != "BucketAlreadyOwnedByYou":
                raise
    context.refs[logical_id] = name
    context.attributes[(logical_id, "Arn")] = f"arn:{context.partition}:s3:::{name}"
    context.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
    context.attributes[(logical_id, "RegionalDomainName")] = (
        f"{name}.s3.{context.region}.amazonaws.com"
    )


def _create_key(
    clients: _Clients, context: Context, logical_id: str, properties: dict[str, Any]
) -> None:
    """A symmetric key, found again through an alias named after the stack and logical id."""
    kms = clients.kms()
    alias = f"alias/{physical_name(context.stack_name, logical_id)}"
    try:
        metadata = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise
        metadata = kms.create_key(
            Description=str(properties.get("Description", logical_id)),
            KeyUsage=str(properties.get("KeyUsage", "ENCRYPT_DECRYPT")),
            KeySpec=str(properties.get("KeySpec", "SYMMETRIC_DEFAULT")),
        )["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
    context.refs[logical_id] = str(metadata["KeyId"])
    context.attributes[(logical_id, "Arn")] = str(metadata["Arn"])
    context.attributes[(logical_id, "KeyId")] = str(metadata["KeyId"])
