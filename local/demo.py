"""`make demo`: one job through the running local stack, over HTTP, as a team would run it.

Uploads the Iris CSV, submits a transform job on the sklearn-iris model, follows it to its end,
and prints the first output lines and the job's history. Needs `make run` in another terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
STACK_FILE = ROOT / ".local" / "stack.json"
TERMINAL = {"Completed", "Failed", "Stopped"}


def call(stack: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local stack's own http URL
        stack["api_url"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {stack['api_key']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def job_request(bucket: str, run: str) -> dict[str, Any]:
    """The request shape of CreateTransformJob, as the service takes it."""
    return {
        "ModelName": "sklearn-iris",
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket}/demo/{run}/input/",
                }
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{bucket}/demo/{run}/output/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


def main() -> int:
    if not STACK_FILE.is_file():
        print("The local stack is not running: start it with `make run` first.", file=sys.stderr)
        return 1
    stack = json.loads(STACK_FILE.read_text())
    s3 = boto3.client(
        "s3",
        endpoint_url=stack["endpoints"]["s3"],
        region_name=stack["region"],
        **stack["credentials"],
    )
    run = time.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 - our own example script
            [sys.executable, str(ROOT / "examples/sklearn_iris/train.py"), "--out", scratch],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        key = f"demo/{run}/input/iris.csv"
        s3.upload_file(str(Path(scratch) / "iris.csv"), stack["bucket"], key)
    print(f"uploaded s3://{stack['bucket']}/{key} (150 rows)")

    status, job = call(stack, "POST", "/v1/jobs", job_request(stack["bucket"], run))
    if status != 202:
        print(f"submit failed ({status}): {json.dumps(job, indent=2)}", file=sys.stderr)
        return 1
    job_id = job["JobId"]
    print(f"submitted job {job_id}")
    started, seen = time.monotonic(), None
    while job["Status"] not in TERMINAL:
        if job["Status"] != seen:
            seen = job["Status"]
            print(f"  {time.monotonic() - started:5.1f} s  {seen}")
        time.sleep(0.5)
        _, job = call(stack, "GET", f"/v1/jobs/{job_id}")
    print(f"  {time.monotonic() - started:5.1f} s  {job['Status']} {job.get('StatusReason') or ''}")

    _, outputs = call(stack, "GET", f"/v1/jobs/{job_id}/outputs")
    for output in outputs.get("Outputs", []):
        with urllib.request.urlopen(output["Url"], timeout=30) as reply:  # noqa: S310
            lines = reply.read().decode().splitlines()
        print(f"\n{output['S3Uri']} ({len(lines)} lines), first 5:")
        print("\n".join(f"  {line}" for line in lines[:5]))

    _, events = call(stack, "GET", f"/v1/jobs/{job_id}/events")
    print("\nhistory:")
    for event in events.get("Events", []):
        reason = f"  ({event['Reason']})" if event.get("Reason") else ""
        print(f"  {event['Time']}  {event['Status']:<11} by {event['Source']}{reason}")
    return 0 if job["Status"] == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
