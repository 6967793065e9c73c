"""An SQS event source mapping."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from local.runtime.event_sources.polling import (
    ClientFactory,
    Pollers,
    SharedClients,
    base64_binaries,
    filters_of,
    passes,
)
from local.runtime.functions import DEFAULT_CONCURRENCY, FunctionPool


class SqsSource:
    """An SQS event source mapping: batches handled side by side, as Lambda's pollers do, up to
    the function's local concurrency (or the mapping's ScalingConfig.MaximumConcurrency)."""

    def __init__(
        self, pool: FunctionPool, properties: Mapping[str, Any], clients: ClientFactory
    ) -> None:
        self.pool = pool
        self.clients = SharedClients(clients)
        self.queue_arn = str(properties["Queue"])
        self.batch_size = int(properties.get("BatchSize", 10))
        self.window_s = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.filters = filters_of(properties)
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self._pollers = Pollers(
            f"sqs-{pool.function.logical_id}", concurrency_of(properties), self._receive
        )
        self._held: set[str] = set()  # ids of the messages the batches in progress hold
        self._holding_lock = threading.Lock()
        self._url: str | None = None

    def start(self) -> None:
        self._check_visibility_timeout()
        if self.enabled:
            self._pollers.start()

    def signal_stop(self) -> None:
        self._pollers.signal_stop()

    def stop(self) -> None:
        self._pollers.stop()

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

    def _receive(self) -> bool:
        """One batch, handled; whether there was one."""
        sqs = self.clients("sqs")
        url = self._queue_url(sqs)
        messages: list[dict[str, Any]] = []
        try:
            self._batch(sqs, url, messages)
            if messages:
                self._handle(sqs, url, messages)
        finally:
            self._done_with(messages)  # also what a failed receive left half gathered
        return bool(messages)

    def _batch(self, sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
        """Gathers up to BatchSize messages into `messages`, waiting up to the batching window
        for more."""
        deadline = time.monotonic() + self.window_s
        while len(messages) < self.batch_size and not self._pollers.stopping:
            got = self._taken(
                sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            )
            messages.extend(got)
            if not got and (messages or time.monotonic() >= deadline):
                break
            if time.monotonic() >= deadline and messages:
                break

    def _taken(self, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages no other batch of this source holds. The local SQS can give a message
        to two receives that overlap; it stays with the batch that had it first, which deletes
        it or lets it come back after its visibility timeout, as SQS would."""
        with self._holding_lock:
            taken = [message for message in received if message["MessageId"] not in self._held]
            self._held.update(message["MessageId"] for message in taken)
        return taken

    def _done_with(self, messages: list[dict[str, Any]]) -> None:
        with self._holding_lock:
            self._held.difference_update(message["MessageId"] for message in messages)

    def _handle(self, sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
        records = [self._record(message) for message in messages]
        wanted = [record for record in records if passes(self.filters, _filterable(record))]
        # Lambda deletes messages that match no filter.
        dropped = [record for record in records if record not in wanted]
        self._delete(sqs, url, dropped)
        if not wanted:
            return
        answer = self.pool.invoke_raw({"Records": wanted})
        if not answer["ok"]:
            return  # every message comes back after its visibility timeout
        failed = self._failed_ids(answer.get("result"), wanted)
        if failed is None:
            return  # a malformed failure report fails the whole batch
        self._delete(sqs, url, [r for r in wanted if r["messageId"] not in failed])

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


def concurrency_of(properties: Mapping[str, Any]) -> int:
    """How many batches run at once: the function's local concurrency, or fewer if the
    mapping caps it (MaximumConcurrency, at least 2 in AWS)."""
    cap = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return min(int(cap), DEFAULT_CONCURRENCY) if cap else DEFAULT_CONCURRENCY


def _filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda filters an SQS message's body as JSON when it is JSON."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        body = record["body"]
    return {**record, "body": body}
