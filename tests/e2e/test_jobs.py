"""Jobs through the whole local stack, over HTTP and the S3 endpoint only."""

from __future__ import annotations

import io
import tarfile
import time
import urllib.request
from typing import Any

import joblib
import numpy as np
import pytest

from local.stack.launcher import descendants
from tests.e2e.client import ApiClient
from tests.e2e.conftest import StackProcess
from tests.e2e.support import (
    IRIS_ROWS,
    fresh_prefix,
    model_processes,
    other_team_key,
    request_for,
    upload,
    wait_for,
)

pytestmark = pytest.mark.e2e


def expected_predictions(stack: StackProcess, csv: bytes) -> list[str]:
    """What the example model predicts for each row, computed directly from its archive."""
    archive = (
        stack.aws("s3")
        .get_object(Bucket=stack.info["bucket"], Key="models/sklearn-iris/model.tar.gz")["Body"]
        .read()
    )
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        model = joblib.load(io.BytesIO(member.read()))
    rows = np.loadtxt(io.StringIO(csv.decode()), delimiter=",")
    return [str(int(label)) for label in model.predict(rows)]


def test_health_needs_no_key_and_jobs_need_one(stack: StackProcess) -> None:
    assert ApiClient(stack.info["api_url"], "").call("GET", "/v1/health").body == {"Status": "ok"}
    anonymous = ApiClient(stack.info["api_url"], "").call("GET", "/v1/jobs")
    assert anonymous.status == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    wrong = stack.api("tjk_" + "x" * 40).call("GET", "/v1/jobs")
    assert wrong.status in {401, 403}
    unrouted = stack.api().call("GET", "/v1/nothing-here")
    # API Gateway's MISSING_AUTHENTICATION_TOKEN, answered as the template's 404 problem
    assert unrouted.status == 404
    assert unrouted.headers["Content-Type"] == "application/problem+json"


def test_seed_request_runs_the_example_model_to_completed(
    stack: StackProcess, iris_csv: bytes
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    started = time.monotonic()
    reply = api.submit(
        request_for(
            bucket,
            prefix,
            MaxConcurrentTransforms=1,
            MaxPayloadInMB=6,
            BatchStrategy="MultiRecord",
        )
    )
    assert reply.status == 202, reply.body
    location = reply.headers["Location"]
    # The Location header resolves against the API URL to the job.
    job_url = api.resolve(location)
    assert job_url == f"{api.api_url}/v1/jobs/{reply.body['JobId']}"
    by_location = urllib.request.Request(job_url, headers={"Authorization": f"Bearer {api.key}"})  # noqa: S310
    with urllib.request.urlopen(by_location, timeout=30) as fetched:  # noqa: S310
        assert fetched.status == 200
    job = api.wait(reply.body["JobId"])
    elapsed = time.monotonic() - started
    assert job["Status"] == "Completed", job
    # Preparation's counters stay null for a job without InputPreparation.
    assert job["Progress"] == {
        "InputObjects": 1,
        "OutputObjects": 1,
        "RowsRead": None,
        "ShardsWritten": None,
        "ShardsDone": None,
    }

    outputs = api.call("GET", f"/v1/jobs/{job['JobId']}/outputs").body["Outputs"]
    assert [o["Key"] for o in outputs] == ["iris.csv.out"]
    assert outputs[0]["S3Uri"] == f"s3://{bucket}/{prefix}out/iris.csv.out"
    with urllib.request.urlopen(outputs[0]["Url"], timeout=30) as got:  # noqa: S310
        lines = got.read().decode().splitlines()
    assert len(lines) == IRIS_ROWS
    assert lines == expected_predictions(stack, iris_csv)

    statuses = [
        e["Status"] for e in api.call("GET", f"/v1/jobs/{job['JobId']}/events").body["Events"]
    ]
    assert statuses == ["Submitted", "Validating", "InProgress", "Completed"]
    print(f"POST to Completed in {elapsed:.1f} s")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing model", "does not exist in SageMaker"),
        ("empty prefix", "holds no objects"),
        ("header row", "header"),
    ],
)
def test_jobs_that_cannot_run_end_failed_with_the_reason(
    stack: StackProcess, iris_csv: bytes, case: str, reason: str
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    model = "sklearn-iris"
    if case == "missing model":
        upload(stack, f"{prefix}in/iris.csv", iris_csv)
        model = "no-such-model"
    elif case == "header row":
        upload(
            stack,
            f"{prefix}in/iris.csv",
            b"sepal_length,sepal_width,petal_length,petal_width\n" + iris_csv,
        )
    reply = api.submit(request_for(bucket, prefix, model=model))
    assert reply.status == 202, reply.body
    job = api.wait(reply.body["JobId"])
    assert job["Status"] == "Failed"
    assert reason in job["StatusReason"]
    assert stack.aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"{prefix}out/")["KeyCount"] == 0


