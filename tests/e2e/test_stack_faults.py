"""Faults the local stack must come through, each on a stack of the test's own: the whole stack
killed at once, a terminal state-change event lost on its way, and a webhook receiver that is
down for longer than a queue message can wait."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.sagemaker_service.service import INTERRUPTED
from tests.e2e.client import TERMINAL
from tests.e2e.conftest import StackProcess
from tests.e2e.support import (
    deliveries,
    fresh_prefix,
    invoke,
    model_processes,
    other_team_key,
    own_stack,
    request_for,
    status_changes,
    subscribe,
    unused_port,
    upload,
    wait_for,
)
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

ROWS = b"".join(b"%d\n" % row for row in range(4))
SLOW_ROWS = b"".join(b"%d\n" % row for row in range(60))


def echo_job(stack: StackProcess, model: str = "echo", rows: bytes = ROWS, **extra: Any) -> str:
    """Submits a small job on the example echo server (or another echo model); its id."""
    prefix = fresh_prefix()
    upload(stack, f"{prefix}in/rows.csv", rows)
    reply = stack.api().submit(request_for(stack.info["bucket"], prefix, model=model, **extra))
    assert reply.status == 202, reply.body
    return str(reply.body["JobId"])


def slow_echo_model(stack: StackProcess) -> str:
    """The example echo server, made slow (2 s a record), as a team would register it."""
    name = "echo-slow"
    stack.aws("sagemaker").create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/echo:latest",
            "ModelDataUrl": f"s3://{stack.info['bucket']}/models/echo/model.tar.gz",
            "Environment": {
                "TRANSFORM_JOBS_SERVE_COMMAND": (
                    "{python} {model_dir}/serve.py --port {port} --delay-seconds 2"
                )
            },
        },
        ExecutionRoleArn="arn:aws:iam::123456789012:role/team-model",
    )
    return name


def received_ids(receiver: Receiver, status: int | None = None) -> list[str]:
    """The webhook-id of every POST the receiver got (answered with `status`, if given)."""
    return [
        got["headers"]["webhook-id"]
        for got in receiver.received
        if status is None or got["status"] == status
    ]


def log_when(
    stack: StackProcess,
    webhook_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout_s: float,
    what: str,
) -> list[dict[str, Any]]:
    """The subscription's delivery log once `done(log)` holds; fails the test after timeout_s."""
    log: list[dict[str, Any]] = []

    def check() -> bool:
        log[:] = deliveries(stack, webhook_id)
        return done(log)

    wait_for(check, timeout_s, what)
    return log


def attempt_gaps(delivery: dict[str, Any]) -> list[float]:
    """Seconds between one attempt and the next."""
    times = [datetime.fromisoformat(a["Time"]) for a in delivery["Attempts"]]
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]


def tried(log: list[dict[str, Any]]) -> int:
    return sum(1 for delivery in log if delivery["Attempts"])


def succeeded(log: list[dict[str, Any]]) -> int:
    return sum(1 for delivery in log if delivery["Status"] == "Succeeded")


