"""Helpers for the e2e tests: requests, uploads and the processes a job runs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from local.stack.launcher import ROOT, alive
from tests.e2e.conftest import StackProcess

T = TypeVar("T")

IRIS_ROWS = 150


def request_for(
    bucket: str, prefix: str, *, model: str = "sklearn-iris", **overrides: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ModelName": model,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}in/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{bucket}/{prefix}out/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(overrides)
    return request


def fresh_prefix() -> str:
    return f"e2e/{uuid.uuid4().hex[:10]}/"


def upload(stack: StackProcess, key: str, body: bytes) -> None:
    stack.aws("s3").put_object(Bucket=stack.info["bucket"], Key=key, Body=body)


def model_processes(job_name: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if job_name.encode() in cmdline and alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def wait_for(check: Callable[[], T], timeout_s: float, what: str) -> T:
    """`check()` once it is truthy; fails the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.2)
    return value


def admin(stack: StackProcess, *args: str) -> str:
    """The operator's command line, pointed at the local DynamoDB."""
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": stack.info["endpoints"]["dynamodb"],
        "AWS_ACCESS_KEY_ID": stack.info["credentials"]["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": stack.info["credentials"]["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": stack.info["region"],
    }
    admin = Path(sys.executable).with_name("transform-jobs-admin")
    table = stack.info["resources"]["JobsTable"]
    done = subprocess.run(  # noqa: S603 - the project's own console script
        [str(admin), "--table", table, *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def other_team_key(stack: StackProcess) -> str:
    folder = f"s3://{stack.info['bucket']}/other/"
    admin(
        stack, "create-team", "other", "--input-prefix", folder, "--output-prefix", folder,
        "--model", "sklearn-iris",
    )  # fmt: skip
    return admin(stack, "create-key", "other")


@contextmanager
def own_stack(data_dir: Path, env: dict[str, str]) -> Iterator[StackProcess]:
    """A stack of the test's own (settings other than the session stack's), always stopped."""
    running = StackProcess(data_dir, env=env)
    try:
        yield running.start()
    finally:
        running.stop()


def subscribe(stack: StackProcess, url: str, *types: str) -> dict[str, Any]:
    reply = stack.api().call("POST", "/v1/webhooks", {"Url": url, "EventTypes": list(types)})
    assert reply.status == 201, reply.body
    return dict(reply.body)


def deliveries(stack: StackProcess, webhook_id: str) -> list[dict[str, Any]]:
    """The subscription's whole delivery log (every page), oldest first."""
    found: list[dict[str, Any]] = []
    query = ""
    while True:
        reply = stack.api().call("GET", f"/v1/webhooks/{webhook_id}/deliveries{query}")
        assert reply.status == 200, reply.body
        found += reply.body["Deliveries"]
        token = reply.body.get("NextToken")
        if not token:
            return sorted(found, key=lambda delivery: str(delivery["CreatedAt"]))
        query = "?" + urllib.parse.urlencode({"NextToken": token})


def status_changes(stack: StackProcess, job_id: str) -> list[dict[str, Any]]:
    """The job's history entries that changed its status (each one a status_changed event)."""
    reply = stack.api().call("GET", f"/v1/jobs/{job_id}/events")
    assert reply.status == 200, reply.body
    return [e for e in reply.body["Events"] if e["Status"] != e.get("PreviousStatus")]


def invoke(stack: StackProcess, function: str, event: str = "schedule.json") -> Any:
    """One invocation of a function against the stack, as `make invoke` runs it."""
    command = [sys.executable, "-m", "local.runtime", "invoke", function]
    command += [str(ROOT / "events" / event), "--stack", str(stack.stack_file)]
    done = subprocess.run(  # noqa: S603 - the project's own entry point
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def unused_port() -> int:
    """A loopback port nothing listens on (a receiver that is down refuses connections)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
