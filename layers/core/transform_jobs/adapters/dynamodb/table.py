"""The service's DynamoDB table: its lazily made client, item (de)serialisation and page tokens.

Shared by the repositories (repository for jobs, teams and keys; webhook_repository for
subscriptions and deliveries); only api_key_repository, the authorizer's one GetItem, keeps a
client of its own (without boto3).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer
from botocore.exceptions import ClientError

from transform_jobs.adapters import aws_clients
from transform_jobs.adapters.dynamodb.dynamodb_values import serialize
from transform_jobs.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Powertools' copy of boto3's deserializer (DynamoDB numbers as Decimal), which importing
# boto3.dynamodb.types would load all of boto3 for.
_deserializer = TypeDeserializer()


class InvalidPageToken(ValueError):
    """The NextToken was not one this service issued for this listing."""


def client() -> DynamoDBClient:
    return cast("DynamoDBClient", aws_clients.client("dynamodb"))


def name() -> str:
    return get_settings().table_name


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the models want ints."""
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [plain(inner) for inner in value]
    if type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else float(value)
    return value


def encode_page_token(key: dict[str, str], scope: str) -> str:
    """An opaque NextToken: where the next page starts, tied to the listing (`scope`)."""
    text = json.dumps({**key, "F": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode_page_token(token: str, scope: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The start key in a NextToken; InvalidPageToken if it is not one of ours for `scope`."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidPageToken from None
    if (
        not isinstance(state, dict)
        or set(state) != {*keys, "F"}
        or not all(isinstance(value, str) and value for value in state.values())
        or state.pop("F") != scope
    ):
        raise InvalidPageToken
    return state


# --- items with a Version: the repositories' shared reads and optimistic writes ---------------

_MAX_OPTIMISTIC_RETRIES = 8


class Versioned(Protocol):
    Version: int

    @classmethod
    def model_validate(cls, obj: Any) -> Any: ...

    def model_copy(self, *, deep: bool = False) -> Any: ...


Stored = TypeVar("Stored", bound=Versioned)


def model_of(kind: type[Stored], item: dict[str, Any]) -> Stored:
    return cast("Stored", kind.model_validate(plain(from_item(item))))


def put_new(item: dict[str, Any]) -> bool:
    """Stores a new item; False if one with its key exists."""
    try:
        client().put_item(
            TableName=name(), Item=item, ConditionExpression="attribute_not_exists(PK)"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get(key: dict[str, str]) -> dict[str, Any] | None:
    reply = client().get_item(TableName=name(), Key=to_item(key), ConsistentRead=True)
    return reply.get("Item")


def versioned_update(
    kind: type[Stored],
    key: dict[str, str],
    to_write: Callable[[Stored], dict[str, Any]],
    decide: Callable[[Stored], Stored | None],
    conflict: Callable[[str], Exception],
) -> Stored | None:
    """Read, decide, write only if nobody wrote in between (else again, on the fresh item).
    None when there is no item or `decide` changes nothing; `conflict` after too many tries."""
    for _ in range(_MAX_OPTIMISTIC_RETRIES):
        item = get(key)
        if item is None:
            return None
        current = model_of(kind, item)
        changed = decide(current.model_copy(deep=True))
        if changed is None:
            return None
        changed.Version = current.Version + 1
        try:
            client().put_item(
                TableName=name(),
                Item=to_write(changed),
                ConditionExpression="Version = :version",
                ExpressionAttributeValues=to_item({":version": current.Version}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue
            raise
        return changed
    raise conflict(f"{key['SK']} kept changing; try again")


def page(
    kind: type[Stored], pk: str, prefix: str, *, limit: int, token: str | None, newest_first: bool
) -> tuple[list[Stored], str | None]:
    """One page of the items under `pk` whose sort key starts with `prefix`."""
    scope = f"{pk}/{prefix}"
    kwargs: dict[str, Any] = {
        "TableName": name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": prefix}),
        "ScanIndexForward": not newest_first,
        "Limit": limit,
        "ConsistentRead": True,
    }
    if token:
        start = decode_page_token(token, scope, ("PK", "SK"))
        if start["PK"] != pk:
            raise InvalidPageToken
        kwargs["ExclusiveStartKey"] = to_item(start)
    reply = client().query(**kwargs)
    items = [model_of(kind, item) for item in reply["Items"]]
    last = reply.get("LastEvaluatedKey")
    next_token = (
        encode_page_token({"PK": last["PK"]["S"], "SK": last["SK"]["S"]}, scope) if last else None
    )
    return items, next_token
