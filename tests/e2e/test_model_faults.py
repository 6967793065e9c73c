"""Models that break in the middle of a job, on the whole local stack over HTTP: each fault fails
the object it is tied to, with a reason that says which object, which records and what happened,
while the job's other objects go on and keep their outputs."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack.launcher import ROOT, descendants
from tests.e2e.conftest import StackProcess
from tests.e2e.support import fresh_prefix, model_processes, request_for, upload

pytestmark = pytest.mark.e2e

SCRIPTED_MODEL = ROOT / "tests/support/scripted_model.py"
MARKER = "poison"


@pytest.fixture(scope="module")
def scripted_archive(stack: StackProcess) -> str:
    """The scripted model server packed as a team packs a bring-your-own server: model.tar.gz."""
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as tar:
        tar.add(SCRIPTED_MODEL, arcname="scripted_model.py")
    key = "models/scripted/model.tar.gz"
    upload(stack, key, packed.getvalue())
    return f"s3://{stack.info['bucket']}/{key}"


def faulty_model(stack: StackProcess, archive: str, name: str, *flags: str) -> str:
    """CreateModel for the scripted server started with `flags`, unless it exists already."""
    sagemaker = stack.aws("sagemaker")
    try:
        sagemaker.describe_model(ModelName=name)
    except ClientError:
        command = "{python} {model_dir}/scripted_model.py --port {port} " + " ".join(flags)
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/scripted:latest",
                "ModelDataUrl": archive,
                "Environment": {"TRANSFORM_JOBS_SERVE_COMMAND": command},
            },
            ExecutionRoleArn="arn:aws:iam::123456789012:role/team-model",
        )
    return name


def run_job(stack: StackProcess, prefix: str, model: str, **overrides: Any) -> dict[str, Any]:
    api = stack.api()
    request = request_for(
        stack.info["bucket"], prefix, model=model, BatchStrategy="MultiRecord", **overrides
    )
    reply = api.submit(request)
    assert reply.status == 202, reply.body
    return api.wait(reply.body["JobId"])


def outputs(stack: StackProcess, prefix: str) -> dict[str, bytes]:
    s3, bucket = stack.aws("s3"), stack.info["bucket"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}out/").get("Contents", [])
    return {
        item["Key"].removeprefix(f"{prefix}out/"): s3.get_object(Bucket=bucket, Key=item["Key"])[
            "Body"
        ].read()
        for item in listed
    }


def zombie_children(parent: int) -> set[int]:
    """Children of `parent` that have ended but were never reaped."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent_pid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if state == "Z" and int(parent_pid) == parent:
            found.add(int(entry.name))
    return found