def processes_naming(data_dir: Path) -> set[int]:
    """Processes whose command line names the data dir (the servers of a stack on it)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(data_dir.resolve()).encode() in cmdline:
            found.add(int(entry.name))
    return found


# ---------------------------------------------------------------- killed at once

# Webhook retries 4 s apart (about 40 s in all: longer than the test needs before the kill).
# The schedules are pushed out of the way, so that after the restart the one sweep the test runs
# is the only thing that can carry the deliveries whose queue messages died with moto; its grace
# is 2 s, as those deliveries fell due during the restart.
KILL_SETTINGS = {
    "LOCAL_WEBHOOK_RETRY_SCHEDULE": ",".join(["4"] * 9),
    "LOCAL_SCHEDULE_SECONDS": "3600",
    "LOCAL_WEBHOOK_SWEEP_GRACE_SECONDS": "2",
}


@dataclass
class BeforeTheKill:
    """What the first stack did before it was killed."""

    api_key: str
    other_key: str
    webhook_id: str
    finished: str
    history: list[dict[str, Any]]
    cut_off: str
    owed: list[dict[str, Any]]


def work_then_owe(stack: StackProcess, receiver: Receiver) -> BeforeTheKill:
    """A finished job, a job still running, and a delivery for every change of both, each
    refused by the receiver and waiting for its next attempt."""
    api = stack.api()
    other_key = other_team_key(stack)
    webhook_id = subscribe(stack, receiver.url, "transform_job.status_changed")["WebhookId"]
    finished = echo_job(stack)
    assert api.wait(finished)["Status"] == "Completed"
    history = api.call("GET", f"/v1/jobs/{finished}/events").body["Events"]
    cut_off = echo_job(stack, slow_echo_model(stack), SLOW_ROWS, BatchStrategy="SingleRecord")
    job = api.wait(cut_off, {"InProgress", *TERMINAL})
    assert job["Status"] == "InProgress"
    wait_for(lambda: model_processes(job["SageMakerJobName"]), 30, "the slow model runs")
    changes = len(status_changes(stack, finished)) + len(status_changes(stack, cut_off))
    owed = log_when(
        stack,
        webhook_id,
        lambda log: tried(log) == changes,
        30,
        "every change so far is a delivery, refused at least once",
    )
    assert all(d["Status"] == "Pending" for d in owed)
    return BeforeTheKill(
        stack.info["api_key"], other_key, webhook_id, finished, history, cut_off, owed
    )


def test_a_stack_killed_at_once_restarts_whole_and_delivers_every_webhook_it_owed(
    tmp_path: Path, receiver: Receiver
) -> None:
    data_dir = tmp_path / "data"
    receiver.answer = (503, {})  # down until the restart: every delivery stays owed
    first = StackProcess(data_dir, env=KILL_SETTINGS)
    second: StackProcess | None = None
    try:
        first.start()
        before = work_then_owe(first, receiver)
        job_name = first.api().job(before.cut_off)["SageMakerJobName"]

        killed, killed_at = time.monotonic(), datetime.now(UTC)
        assert first.kill(timeout_s=15) == set()  # every process of it, its children too
        print(f"everything gone {time.monotonic() - killed:.1f} s after SIGKILL")
        assert not model_processes(job_name)
        assert not processes_naming(data_dir)
        # What the killed stack left: its lock file and its stack.json (here cut in half, as
        # a writer cut off mid-write would leave it). Its API port is free at once.
        assert (data_dir / "stack.lock").exists()
        stale = first.stack_file.read_text()
        first.stack_file.write_text(stale[: len(stale) // 2])

        receiver.answer = (204, {})
        port = urllib.parse.urlsplit(first.info["api_url"]).port or 0
        second = StackProcess(data_dir, env=KILL_SETTINGS, port=port).start()
        print(f"restarted in {second.started_in_s:.1f} s")
        assert second.process is not None and second.info["pid"] == second.process.pid
        assert second.info["api_url"] == first.info["api_url"]
        assert second.info["api_key"] == before.api_key
        assert_the_data_survived(second, before)
        assert_no_job_is_left_running(second, before)
        assert_every_owed_webhook_is_delivered_by_the_sweeper(second, before, killed_at, receiver)
    finally:
        first.kill(timeout_s=5)
        if second is not None:
            second.stop()


def assert_the_data_survived(stack: StackProcess, before: BeforeTheKill) -> None:
    api = stack.api()  # the key from before the kill
    assert api.job(before.finished)["Status"] == "Completed"
    assert api.call("GET", f"/v1/jobs/{before.finished}/events").body["Events"] == before.history
    assert stack.api(before.other_key).call("GET", "/v1/jobs").status == 200  # team and key
    assert api.call("GET", f"/v1/webhooks/{before.webhook_id}").status == 200


def assert_no_job_is_left_running(stack: StackProcess, before: BeforeTheKill) -> None:
    api = stack.api()
    failed = api.wait(before.cut_off, TERMINAL, timeout_s=60)
    assert failed["Status"] == "Failed"
    assert INTERRUPTED in failed["StatusReason"]
    # Told by the SageMaker service as it came up, not found later by the reconciler.
    assert status_changes(stack, before.cut_off)[-1]["Source"] == "sagemaker"
    jobs = api.call("GET", "/v1/jobs").body["Jobs"]
    assert {job["JobId"] for job in jobs} == {before.finished, before.cut_off}
    assert all(job["Status"] in TERMINAL for job in jobs)


def assert_every_owed_webhook_is_delivered_by_the_sweeper(
    stack: StackProcess, before: BeforeTheKill, killed_at: datetime, receiver: Receiver
) -> None:
    owed = {delivery["DeliveryId"] for delivery in before.owed}
    time.sleep(3)  # were anything but the sweeper to carry them, it would show by now
    for delivery in deliveries(stack, before.webhook_id):
        if delivery["DeliveryId"] in owed:
            # Every attempt is the first stack's: a retry can start between the snapshot of
            # what was owed and the kill, so the attempts are judged by their time.
            assert delivery["Status"] == "Pending", delivery
            started = [datetime.fromisoformat(a["Time"]) for a in delivery["Attempts"]]
            assert max(started) < killed_at, delivery
    assert invoke(stack, "retry_deliveries")["queued"] >= len(owed)
    changes = sum(len(status_changes(stack, job)) for job in (before.finished, before.cut_off))
    delivered = log_when(
        stack,
        before.webhook_id,
        lambda log: succeeded(log) == changes,
        60,
        "every delivery owed succeeds after the restart",
    )
    assert set(received_ids(receiver, 204)) == {d["DeliveryId"] for d in delivered}
    for delivery in delivered:
        if delivery["DeliveryId"] in owed:  # refused before the kill, delivered after it
            codes = [attempt["StatusCode"] for attempt in delivery["Attempts"]]
            assert set(codes[:-1]) == {503} and codes[-1] == 204, delivery


# ---------------------------------------------------------------- a lost terminal event

# Jobs without news for a second are the reconciler's to describe; its schedule stays at five
# minutes, so the one sweep the test runs is the only one.
LOST_EVENT_SETTINGS = {"LOCAL_PARAMETER_OVERRIDES": "ReconcileAfterSeconds=1"}


def state_change_rule(stack: StackProcess) -> str:
    """The EventBridge rule that feeds SageMaker's state changes to record_state_change."""
    for rule in stack.aws("events").list_rules()["Rules"]:
        if "aws.sagemaker" in json.loads(rule.get("EventPattern") or "{}").get("source", []):
            return str(rule["Name"])
    raise AssertionError("no rule takes SageMaker's state changes")