def test_cancel_stops_the_job_and_its_model_processes(stack: StackProcess, slow_model: str) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/rows.csv", b"".join(b"%d\n" % i for i in range(50)))
    reply = api.submit(request_for(bucket, prefix, model=slow_model, BatchStrategy="SingleRecord"))
    job_id = reply.body["JobId"]
    job = api.wait(job_id, {"InProgress", *{"Completed", "Failed", "Stopped"}})
    assert job["Status"] == "InProgress"
    name = job["SageMakerJobName"]
    wait_for(lambda: model_processes(name), 30, "the slow model runs")

    cancelled = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status in {200, 202}, cancelled.body
    job = api.wait(job_id)
    assert job["Status"] == "Stopped"
    wait_for(lambda: not model_processes(name), 15, "the model's processes end")

    again = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert again.status == 200
    assert again.body["Status"] == "Stopped"


def test_cancel_of_a_completed_job_is_a_conflict(stack: StackProcess, iris_csv: bytes) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    job_id = api.submit(request_for(bucket, prefix)).body["JobId"]
    assert api.wait(job_id)["Status"] == "Completed"
    reply = api.call("POST", f"/v1/jobs/{job_id}/cancel")
    assert reply.status == 409
    assert reply.headers["Content-Type"] == "application/problem+json"


def test_another_team_cannot_see_or_cancel_the_job(stack: StackProcess, iris_csv: bytes) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    job_id = api.submit(request_for(bucket, prefix)).body["JobId"]
    other = stack.api(other_team_key(stack))
    assert other.call("GET", f"/v1/jobs/{job_id}").status == 404
    assert other.call("POST", f"/v1/jobs/{job_id}/cancel").status == 404
    assert other.call("GET", f"/v1/jobs/{job_id}/events").status == 404
    assert job_id not in [j["JobId"] for j in other.call("GET", "/v1/jobs").body["Jobs"]]
    assert api.wait(job_id)["Status"] == "Completed"  # the cancel attempt did nothing


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB"),
        ({"MaxPayloadInMB": 60, "MaxConcurrentTransforms": 2}, "MaxPayloadInMB"),
        ({"BatchStrategy": "Everything"}, "BatchStrategy"),
        ({"TransformOutput": {"S3OutputPath": "https://example.com/out/"}}, "S3OutputPath"),
    ],
)
def test_invalid_requests_are_refused_and_nothing_is_stored(
    stack: StackProcess, change: dict[str, Any], field: str
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    before = api.call("GET", "/v1/jobs?MaxResults=100").body["Jobs"]
    reply = api.submit(request_for(bucket, prefix, **change))
    assert 400 <= reply.status < 500
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert any(field in error["field"] for error in reply.body["errors"]), reply.body
    assert api.call("GET", "/v1/jobs?MaxResults=100").body["Jobs"] == before


def test_stack_processes_are_its_own(stack: StackProcess) -> None:
    """Every server the stack runs is a descendant of it (so stopping it can stop them all)."""
    assert stack.process is not None
    family = descendants(stack.process.pid)
    assert len(family) >= 4  # DynamoDB Local, s3rver, moto, SageMaker at least
