"""Checking a job without starting it, and running a finished job again on a new model, over
HTTP on the local stack."""

from __future__ import annotations

import urllib.request

import pytest

from tests.e2e.conftest import StackProcess
from tests.e2e.support import IRIS_ROWS, fresh_prefix, request_for, upload

pytestmark = pytest.mark.e2e


def job_ids(stack: StackProcess) -> set[str]:
    listed = stack.api().call("GET", "/v1/jobs?MaxResults=100").body["Jobs"]
    return {job["JobId"] for job in listed}


def test_validate_checks_the_model_and_the_input_and_starts_nothing(
    stack: StackProcess, iris_csv: bytes
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    before = job_ids(stack)

    valid = api.call("POST", "/v1/jobs/validate", request_for(bucket, prefix))
    missing = api.call("POST", "/v1/jobs/validate", request_for(bucket, prefix, model="nope"))
    broken = api.call("POST", "/v1/jobs/validate", {"ModelName": "sklearn-iris"})

    assert valid.status == missing.status == broken.status == 200
    assert valid.body == {
        "Valid": True,
        "Errors": [],
        "Warnings": [],
        "Input": {"Objects": 1, "Bytes": len(iris_csv)},
    }
    assert missing.body["Valid"] is False
    assert [error["field"] for error in missing.body["Errors"]] == ["ModelName"]
    assert {error["field"] for error in broken.body["Errors"]} >= {
        "TransformInput",
        "TransformOutput",
        "TransformResources",
    }
    assert job_ids(stack) == before


def test_a_rerun_on_a_new_model_writes_beside_the_original(
    stack: StackProcess, iris_csv: bytes
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    first = api.submit(request_for(bucket, prefix))
    assert first.status == 202, first.body
    original = api.wait(first.body["JobId"])
    assert original["Status"] == "Completed", original

    again = api.call(
        "POST",
        f"/v1/jobs/{original['JobId']}/rerun",
        {"ModelName": "echo"},
        headers={"Idempotency-Key": f"rerun-{original['JobId']}"},
    )
    assert again.status == 202, again.body
    rerun = api.wait(again.body["JobId"])

    assert rerun["Status"] == "Completed", rerun
    assert rerun["RerunOf"] == original["JobId"]
    assert rerun["Request"]["ModelName"] == "echo"
    outputs = api.call("GET", f"/v1/jobs/{rerun['JobId']}/outputs").body["Outputs"]
    assert [output["S3Uri"] for output in outputs] == [
        f"s3://{bucket}/{prefix}out/reruns/{rerun['JobId']}/iris.csv.out"
    ]
    with urllib.request.urlopen(outputs[0]["Url"], timeout=30) as got:  # noqa: S310
        echoed = got.read().decode().splitlines()
    assert len(echoed) == IRIS_ROWS
    assert echoed == iris_csv.decode().splitlines()  # the echo model answers each row itself
    kept = stack.aws("s3").get_object(Bucket=bucket, Key=f"{prefix}out/iris.csv.out")
    assert len(kept["Body"].read().decode().splitlines()) == IRIS_ROWS
    assert api.call("GET", f"/v1/jobs/{original['JobId']}").body["Status"] == "Completed"