def witness_queue(stack: StackProcess) -> str:
    """A queue that a second, enabled rule fills with SageMaker's state changes. SageMaker
    describes a status before its event is published, so only an event seen here proves that
    the disabled rule had its chance at it, and dropped it."""
    sqs, events = stack.aws("sqs"), stack.aws("events")
    url = str(sqs.create_queue(QueueName="state-change-witness")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(
        Name="state-change-witness", EventPattern=json.dumps({"source": ["aws.sagemaker"]})
    )
    events.put_targets(Rule="state-change-witness", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    return url


def published_statuses(stack: StackProcess, queue_url: str, job_name: str) -> list[str]:
    """The statuses of the job's state changes the witness queue holds, taking them."""
    sqs = stack.aws("sqs")
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    statuses = []
    for message in reply.get("Messages", []):
        detail = json.loads(message["Body"])["detail"]
        if detail.get("TransformJobName") == job_name:
            statuses.append(str(detail["TransformJobStatus"]))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return statuses


def test_one_reconcile_sweep_repairs_a_job_whose_terminal_event_was_lost_and_notifies_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    with own_stack(tmp_path / "data", LOST_EVENT_SETTINGS) as stack:
        api, events = stack.api(), stack.aws("events")
        webhook = subscribe(stack, receiver.url, "transform_job.completed")
        rule = state_change_rule(stack)
        # Disabled before the job starts, so none of its SageMaker events can slip through
        # before the end (launch_job records InProgress itself).
        events.disable_rule(Name=rule)
        witness = witness_queue(stack)
        job_id = echo_job(stack)
        job = api.wait(job_id, {"InProgress", *TERMINAL})
        assert job["Status"] == "InProgress"
        published: list[str] = []

        def completion_published() -> bool:
            published.extend(published_statuses(stack, witness, job["SageMakerJobName"]))
            return "Completed" in published

        wait_for(completion_published, 60, "SageMaker completes the job and publishes it")
        events.enable_rule(Name=rule)
        time.sleep(3)  # time enough for an event that was only late to arrive
        assert api.job(job_id)["Status"] == "InProgress"  # lost, not late

        assert invoke(stack, "reconcile_jobs")["changed"] == 1
        repaired = api.wait(job_id, timeout_s=30)
        assert repaired["Status"] == "Completed"
        assert status_changes(stack, job_id)[-1]["Source"] == "reconcile"
        wait_for(lambda: received_ids(receiver), 30, "the completed event arrives")
        assert invoke(stack, "reconcile_jobs")["changed"] == 0  # nothing left to repair
        time.sleep(3)  # time enough for a second delivery, were one made

        (delivery,) = deliveries(stack, webhook["WebhookId"])
        assert delivery["JobId"] == job_id
        assert delivery["EventType"] == "transform_job.completed"
        assert delivery["Status"] == "Succeeded"
        assert [a["StatusCode"] for a in delivery["Attempts"]] == [204]
        assert received_ids(receiver) == [delivery["DeliveryId"]]
        body = json.loads(receiver.received[0]["body"])
        assert body["type"] == "transform_job.completed"
        assert body["data"]["JobId"] == job_id


# ---------------------------------------------------------------- a receiver down for long

# Retries 1, 1, 4 and 10 s apart; a queue message carries at most 2 s, so the last two waits
# are the sweeper's, which runs every second and steps in 6 s after a delivery is due (long
# enough that a message the queue carries, late on a busy machine, is not mistaken for it).
RETRY_SCHEDULE = (1, 1, 4, 10)
QUEUE_DELAY_S, SWEEP_GRACE_S = 2, 6
OUTAGE_SETTINGS = {
    "LOCAL_WEBHOOK_RETRY_SCHEDULE": ",".join(map(str, RETRY_SCHEDULE)),
    "LOCAL_WEBHOOK_MAX_QUEUE_DELAY_SECONDS": str(QUEUE_DELAY_S),
    "LOCAL_WEBHOOK_SWEEP_GRACE_SECONDS": str(SWEEP_GRACE_S),
    "LOCAL_SCHEDULE_SECONDS": "1",
}
JITTER = 0.1  # the schedule's ± 10 %


def assert_carried_as_configured(delivery: dict[str, Any]) -> None:
    """A wait a queue message can carry ends sooner than the sweeper could have ended it; a
    longer one only once the sweeper has given the due delivery its grace (on a message, it
    would have ended on time). Times are kept to the millisecond."""
    for wait, gap in zip(RETRY_SCHEDULE, attempt_gaps(delivery), strict=False):
        earliest_sweep = wait * (1 - JITTER) + SWEEP_GRACE_S
        if wait * (1 + JITTER) <= QUEUE_DELAY_S:
            assert gap < earliest_sweep, (wait, gap, delivery)
        else:
            assert gap >= earliest_sweep - 0.01, (wait, gap, delivery)


def test_webhooks_outlast_an_outage_through_the_sweeper_and_end_failed_in_the_log_if_it_lasts(
    tmp_path: Path,
) -> None:
    back_port = unused_port()
    back_url = f"http://127.0.0.1:{back_port}/hooks/in"
    gone_url = f"http://127.0.0.1:{unused_port()}/hooks/in"  # nothing ever listens there
    attempts = len(RETRY_SCHEDULE) + 1
    all_but_last = attempts - 1
    with own_stack(tmp_path / "data", OUTAGE_SETTINGS) as stack:
        returning = subscribe(stack, back_url, "transform_job.status_changed")["WebhookId"]
        gone = subscribe(stack, gone_url, "transform_job.completed")["WebhookId"]
        submitted = time.monotonic()
        job_id = echo_job(stack)
        assert stack.api().wait(job_id)["Status"] == "Completed"
        statuses = [change["Status"] for change in status_changes(stack, job_id)]
        changes = len(statuses)

        # Down until every event has been refused through the queue's part of the schedule
        # and once more after a wait only the sweeper carries; then back, before the last try.
        def refused_but_once(log: list[dict[str, Any]]) -> bool:
            return len(log) == changes and all(len(d["Attempts"]) >= all_but_last for d in log)

        before = log_when(
            stack,
            returning,
            refused_but_once,
            60,
            "every event refused through all but the last attempt",
        )
        assert all(d["Status"] == "Pending" for d in before), before
        with Receiver(port=back_port) as receiver:
            delivered = log_when(
                stack,
                returning,
                lambda log: succeeded(log) == changes,
                60,
                "every event delivered once the receiver is back",
            )
            failed = log_when(
                stack,
                gone,
                lambda log: [d["Status"] for d in log] == ["Failed"],
                60,
                "the delivery to the receiver that never came back ends Failed",
            )
        took = time.monotonic() - submitted
        print(f"up in {stack.started_in_s:.1f} s; every delivery ended {took:.1f} s after submit")

    # The receiver answered 2xx once per event, under the event's one webhook-id. A second
    # POST of a delivered event would take two deliver_webhook runs making the same attempt at
    # once (the sweeper's copy of a late message and the message itself); each message names
    # the attempt it was sent for, so a copy that comes after its attempt was made is dropped.
    assert sorted(received_ids(receiver)) == sorted(d["DeliveryId"] for d in delivered)
    assert {got["status"] for got in receiver.received} == {204}
    delivered_statuses = [json.loads(got["body"])["data"]["Status"] for got in receiver.received]
    assert sorted(delivered_statuses) == sorted(statuses)
    for delivery in delivered:
        codes = [a["StatusCode"] for a in delivery["Attempts"]]
        assert codes == [None] * all_but_last + [204], delivery
        assert_carried_as_configured(delivery)

    (ended,) = failed
    assert ended["JobId"] == job_id and ended["NextAttemptAt"] is None
    assert len(ended["Attempts"]) == attempts  # every attempt of the schedule, in the log
    assert all(a["StatusCode"] is None and a["Error"] for a in ended["Attempts"])
    assert_carried_as_configured(ended)
