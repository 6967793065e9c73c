"""Which team an API key hash belongs to: one GetItem on the jobs table, and nothing more.

The authorizer imports only this of the core's storage, so it stays small: a low-level DynamoDB
client from aws_clients (botocore, made on first use), no item (de)serialiser and no pydantic.
repository writes and revokes the keys, in the same item layout (PK=APIKEY#<sha256 of the key>,
SK=APIKEY, TeamId).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

from transform_jobs.adapters import aws_clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def _client() -> DynamoDBClient:
    return cast("DynamoDBClient", aws_clients.client("dynamodb"))


def table_name() -> str:
    """settings.Settings.table_name, read as get_settings reads it but without pydantic: importing
    pydantic alone takes about as long as the rest of the authorizer's init (a test in
    tests/integration/test_repository.py holds the two equal)."""
    return os.environ.get("TABLE_NAME") or "transform-jobs"


def team_for_key_hash(key_hash: str) -> str | None:
    reply = _client().get_item(
        TableName=table_name(),
        Key={"PK": {"S": f"APIKEY#{key_hash}"}, "SK": {"S": "APIKEY"}},
    )
    item = reply.get("Item")
    return str(item["TeamId"]["S"]) if item else None
