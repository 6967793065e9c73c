"""What triggers functions besides HTTP: SQS queues, EventBridge rules, DynamoDB streams, schedules.

Each source is a thread that does what the AWS service would do for the event the template
declares:
- SQS: an event source mapping: batches up to BatchSize (waiting MaximumBatchingWindowInSeconds),
  deletes what succeeded, leaves failures to come back after the visibility timeout (and to the
  queue's redrive policy), honours ReportBatchItemFailures and FilterCriteria.
- EventBridgeRule/CloudWatchEvent: the rule is created on the local EventBridge with its
  pattern and a queue as target (the runtime's stand-in for Lambda's own target); each event is
  invoked asynchronously.
- DynamoDB: a stream event source mapping, per shard and in order, with BatchSize,
  FilterCriteria, ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts and
  an on-failure destination; positions are checkpointed on disk so a restart goes on from there.
- Schedule: rate expressions, invoked asynchronously with the scheduled event.
Asynchronous invocations retry as Lambda does (EventInvokeConfig.MaximumRetryAttempts, default
2) and then go to the OnFailure destination.

Written here because `sam local` has no event source polling at all.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from local.runtime.functions import FunctionPool
from local.runtime.patterns import matches

log = logging.getLogger(__name__)

ASYNC_RETRY_DELAYS_S = (60.0, 120.0)  # Lambda retries async invocations after ~1 and ~2 minutes


class ClientFactory(Protocol):
    def __call__(self, service: str) -> Any: ...


class EventSource(Protocol):
    def start(self) -> None: ...

    def signal_stop(self) -> None:
        """Asks the source to stop; returns at once (stop() then waits)."""

    def stop(self) -> None: ...


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _filters(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    criteria = properties.get("FilterCriteria") or {}
    out = []
    for item in criteria.get("Filters") or []:
        pattern = item.get("Pattern")
        out.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return out


def _passes(filters: list[dict[str, Any]], record: Mapping[str, Any]) -> bool:
    """Lambda event filtering: no filters pass everything; otherwise any filter may match."""
    return not filters or any(matches(pattern, record) for pattern in filters)


class _Loop:
    """A daemon thread running `tick` until stopped; errors are logged, never fatal."""

    def __init__(self, name: str, tick: Callable[[], float]) -> None:
        self.name = name
        self._tick = tick
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                pause = self._tick()
            except (BotoCoreError, ClientError, OSError) as error:
                if self._stopping.is_set():
                    return
                log.warning("%s: %s; retrying", self.name, error)
                pause = 1.0
            except Exception:  # a poller must outlive any one bad message or invocation
                if self._stopping.is_set():
                    return
                log.exception("%s: unexpected error; going on", self.name)
                pause = 1.0
            if pause:
                self._stopping.wait(pause)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout_s: float = 10) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True when the loop is being stopped."""
        return self._stopping.wait(seconds)


class _LoopSource:
    """A source whose work is one _Loop: stopping it is stopping the loop."""

    _loop: _Loop

    def signal_stop(self) -> None:
        self._loop.signal_stop()

    def stop(self) -> None:
        self._loop.stop()


# ------------------------------------------------------------------ asynchronous invocation


class AsyncInvoker:
    """Lambda's asynchronous invocation of one function: retries, then the OnFailure destination."""

    def __init__(
        self,
        pool: FunctionPool,
        clients: ClientFactory,
        *,
        retry_delays_s: tuple[float, ...] = ASYNC_RETRY_DELAYS_S,
    ) -> None:
        self.pool = pool
        self.clients = clients
        config = pool.function.event_invoke_config
        self.max_retries = int(config.get("MaximumRetryAttempts", 2))
        self.retry_delays_s = retry_delays_s
        destination = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
        self.on_failure = str(destination.get("Destination", "")) or None
        self._executor = ThreadPoolExecutor(4, thread_name_prefix=f"async-{pool.function.name}")
        self._stopping = threading.Event()

    def submit(self, event: Any) -> None:
        self._executor.submit(self._run, event, str(uuid.uuid4()))

    def _run(self, event: Any, request_id: str) -> None:
        answer: dict[str, Any] = {}
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.retry_delays_s[min(attempt, len(self.retry_delays_s)) - 1]
                if self._stopping.wait(delay):
                    log.warning(
                        "%s: stopped before retry %d; event dropped: %s",
                        self.pool.function.name,
                        attempt,
                        json.dumps(event, default=str)[:500],
                    )
                    return
            answer = self.pool.invoke_raw(event, request_id=request_id)
            if answer["ok"]:
                return
        self._send_failure(event, request_id, answer, self.max_retries + 1)

    def _send_failure(
        self, event: Any, request_id: str, answer: Mapping[str, Any], attempts: int
    ) -> None:
        if not self.on_failure:
            log.error("%s: event dropped after %d attempts", self.pool.function.name, attempts)
            return
        record = {
            "version": "1.0",
            "timestamp": _now_iso(),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{self.pool.function.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": answer.get("error"),
        }
        send_to_destination(self.clients, self.on_failure, record)

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """Waiting retries end now; a running invocation ends with its pool (stopped next)."""
        self._stopping.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


def send_to_destination(clients: ClientFactory, arn: str, record: Mapping[str, Any]) -> None:
    """Delivers an on-failure record to an SQS destination (the kind this template uses)."""
    if not arn.startswith("arn:aws:sqs:"):
        log.error("on-failure destination %s is not an SQS queue; record dropped: %s", arn, record)
        return
    sqs = clients("sqs")
    name = arn.rsplit(":", 1)[-1]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))


