"""The service's DynamoDB table: its lazily made client, item (de)serialisation and page tokens.

Shared by the repositories (repository for jobs, teams and keys; webhook_repository for
subscriptions and deliveries); only api_key_repository, the authorizer's one GetItem, keeps a
client of its own (without boto3).
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

from transform_jobs import aws_clients
from transform_jobs.dynamodb_values import serialize
from transform_jobs.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Powertools' copy of boto3's deserializer (DynamoDB numbers as Decimal), which importing
# boto3.dynamodb.types would load all of boto3 for.
_deserializer = TypeDeserializer()


class InvalidPageToken(ValueError):
    """The NextToken was not one this service issued for this listing."""


@cache
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
