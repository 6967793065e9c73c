"""The Python client, the `transform-jobs` command and the example receiver against the whole
local stack, as another team's service and a person would use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from transform_jobs_client import TransformJobs

from local.model_host.host import free_port
from tests.e2e.conftest import StackProcess
from tests.e2e.support import IRIS_ROWS, fresh_prefix, request_for, upload, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "transform-jobs"


def cli(stack: StackProcess, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it, configured by the environment (not .local/)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TRANSFORM_JOBS_API_URL": stack.info["api_url"],
        "TRANSFORM_JOBS_API_KEY": stack.info["api_key"],
    }
    return subprocess.run(  # noqa: S603 - the project's console script
        [str(CLI), *args],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def job_file(stack: StackProcess, tmp_path: Path, iris_csv: bytes, **overrides: Any) -> Path:
    prefix = fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    path = tmp_path / f"{prefix.replace('/', '-')}job.json"
    path.write_text(json.dumps(request_for(stack.info["bucket"], prefix, **overrides)))
    return path


def test_submit_wait_list_and_download_with_the_cli(
    stack: StackProcess, iris_csv: bytes, tmp_path: Path
) -> None:
    request = job_file(stack, tmp_path, iris_csv, TransformJobName="cli-run")
    submitted = cli(stack, tmp_path, "--output", "json", "submit", str(request), "--wait")
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout)
    assert job["Status"] == "Completed"
    assert "Completed" in submitted.stderr  # the progress line

    listed = cli(stack, tmp_path, "--output", "json", "list", "--status", "Completed")
    assert listed.returncode == 0, listed.stderr
    assert job["JobId"] in [item["JobId"] for item in json.loads(listed.stdout)]
    failed = cli(stack, tmp_path, "--output", "json", "list", "--status", "Failed")
    assert job["JobId"] not in [item["JobId"] for item in json.loads(failed.stdout)]

    downloads = tmp_path / "outputs"
    fetched = cli(stack, tmp_path, "outputs", job["JobId"], "--download", str(downloads))
    assert fetched.returncode == 0, fetched.stderr
    [output] = list(downloads.rglob("*.out"))
    assert output.name == "iris.csv.out"
    assert len(output.read_text().splitlines()) == IRIS_ROWS

    events = cli(stack, tmp_path, "events", job["JobId"])
    assert events.returncode == 0 and "Completed" in events.stdout


def test_a_failing_job_exits_non_zero_with_its_reason(
    stack: StackProcess, iris_csv: bytes, tmp_path: Path
) -> None:
    request = job_file(stack, tmp_path, iris_csv, model="no-such-model")
    submitted = cli(stack, tmp_path, "submit", str(request), "--wait")
    assert submitted.returncode == 1
    assert "ended Failed: Model 'no-such-model' does not exist" in submitted.stderr
    refused = cli(stack, tmp_path, "get", "not-a-job")
    assert refused.returncode == 1
    assert "404" in refused.stderr and "Traceback" not in refused.stderr


def test_cancel_with_the_client_and_the_cli(
    stack: StackProcess, iris_csv: bytes, slow_model: str, tmp_path: Path
) -> None:
    prefix = fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    with TransformJobs(stack.info["api_url"], stack.info["api_key"]) as client:
        # One record per request, each 2 s: the job runs for minutes, so the cancel lands on a
        # running job however long the command takes to start (a whole-file request would
        # finish in about 2 s, and a job that completes while stopping ends Completed).
        job = client.submit(
            request_for(
                stack.info["bucket"], prefix, model=slow_model, BatchStrategy="SingleRecord"
            )
        )
        wait_for(
            lambda: client.get(job.JobId).Status.value == "InProgress",
            timeout_s=60,
            what="the slow job to start",
        )
        cancelled = cli(stack, tmp_path, "cancel", job.JobId)
        assert cancelled.returncode == 0, cancelled.stderr
        assert "Stopping" in cancelled.stdout or "Stopped" in cancelled.stdout
        ended = client.wait(job, timeout=90, poll_interval=0.5)
    assert ended.Status.value == "Stopped"


def test_the_example_receiver_verifies_and_dedupes_a_real_delivery(
    stack: StackProcess, iris_csv: bytes, tmp_path: Path
) -> None:
    port = free_port()
    events_file = tmp_path / "events.jsonl"
    with TransformJobs(stack.info["api_url"], stack.info["api_key"]) as client:
        webhook = client.create_webhook(
            f"http://127.0.0.1:{port}/hooks", ["transform_job.completed"]
        )
        receiver = subprocess.Popen(  # noqa: S603 - the project's example
            [
                sys.executable,
                str(ROOT / "examples" / "webhook_receiver.py"),
                "--port",
                str(port),
                "--events-file",
                str(events_file),
            ],
            env={**os.environ, "TRANSFORM_JOBS_WEBHOOK_SECRET": webhook.Secret},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert receiver.stderr is not None
            assert "listening" in receiver.stderr.readline()
            prefix = fresh_prefix()
            upload(stack, f"{prefix}in/iris.csv", iris_csv)
            job = client.wait(client.submit(request_for(stack.info["bucket"], prefix)), timeout=90)

            def handled() -> list[dict[str, Any]]:
                if not events_file.exists():
                    return []
                lines = [json.loads(line) for line in events_file.read_text().splitlines()]
                return [line for line in lines if line["job_id"] == job.JobId]

            [event] = wait_for(handled, timeout_s=60, what="the receiver to handle the event")
            assert event["type"] == "transform_job.completed"
            assert event["status"] == "Completed"
            # A redelivery carries the same webhook-id: answered 2xx, not handled twice.
            delivery = next(d for d in client.deliveries(webhook.WebhookId) if d.JobId == job.JobId)
            client.redeliver(webhook.WebhookId, delivery.DeliveryId)

            def attempts() -> int:
                current = next(
                    d
                    for d in client.deliveries(webhook.WebhookId)
                    if d.DeliveryId == delivery.DeliveryId
                )
                return len(current.Attempts or [])

            wait_for(lambda: attempts() >= 2, timeout_s=60, what="the redelivery")
            assert len(handled()) == 1
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
            client.delete_webhook(webhook.WebhookId)


def test_swagger_ui_and_the_document_are_served_beside_the_api(stack: StackProcess) -> None:
    base = stack.info["api_url"].rsplit("/", 1)[0]
    assert stack.info["docs_url"] == f"{base}/docs"
    with urllib.request.urlopen(f"{base}/docs", timeout=10) as page:  # noqa: S310 - loopback
        assert page.status == 200 and b"swagger-ui-bundle.js" in page.read()
    with urllib.request.urlopen(f"{base}/docs/swagger-ui-bundle.js", timeout=10) as script:  # noqa: S310
        assert script.status == 200 and len(script.read()) > 100_000
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as document:  # noqa: S310
        served = json.loads(document.read())
    assert served["servers"][0]["url"] == stack.info["api_url"]
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert served["paths"] == committed["paths"]
