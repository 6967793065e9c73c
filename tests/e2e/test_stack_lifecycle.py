"""Stopping and starting the local stack: nothing outlives it, and a restart finds its data."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from local.stack.launcher import STOP_TIMEOUT_S
from tests.e2e.conftest import StackProcess
from tests.e2e.support import fresh_prefix, model_processes, request_for, upload, wait_for
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

INTERRUPTED = "The local SageMaker service stopped while the job was running."


def test_stop_and_restart(
    stack: StackProcess, slow_model: str, iris_csv: bytes, receiver: Receiver
) -> None:
    api, bucket = stack.api(), stack.info["bucket"]
    done_prefix, running_prefix = fresh_prefix(), fresh_prefix()
    upload(stack, f"{done_prefix}in/iris.csv", iris_csv)
    finished = api.submit(request_for(bucket, done_prefix)).body["JobId"]
    assert api.wait(finished)["Status"] == "Completed"

    upload(stack, f"{running_prefix}in/rows.csv", b"".join(b"%d\n" % i for i in range(50)))
    cut_off = api.submit(
        request_for(bucket, running_prefix, model=slow_model, BatchStrategy="SingleRecord")
    ).body["JobId"]
    job = api.wait(cut_off, {"InProgress", "Completed", "Failed", "Stopped"})
    assert job["Status"] == "InProgress"
    wait_for(lambda: model_processes(job["SageMakerJobName"]), 30, "the slow model runs")

    subscribed = (
        stack.api()
        .call("POST", "/v1/webhooks", {"Url": receiver.url, "EventTypes": ["transform_job.failed"]})
        .body
    )

    old_key = stack.info["api_key"]
    took, survivors = stack.stop()
    assert took < STOP_TIMEOUT_S
    assert survivors == set()
    assert not model_processes(job["SageMakerJobName"])
    assert not stack.stack_file.exists()

    new_key = "tjk_" + uuid.uuid4().hex
    stack.env["LOCAL_API_KEY"] = new_key
    stack.start()
    assert stack.started_in_s < 60
    print(f"stopped in {took:.1f} s, restarted in {stack.started_in_s:.1f} s")
    assert stack.info["api_key"] == new_key
    api = stack.api()
    assert stack.api(old_key).call("GET", f"/v1/jobs/{finished}").status == 200

    assert api.job(finished)["Status"] == "Completed"
    outputs = api.call("GET", f"/v1/jobs/{finished}/outputs").body["Outputs"]
    with urllib.request.urlopen(outputs[0]["Url"], timeout=30) as got:  # noqa: S310
        assert len(got.read().decode().splitlines()) == 150

    failed = api.wait(cut_off, {"Failed", "Completed", "Stopped"}, timeout_s=60)
    assert failed["Status"] == "Failed"
    assert INTERRUPTED in failed["StatusReason"]

    # The subscription and its secret (under the local KMS) survived: the failure is
    # delivered, and it verifies with the secret shown before the restart.
    def failure_event() -> dict[str, Any] | None:
        for got in receiver.received:
            if json.loads(got["body"])["data"].get("JobId") == cut_off:
                return got
        return None

    got = wait_for(failure_event, 30, "the transform_job.failed event arrives")
    event = Webhook(subscribed["Secret"]).verify(got["body"], got["headers"])
    assert event["type"] == "transform_job.failed"