def sagemaker_service_pid(stack: StackProcess) -> int:
    """The local SageMaker service's process: the parent of every model process."""
    assert stack.process is not None
    for pid in descendants(stack.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"local.sagemaker_service" in cmdline:
            return pid
    raise AssertionError("the stack runs no local SageMaker service")


@contextmanager
def watching_processes(job_name: str) -> Iterator[set[int]]:
    """Every model process of the job seen while the block runs (sampled every 20 ms)."""
    seen: set[int] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            seen.update(model_processes(job_name))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


def test_a_model_killed_mid_job_fails_its_object_and_the_job_leaves_no_process(
    stack: StackProcess, scripted_archive: str
) -> None:
    model = faulty_model(stack, scripted_archive, "scripted-killed", "--kill-on", MARKER)
    bucket, prefix = stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/a.csv", b"1\n2\n3\n")
    upload(stack, f"{prefix}in/b.csv", b"4\npoison\n6\n")
    upload(stack, f"{prefix}in/c.csv", b"7\n8\n9\n")
    api = stack.api()
    reply = api.submit(request_for(bucket, prefix, model=model, BatchStrategy="MultiRecord"))
    assert reply.status == 202, reply.body
    name = api.job(reply.body["JobId"])["SageMakerJobName"]
    with watching_processes(name) as seen:
        job = api.wait(reply.body["JobId"])

    assert job["Status"] == "Failed"
    assert (
        f"s3://{bucket}/{prefix}in/b.csv: records 0..2: the model process was killed by SIGKILL"
        in job["StatusReason"]
    ), job["StatusReason"]
    assert "a.csv" not in job["StatusReason"]
    assert "c.csv" not in job["StatusReason"]
    # c.csv came after the kill: a fresh model process transformed it.
    assert outputs(stack, prefix) == {"a.csv.out": b"1\n2\n3\n", "c.csv.out": b"7\n8\n9\n"}
    assert seen, "the job's model processes were never seen running"
    assert not model_processes(name)
    # Not even a zombie: every process the job ran was reaped, the killed one included.
    assert not [pid for pid in seen if Path(f"/proc/{pid}").exists()]
    assert not zombie_children(sagemaker_service_pid(stack))


def test_a_model_answering_500_fails_its_object_with_the_status_and_the_answer(
    stack: StackProcess, scripted_archive: str
) -> None:
    model = faulty_model(stack, scripted_archive, "scripted-500", "--fail-on", MARKER)
    bucket, prefix = stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/a.csv", b"1\npoison\n3\n")
    upload(stack, f"{prefix}in/b.csv", b"4\n5\n6\n")

    job = run_job(stack, prefix, model, ModelClientConfig={"InvocationsMaxRetries": 1})

    assert job["Status"] == "Failed"
    assert (
        f"s3://{bucket}/{prefix}in/a.csv: records 0..2: HTTP 500 after 2 attempts: "
        "scripted failure: the batch holds poison" in job["StatusReason"]
    ), job["StatusReason"]
    assert outputs(stack, prefix) == {"b.csv.out": b"4\n5\n6\n"}


def test_a_model_that_never_answers_fails_its_object_after_its_timeout_and_retries(
    stack: StackProcess, scripted_archive: str
) -> None:
    model = faulty_model(stack, scripted_archive, "scripted-hung", "--hang-on", MARKER)
    bucket, prefix = stack.info["bucket"], fresh_prefix()
    upload(stack, f"{prefix}in/a.csv", b"1\npoison\n3\n")
    upload(stack, f"{prefix}in/b.csv", b"4\n5\n6\n")
    started = time.monotonic()

    job = run_job(
        stack,
        prefix,
        model,
        ModelClientConfig={"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 1},
    )

    assert job["Status"] == "Failed"
    assert (
        f"s3://{bucket}/{prefix}in/a.csv: records 0..2: no answer within 1 s after 2 attempts"
        in job["StatusReason"]
    ), job["StatusReason"]
    assert outputs(stack, prefix) == {"b.csv.out": b"4\n5\n6\n"}
    # Two attempts of one second, not SageMaker's default of 600 s each.
    assert time.monotonic() - started < 60


def test_a_model_answering_fewer_records_than_its_batch_fails_its_object_naming_the_batch(
    stack: StackProcess, scripted_archive: str
) -> None:
    model = faulty_model(stack, scripted_archive, "scripted-short", "--drop-on", MARKER)
    bucket, prefix = stack.info["bucket"], fresh_prefix()
    # 140,000 records of 8 bytes with MaxPayloadInMB 1: the first batch holds exactly
    # 1,048,576 / 8 = 131,072 of them, the second the 8,928 others, the marker last.
    records = [b"%07d\n" % number for number in range(140_000)]
    records[-1] = b"poison!\n"
    upload(stack, f"{prefix}in/a.csv", b"".join(records))
    upload(stack, f"{prefix}in/b.csv", b"4\n5\n6\n")

    job = run_job(
        stack,
        prefix,
        model,
        MaxPayloadInMB=1,
        TransformOutput={
            "S3OutputPath": f"s3://{bucket}/{prefix}out/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
    )

    assert job["Status"] == "Failed"
    assert (
        f"s3://{bucket}/{prefix}in/a.csv: records 131072..139999: "
        "the model answered 8927 records for 8928 sent" in job["StatusReason"]
    ), job["StatusReason"]
    assert outputs(stack, prefix) == {"b.csv.out": b"4\n5\n6\n"}