# ------------------------------------------------------------------ SQS


class SqsSource(_LoopSource):
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
        self.filters = _filters(properties)
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self._loop = _Loop(f"sqs-{pool.function.logical_id}", self._tick)
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
        wanted = [record for record in records if _passes(self.filters, _filterable(record))]
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
                "binaryValue": _base64_binaries(value.get("BinaryValue")),
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


def _base64_binaries(value: Any) -> Any:
    """Binary attribute values as Lambda delivers them: base64 text, not bytes."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _base64_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(item) for item in value]
    return value


def _filterable(record: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda filters an SQS message's body as JSON when it is JSON."""
    try:
        body = json.loads(record["body"])
    except (TypeError, ValueError):
        body = record["body"]
    return {**record, "body": body}


# ------------------------------------------------------------------ EventBridge


class EventBridgeRuleSource(_LoopSource):
    """A rule on the local EventBridge whose target is the function (by way of a queue)."""

    def __init__(
        self,
        pool: FunctionPool,
        invoker: AsyncInvoker,
        properties: Mapping[str, Any],
        clients: ClientFactory,
        *,
        rule_name: str,
        account_id: str,
    ) -> None:
        self.pool = pool
        self.invoker = invoker
        self.clients = clients
        self.rule_name = rule_name
        self.account_id = account_id
        self.pattern = dict(properties["Pattern"])
        self.bus = str(properties.get("EventBusName") or "default")
        self.enabled = str(properties.get("State", "ENABLED")).upper() == "ENABLED"
        self.input = properties.get("Input")
        self._loop = _Loop(f"rule-{rule_name}", self._tick)
        self._url = ""

    def start(self) -> None:
        """Creates (or updates) the rule and its target queue, then starts polling."""
        sqs, events = self.clients("sqs"), self.clients("events")
        self._url = str(sqs.create_queue(QueueName=f"{self.rule_name}-target")["QueueUrl"])
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=self.rule_name,
            EventBusName=self.bus,
            EventPattern=json.dumps(self.pattern),
            State="ENABLED" if self.enabled else "DISABLED",
        )
        events.put_targets(
            Rule=self.rule_name,
            EventBusName=self.bus,
            Targets=[{"Id": "function", "Arn": queue_arn}],
        )
        self._loop.start()

    def _tick(self) -> float:
        sqs = self.clients("sqs")
        messages = sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            # The local EventBridge leaves `account` out of delivered events; AWS always sets it.
            event.setdefault("account", self.account_id)
            if matches(self.pattern, event):
                self.invoker.submit(json.loads(self.input) if self.input else event)
            sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return 0.0


# ------------------------------------------------------------------ schedules

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """Seconds between runs for an EventBridge rate expression."""
    match = _RATE.fullmatch(expression.strip())
    if not match:
        raise ValueError(
            f"schedule {expression!r}: the local runtime runs rate(N minute|minutes|hour|hours|"
            "day|days) expressions; write the schedule as a rate for local mode"
        )
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value < 1 or (value == 1) != (not match.group(2).endswith("s")):
        raise ValueError(f"schedule {expression!r}: use 1 with a singular unit, N>1 with plural")
    return value * _UNIT_SECONDS[unit]


class ScheduleSource(_LoopSource):
    """A Schedule event: the scheduled event, every period, invoked asynchronously."""

    def __init__(
        self,
        invoker: AsyncInvoker,
        properties: Mapping[str, Any],
        *,
        rule_arn: str,
        region: str,
        account_id: str,
        period_s: float | None = None,
    ) -> None:
        self.invoker = invoker
        self.period_s = period_s or rate_seconds(str(properties["Schedule"]))
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self.input = properties.get("Input")
        self.rule_arn, self.region, self.account_id = rule_arn, region, account_id
        self._next = time.monotonic() + self.period_s
        self._loop = _Loop(f"schedule-{rule_arn.rsplit('/', 1)[-1]}", self._tick)

    def event(self) -> dict[str, Any]:
        if self.input:
            return dict(json.loads(str(self.input)))
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": _now_iso(),
            "region": self.region,
            "resources": [self.rule_arn],
            "detail": {},
        }

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    def _tick(self) -> float:
        now = time.monotonic()
        if now < self._next:
            return min(1.0, self._next - now)
        self._next += self.period_s
        self.invoker.submit(self.event())
        return 0.0


# ------------------------------------------------------------------ DynamoDB streams


class DynamoDBStreamSource(_LoopSource):
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
        self.clients = clients
        self.stream_arn = str(properties["Stream"])
        self.batch_size = int(properties.get("BatchSize", 100))
        self.starting_position = str(properties.get("StartingPosition", "LATEST"))
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.bisect = str(properties.get("BisectBatchOnFunctionError", "false")).lower() == "true"
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))
        destination = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
        self.on_failure = str(destination.get("Destination", "")) or None
        self.filters = _filters(properties)
        self.enabled = str(properties.get("Enabled", "true")).lower() != "false"
        self.region = region
        self.checkpoint_path = checkpoint_path
        self._positions: dict[str, str] = self._load_checkpoints()
        self._iterators: dict[str, str | None] = {}
        self._known: set[str] = set()
        self._first_scan = not self._positions
        self._loop = _Loop(f"stream-{pool.function.logical_id}", self._tick)

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
        wanted = [record for record in records if _passes(self.filters, record)]
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
            "timestamp": _now_iso(),
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
        dynamodb = _base64_binaries(dict(raw["dynamodb"]))
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
