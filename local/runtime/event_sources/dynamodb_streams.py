"""A DynamoDB stream event source mapping."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local.runtime.event_sources.polling import (
    ClientFactory,
    Loop,
    LoopSource,
    SharedClients,
    base64_binaries,
    filters_of,
    now_iso,
    passes,
    send_to_destination,
)
from local.runtime.functions import FunctionPool

log = logging.getLogger(__name__)


class DynamoDBStreamSource(LoopSource):
    """A DynamoDB stream event source mapping, shard by shard, in order."""

    def __init__(
        self,
        pool: FunctionPool,
        properties: Mapping[str, Any],
        clients: ClientFactory,
        *,
        checkpoint_path: Path,
        region: str,
    ) -> None:
        self.pool = pool
        self.clients = SharedClients(clients)
        self.stream_arn = str(properties["Stream"])
        self.batch_size = int(properties.get("BatchSize", 100))
        self.starting_position = str(properties.get("StartingPosition", "LATEST"))
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.bisect = str(properties.get("BisectBatchOnFunctionError", "false")).lower() == "true"
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))
        destination = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
        self.on_failure = str(destination.get("Destination", "")) or None
        self.filters = filters_of(properties)
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self.region = region
        self.checkpoint_path = checkpoint_path
        self._positions: dict[str, str] = self._load_checkpoints()
        self._iterators: dict[str, str | None] = {}
        self._known: set[str] = set()
        self._first_scan = not self._positions
        self._loop = Loop(f"stream-{pool.function.logical_id}", self._tick)

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    # Checkpoints: the last sequence number handled per shard, kept across restarts.
    def _load_checkpoints(self) -> dict[str, str]:
        try:
            saved = json.loads(self.checkpoint_path.read_text())
        except (OSError, ValueError):
            return {}
        if saved.get("stream") != self.stream_arn:
            return {}  # the table was recreated: its old positions mean nothing
        return dict(saved.get("shards") or {})

    def _save_checkpoints(self) -> None:
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stream": self.stream_arn, "shards": self._positions}))
        tmp.replace(self.checkpoint_path)

    def _discover(self, streams: Any) -> None:
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._known:
                continue
            if shard_id in self._positions:
                kind, extra = "AFTER_SEQUENCE_NUMBER", {"SequenceNumber": self._positions[shard_id]}
            elif self._first_scan:
                kind, extra = self.starting_position, {}
            else:
                kind, extra = "TRIM_HORIZON", {}  # a shard born while we run: read it all
            self._iterators[shard_id] = streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind, **extra
            )["ShardIterator"]
            self._known.add(shard_id)  # only once it has an iterator, so a failure is retried
        self._first_scan = False

    def _fresh_iterator(self, streams: Any, shard_id: str) -> str:
        """A new iterator after an expired one (they last 15 minutes): from the checkpoint."""
        if shard_id in self._positions:
            kind, extra = "AFTER_SEQUENCE_NUMBER", {"SequenceNumber": self._positions[shard_id]}
        else:
            kind, extra = "TRIM_HORIZON", {}
        return str(
            streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=kind, **extra
            )["ShardIterator"]
        )

    def _tick(self) -> float:
        streams = self.clients("dynamodbstreams")
        self._discover(streams)
        busy = False
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            try:
                got = streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExpiredIteratorException":
                    raise
                self._iterators[shard_id] = self._fresh_iterator(streams, shard_id)
                continue
            records = [self._record(raw) for raw in got.get("Records", [])]
            if records:
                busy = True
                if not self._deliver(shard_id, records):
                    # Stopped mid-batch: the checkpoint stays, so a restart delivers it again.
                    self._iterators[shard_id] = None
                    return 0.0
                self._positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                self._save_checkpoints()
            self._iterators[shard_id] = got.get("NextShardIterator")
        return 0.0 if busy else 1.0

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Delivers the batch (retrying, bisecting, giving up as configured); False if the
        source was stopped before the batch was done."""
        wanted = [record for record in records if passes(self.filters, record)]
        pending = [wanted] if wanted else []
        attempts = 0
        while pending:
            if self._loop.stopping:
                return False
            batch = pending.pop(0)
            answer = self.pool.invoke_raw({"Records": batch})
            failed_from = self._first_failure(answer, batch)
            if failed_from is None:
                attempts = 0
                continue
            attempts += 1
            rest = batch[failed_from:]
            if 0 <= self.max_retries < attempts:
                self._give_up(shard_id, rest, answer)
                attempts = 0
                continue
            if self.bisect and not answer["ok"] and len(rest) > 1:
                half = len(rest) // 2
                pending[:0] = [rest[:half], rest[half:]]
            else:
                pending.insert(0, rest)
            self._loop.wait(min(30.0, 0.5 * 2**attempts))
        return True

    def _first_failure(self, answer: Mapping[str, Any], batch: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the batch succeeded."""
        if not answer["ok"]:
            return 0
        result = answer.get("result")
        if not self.partial or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        sequence = [record["dynamodb"]["SequenceNumber"] for record in batch]
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in sequence:
                return 0  # a malformed report retries the whole batch
            indexes.append(sequence.index(identifier))
        return min(indexes)

    def _give_up(
        self, shard_id: str, records: list[dict[str, Any]], answer: Mapping[str, Any]
    ) -> None:
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.pool.function.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.max_retries + 1,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
            "responsePayload": answer.get("error") or answer.get("result"),
        }
        if self.on_failure:
            send_to_destination(self.clients, self.on_failure, record)
        else:
            log.error(
                "%s: stream records skipped after retries: %s", self.pool.function.name, record
            )

    def _record(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        dynamodb = base64_binaries(dict(raw["dynamodb"]))
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        return {
            "eventID": raw.get("eventID"),
            "eventName": raw.get("eventName"),
            "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", self.region),
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream_arn,
        }
