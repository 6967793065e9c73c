"""An SQS event source mapping."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from local.runtime.event_sources.polling import (
    ClientFactory,
    Loop,
    LoopSource,
    base64_binaries,
    filters_of,
    passes,
)
from local.runtime.functions import FunctionPool


class SqsSource(LoopSource):
    """An SQS event source mapping."""

    def __init__(
        self, pool: FunctionPool, properties: Mapping[str, Any], clients: ClientFactory
    ) -> None:
        self.pool = pool
        self.clients = clients
        self.queue_arn = str(properties["Queue"])
        self.batch_size = int(properties.get("BatchSize", 10))
        self.window_s = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.filters = filters_of(properties)
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self._loop = Loop(f"sqs-{pool.function.logical_id}", self._tick)
        self._url: str | None = None

    def start(self) -> None:
        self._check_visibility_timeout()
        if self.enabled:
            self._loop.start()

    def _check_visibility_timeout(self) -> None:
        """Lambda refuses a mapping whose queue hides a message for less than the function
        may run (the message would come back while it is still being handled)."""
        sqs = self.clients("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=self._queue_url(sqs), AttributeNames=["VisibilityTimeout"]
        )["Attributes"]
        visibility = int(attributes.get("VisibilityTimeout", 30))
        if visibility < self.pool.function.timeout_s:
            raise ValueError(
                f"{self.pool.function.logical_id}: queue visibility timeout {visibility} s is "
                f"less than the function timeout {self.pool.function.timeout_s} s; raise the "
                "queue's VisibilityTimeout (AWS refuses this event source mapping too)"
            )

    def _queue_url(self, sqs: Any) -> str:
        if self._url is None:
            self._url = str(
                sqs.get_queue_url(QueueName=self.queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
            )
        return self._url

    def _tick(self) -> float:
        sqs = self.clients("sqs")
        url = self._queue_url(sqs)
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.window_s
        while len(messages) < self.batch_size and not self._loop.stopping:
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            if not got and (messages or time.monotonic() >= deadline):
                break
            if time.monotonic() >= deadline and messages:
                break
        if not messages:
            return 0.0
        records = [self._record(message) for message in messages]
        wanted = [record for record in records if passes(self.filters, _filterable(record))]
        # Lambda deletes messages that match no filter.
        dropped = [record for record in records if record not in wanted]
        self._delete(sqs, url, dropped)
        if not wanted:
            return 0.0
        answer = self.pool.invoke_raw({"Records": wanted})
        if not answer["ok"]:
            return 0.0  # every message comes back after its visibility timeout
        failed = self._failed_ids(answer.get("result"), wanted)
        if failed is None:
            return 0.0  # a malformed failure report fails the whole batch
        self._delete(sqs, url, [r for r in wanted if r["messageId"] not in failed])
        return 0.0

    def _failed_ids(self, result: Any, records: list[dict[str, Any]]) -> set[str] | None:
        if not self.partial or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        ids = {record["messageId"] for record in records}
        failed = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in ids:
                return None
            failed.add(str(identifier))
        return failed

    def _delete(self, sqs: Any, url: str, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            if chunk:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                        for i, r in enumerate(chunk)
                    ],
                )

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64_binaries(value.get("BinaryValue")),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3],
        }


def _filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda filters an SQS message's body as JSON when it is JSON."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        body = record["body"]
    return {**record, "body": body}
