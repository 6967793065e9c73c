"""Which IAM actions a boto3 call needs, on which resource ARNs, with which condition keys.

The action is often not the operation's name, and one call may need several: each place where
they differ says so. ARNs are built as the Service Authorization Reference defines them
(https://docs.aws.amazon.com/service-authorization/latest/reference/). An operation that is not
mapped here is refused (`Unmapped`): this table must grow with the calls the service makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from .evaluate import Request


class Unmapped(Exception):
    """A call this table does not know: its action and resource cannot be derived."""


@dataclass(frozen=True)
class Caller:
    """Where the call is made, and what of the stack's resources the mapping must know."""

    account: str
    region: str
    partition: str = "aws"
    # Alias names (alias/...) and key ids of the template's KMS keys → key ARNs: a policy
    # names a key by its ARN only, whatever the call names it by.
    kms_keys: Mapping[str, str] = field(default_factory=dict)

    def arn(self, service: str, resource: str, *, account: str | None = None) -> str:
        """An ARN in this caller's partition, region and account (or `account`)."""
        return f"arn:{self.partition}:{service}:{self.region}:{account or self.account}:{resource}"

    def global_arn(self, service: str, resource: str) -> str:
        """An ARN without region or account, as S3's are."""
        return f"arn:{self.partition}:{service}:::{resource}"


# Condition keys this module can put in a request's context; a policy condition on any other
# key cannot be decided locally (evaluate.py then fails it closed).
KNOWN_KEYS = (
    "aws:SecureTransport",
    "aws:RequestedRegion",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalType",
    "aws:RequestTag/*",
    "aws:TagKeys",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "s3:x-amz-acl",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-copy-source",
    "kms:CallerAccount",
    "kms:EncryptionContext:*",
    "kms:EncryptionContextKeys",
    "kms:EncryptionAlgorithm",
    "kms:RequestAlias",
    "kms:ViaService",
    "kms:GrantIsForAWSResource",
    "dynamodb:EnclosingOperation",
    "dynamodb:ReturnValues",
    "dynamodb:Select",
    "dynamodb:ReturnConsumedCapacity",
    "events:source",
    "events:detail-type",
    "events:eventBusInvocation",
    "sagemaker:ModelArn",
    "sagemaker:InstanceTypes",
    "sagemaker:VolumeKmsKey",
    "sagemaker:OutputKmsKey",
    "sagemaker:TaggingAction",
)


def is_known_key(key: str) -> bool:
    """Condition key names are case-insensitive."""
    lowered = key.lower()
    return any(
        lowered == known.lower() or (known.endswith("*") and lowered.startswith(known[:-1].lower()))
        for known in KNOWN_KEYS
    )


Mapper = Callable[[str, Mapping[str, Any], Caller], Iterator[Request]]
_MAP: dict[tuple[str, str], Mapper] = {}


def _maps(service: str, *operations: str) -> Callable[[Mapper], Mapper]:
    def register(mapper: Mapper) -> Mapper:
        for operation in operations:
            _MAP[(service, operation)] = mapper
        return mapper

    return register


def requests_for(
    service: str, operation: str, params: Mapping[str, Any], caller: Caller
) -> list[Request]:
    """The authorizations a call needs; `service` is botocore's service name."""
    mapper = _MAP.get((service, operation))
    if mapper is None:
        raise Unmapped(f"{service}.{operation} is not mapped to IAM actions")
    return list(mapper(operation, params, caller))


def _context(**values: Any) -> dict[str, list[str]]:
    """Condition keys from keyword pairs; None leaves a key out (absent from the request)."""
    out: dict[str, list[str]] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return out


# ------------------------------------------------------------------------------ DynamoDB


def _table_arn(name: str, caller: Caller) -> str:
    # TableName takes a name or (since 2024) the table's ARN.
    return name if name.startswith("arn:") else caller.arn("dynamodb", f"table/{name}")


def _item_context(params: Mapping[str, Any], **extra: Any) -> dict[str, list[str]]:
    return _context(
        **{
            "dynamodb:ReturnValues": params.get("ReturnValues"),
            "dynamodb:Select": params.get("Select"),
            "dynamodb:ReturnConsumedCapacity": params.get("ReturnConsumedCapacity"),
        },
        **extra,
    )


@_maps(
    "dynamodb",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "DescribeTable",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "CreateTable",
    "DeleteTable",
    "UpdateTable",
)
def _dynamodb_table(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request(
        f"dynamodb:{operation}", _table_arn(str(params["TableName"]), caller), _item_context(params)
    )


@_maps("dynamodb", "Query", "Scan")
def _dynamodb_read_many(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    # With IndexName, AWS authorizes against the index's ARN (table/T/index/I), not the table's.
    table = _table_arn(str(params["TableName"]), caller)
    resource = f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table
    yield Request(f"dynamodb:{operation}", resource, _item_context(params))


@_maps("dynamodb", "BatchGetItem", "BatchWriteItem")
def _dynamodb_batch(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # The batch actions themselves (not GetItem/PutItem), once for every table in the batch.
    for table in params.get("RequestItems") or {}:
        yield Request(
            f"dynamodb:{operation}", _table_arn(str(table), caller), _item_context(params)
        )


_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@_maps("dynamodb", "TransactWriteItems", "TransactGetItems")
def _dynamodb_transaction(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    # There is no TransactWriteItems or TransactGetItems action: each item needs the action of
    # its kind (Put → PutItem, ConditionCheck → ConditionCheckItem, ...) on its own table, with
    # dynamodb:EnclosingOperation naming the transaction.
    for item in params.get("TransactItems") or []:
        for kind, action in _TRANSACT_ACTIONS.items():
            if kind in item:
                yield Request(
                    action,
                    _table_arn(str(item[kind]["TableName"]), caller),
                    _item_context(params, **{"dynamodb:EnclosingOperation": operation}),
                )


@_maps("dynamodbstreams", "DescribeStream", "GetShardIterator")
def _dynamodb_stream(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    # The streams client signs as dynamodb, and its actions are dynamodb:*.
    yield Request(f"dynamodb:{operation}", str(params["StreamArn"]))


@_maps("dynamodbstreams", "ListStreams")
def _dynamodb_list_streams(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    # The Service Authorization Reference gives ListStreams no resource type: "*".
    yield Request("dynamodb:ListStreams", "*")


# ------------------------------------------------------------------------------ S3


def _bucket(params: Mapping[str, Any], caller: Caller) -> str:
    return caller.global_arn("s3", str(params["Bucket"]))


def _object(bucket: str, key: str, caller: Caller) -> str:
    return caller.global_arn("s3", f"{bucket}/{key}")


def _object_arn(params: Mapping[str, Any], caller: Caller) -> str:
    return _object(str(params["Bucket"]), str(params["Key"]), caller)


def _copy_source(params: Mapping[str, Any]) -> tuple[str, str, str | None]:
    source = params["CopySource"]
    if isinstance(source, Mapping):
        return str(source["Bucket"]), str(source["Key"]), source.get("VersionId")
    # "bucket/key?versionId=...", URL-quoted (botocore quotes a dict CopySource this way).
    path, _, query = str(source).lstrip("/").partition("?versionId=")
    bucket, _, key = unquote(path).partition("/")
    return bucket, key, query or None


def _kms_via_s3(
    params: Mapping[str, Any], caller: Caller, action: str, object_arn: str
) -> Iterator[Request]:
    """An upload that asks for SSE-KMS: S3 calls KMS as the caller, so the caller needs the key
    action too, seen by KMS with kms:ViaService s3 and the object as encryption context."""
    if params.get("ServerSideEncryption") != "aws:kms":
        return
    key = params.get("SSEKMSKeyId")
    resource = _key_arn(str(key), caller) if key else caller.arn("kms", "alias/aws/s3")
    yield Request(
        action,
        resource,
        _context(
            **{
                "kms:ViaService": f"s3.{caller.region}.amazonaws.com",
                "kms:CallerAccount": caller.account,
                "kms:EncryptionContext:aws:s3:arn": object_arn,
                "kms:EncryptionContextKeys": ["aws:s3:arn"],
            }
        ),
    )


def _put_context(params: Mapping[str, Any]) -> dict[str, list[str]]:
    return _context(
        **{
            "s3:x-amz-acl": params.get("ACL"),
            "s3:x-amz-server-side-encryption": params.get("ServerSideEncryption"),
            "s3:x-amz-server-side-encryption-aws-kms-key-id": params.get("SSEKMSKeyId"),
        }
    )


@_maps("s3", "PutObject", "CreateMultipartUpload")
def _s3_put(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # CreateMultipartUpload needs s3:PutObject (there is no multipart action to start one); an
    # ACL or tags sent along need their own actions too.
    arn = _object_arn(params, caller)
    yield Request("s3:PutObject", arn, _put_context(params))
    if any(params.get(name) for name in ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP")):
        yield Request("s3:PutObjectAcl", arn, _put_context(params))
    if params.get("Tagging"):
        yield Request("s3:PutObjectTagging", arn)
    yield from _kms_via_s3(params, caller, "kms:GenerateDataKey", arn)


@_maps("s3", "UploadPart", "CompleteMultipartUpload")
def _s3_parts(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # Uploading and completing parts are s3:PutObject on the object.
    yield Request("s3:PutObject", _object_arn(params, caller))


@_maps("s3", "UploadPartCopy", "CopyObject")
def _s3_copy(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # A copy reads the source (s3:GetObject, or GetObjectVersion for a version) and writes the
    # destination (s3:PutObject).
    bucket, key, version = _copy_source(params)
    source = _object(bucket, key, caller)
    yield Request("s3:GetObjectVersion" if version else "s3:GetObject", source)
    destination = _object_arn(params, caller)
    yield Request(
        "s3:PutObject",
        destination,
        {**_put_context(params), "s3:x-amz-copy-source": [f"{bucket}/{key}"]},
    )


@_maps("s3", "GetObject", "HeadObject")
def _s3_get(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # HEAD is s3:GetObject; with a VersionId both need s3:GetObjectVersion instead.
    action = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
    yield Request(action, _object_arn(params, caller))


@_maps("s3", "DeleteObject")
def _s3_delete(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    action = "s3:DeleteObjectVersion" if params.get("VersionId") else "s3:DeleteObject"
    yield Request(action, _object_arn(params, caller))


@_maps("s3", "DeleteObjects")
def _s3_delete_many(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # There is no s3:DeleteObjects action: s3:DeleteObject (or DeleteObjectVersion) per key.
    for entry in (params.get("Delete") or {}).get("Objects") or []:
        action = "s3:DeleteObjectVersion" if entry.get("VersionId") else "s3:DeleteObject"
        yield Request(action, _object(str(params["Bucket"]), str(entry["Key"]), caller))


@_maps("s3", "AbortMultipartUpload")
def _s3_abort(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request("s3:AbortMultipartUpload", _object_arn(params, caller))


@_maps("s3", "ListParts")
def _s3_list_parts(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request("s3:ListMultipartUploadParts", _object_arn(params, caller))


@_maps("s3", "ListMultipartUploads")
def _s3_list_uploads(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    yield Request("s3:ListBucketMultipartUploads", _bucket(params, caller))


@_maps("s3", "ListObjectsV2", "ListObjects", "HeadBucket")
def _s3_list(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # Listing (v1 or v2) and HEAD on a bucket are s3:ListBucket on the bucket's ARN. s3:prefix
    # is in the request only when a Prefix is sent (an empty one included).
    yield Request(
        "s3:ListBucket",
        _bucket(params, caller),
        _context(
            **{
                "s3:prefix": params.get("Prefix"),
                "s3:delimiter": params.get("Delimiter"),
                "s3:max-keys": params.get("MaxKeys"),
            }
        ),
    )


@_maps("s3", "GetBucketLocation")
def _s3_location(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request("s3:GetBucketLocation", _bucket(params, caller))


@_maps("s3", "CreateBucket")
def _s3_create_bucket(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    yield Request("s3:CreateBucket", _bucket(params, caller))


# ------------------------------------------------------------------------------ SQS

_QUEUE_PATH = re.compile(r"^/(?P<account>[^/]+)/(?P<name>[^/]+)/?$")


def _queue_arn(url: str, caller: Caller) -> str:
    match = _QUEUE_PATH.match(urlparse(url).path)
    if match is None:
        raise Unmapped(f"{url!r} is not a queue URL")
    return caller.arn("sqs", match["name"], account=match["account"])


_SQS_ACTIONS = {
    # The batch operations have no actions of their own: the singular action covers them.
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "SetQueueAttributes": "sqs:SetQueueAttributes",
    "PurgeQueue": "sqs:PurgeQueue",
    "DeleteQueue": "sqs:DeleteQueue",
}


@_maps("sqs", *_SQS_ACTIONS)
def _sqs(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request(_SQS_ACTIONS[operation], _queue_arn(str(params["QueueUrl"]), caller))


@_maps("sqs", "GetQueueUrl", "CreateQueue")
def _sqs_by_name(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    owner = params.get("QueueOwnerAWSAccountId")
    yield Request(f"sqs:{operation}", caller.arn("sqs", str(params["QueueName"]), account=owner))


# ------------------------------------------------------------------------------ EventBridge


@_maps("events", "PutEvents")
def _events_put(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # One authorization per entry, on the entry's bus (default when unnamed), with its source
    # and detail-type as condition keys.
    for entry in params.get("Entries") or []:
        bus = str(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else caller.arn("events", f"event-bus/{bus}")
        yield Request(
            "events:PutEvents",
            arn,
            _context(
                **{
                    "events:source": entry.get("Source"),
                    "events:detail-type": entry.get("DetailType"),
                    "events:eventBusInvocation": "false",
                }
            ),
        )


# ------------------------------------------------------------------------------ KMS

_KEY_ID = re.compile(r"^(mrk-)?[0-9a-f-]{32,}$")


def _key_arn(key_id: str, caller: Caller) -> str:
    """A policy names a key by its ARN only: ids and aliases are resolved to it."""
    if key_id in caller.kms_keys:
        return caller.kms_keys[key_id]
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    alias = key_id.split(":", 5)[-1] if key_id.startswith("arn:") else key_id
    if alias in caller.kms_keys:
        return caller.kms_keys[alias]
    if alias.startswith("alias/"):
        return caller.arn("kms", alias)  # an alias we do not know: no policy can name it
    return caller.arn("kms", f"key/{key_id}")


def _key_from_ciphertext(blob: Any) -> str | None:
    """Decrypt may leave KeyId out: KMS reads the key from the ciphertext. The local KMS writes
    the key id in the first 36 bytes (moto's format; AWS's own format is not public)."""
    if isinstance(blob, bytes | bytearray) and len(blob) >= 36:
        head = bytes(blob[:36]).decode("ascii", "replace")
        if _KEY_ID.match(head):
            return head
    return None


def _kms_context(params: Mapping[str, Any], caller: Caller) -> dict[str, list[str]]:
    context = _context(
        **{
            "kms:CallerAccount": caller.account,
            "kms:EncryptionAlgorithm": params.get("EncryptionAlgorithm"),
        }
    )
    encryption_context = params.get("EncryptionContext") or {}
    for name, value in encryption_context.items():
        context[f"kms:EncryptionContext:{name}"] = [str(value)]
    if encryption_context:
        context["kms:EncryptionContextKeys"] = [str(name) for name in encryption_context]
    key_id = str(params.get("KeyId") or "")
    if "alias/" in key_id:
        context["kms:RequestAlias"] = [key_id.split(":", 5)[-1]]
    return context


@_maps(
    "kms",
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
    "CreateGrant",
)
def _kms(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    key_id = params.get("KeyId")
    if not key_id and operation == "Decrypt":
        key_id = _key_from_ciphertext(params.get("CiphertextBlob"))
    if not key_id:
        raise Unmapped(f"kms.{operation}: no key named and none found in the ciphertext")
    context = _kms_context(params, caller)
    if operation == "CreateGrant":
        context["kms:GrantIsForAWSResource"] = ["false"]  # the function's own call
    yield Request(f"kms:{operation}", _key_arn(str(key_id), caller), context)


# ------------------------------------------------------------------------------ SageMaker


def _tag_context(tags: Any) -> dict[str, list[str]]:
    context = {f"aws:RequestTag/{t['Key']}": [str(t.get("Value", ""))] for t in tags or []}
    if tags:
        context["aws:TagKeys"] = [str(t["Key"]) for t in tags]
    return context


@_maps("sagemaker", "CreateTransformJob")
def _sagemaker_create_transform_job(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    # Creating with Tags also needs sagemaker:AddTags on the new job (the Service Authorization
    # Reference lists it as CreateTransformJob's dependent action).
    arn = caller.arn("sagemaker", f"transform-job/{params['TransformJobName']}")
    resources = params.get("TransformResources") or {}
    output = params.get("TransformOutput") or {}
    context = _context(
        **{
            "sagemaker:ModelArn": caller.arn("sagemaker", f"model/{params.get('ModelName')}"),
            "sagemaker:InstanceTypes": [resources["InstanceType"]]
            if resources.get("InstanceType")
            else None,
            "sagemaker:VolumeKmsKey": resources.get("VolumeKmsKeyId"),
            "sagemaker:OutputKmsKey": output.get("KmsKeyId"),
        }
    )
    tags = _tag_context(params.get("Tags"))
    yield Request("sagemaker:CreateTransformJob", arn, {**context, **tags})
    if params.get("Tags"):
        yield Request(
            "sagemaker:AddTags", arn, {**tags, "sagemaker:TaggingAction": ["CreateTransformJob"]}
        )


@_maps("sagemaker", "DescribeTransformJob", "StopTransformJob")
def _sagemaker_transform_job(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    yield Request(
        f"sagemaker:{operation}",
        caller.arn("sagemaker", f"transform-job/{params['TransformJobName']}"),
    )


@_maps("sagemaker", "DescribeModel", "DeleteModel")
def _sagemaker_model(
    operation: str, params: Mapping[str, Any], caller: Caller
) -> Iterator[Request]:
    yield Request(f"sagemaker:{operation}", caller.arn("sagemaker", f"model/{params['ModelName']}"))


@_maps("sagemaker", "ListTransformJobs", "ListModels")
def _sagemaker_list(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # List calls take no resource-level permissions: "*".
    yield Request(f"sagemaker:{operation}", "*")


@_maps("sagemaker", "AddTags", "ListTags", "DeleteTags")
def _sagemaker_tags(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    yield Request(
        f"sagemaker:{operation}", str(params["ResourceArn"]), _tag_context(params.get("Tags"))
    )


# ------------------------------------------------------------------------------ STS


@_maps("sts", "GetCallerIdentity")
def _sts_identity(operation: str, params: Mapping[str, Any], caller: Caller) -> Iterator[Request]:
    # Needs no permission, and an explicit Deny does not stop it.
    return iter(())
