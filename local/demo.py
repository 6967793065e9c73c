"""`make demo`: one job through the running local stack with the `transform-jobs` command, as
a person on a team would run it.

Uploads the Iris CSV, submits a transform job on the sklearn-iris model and follows it to its
end (`submit --wait`), downloads the outputs (`outputs --download`) and prints their first lines,
then the job's history (`events`). Needs `make run` in another terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
STACK_FILE = ROOT / ".local" / "stack.json"


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


def cli(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """The transform-jobs command, as a person would type it (it finds the stack itself)."""
    command = [str(Path(sys.executable).parent / "transform-jobs"), *args]
    print("$ transform-jobs " + " ".join(args), flush=True)
    return subprocess.run(  # noqa: S603 - the project's own console script
        command, check=False, text=True, stdout=subprocess.PIPE if capture else None
    )


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
        print(f"uploaded s3://{stack['bucket']}/{key} (150 rows)\n")

        request = Path(scratch) / "job.json"
        request.write_text(json.dumps(job_request(stack["bucket"], run), indent=2))
        submitted = cli("--output", "json", "submit", str(request), "--wait", capture=True)
        if not submitted.stdout:
            return submitted.returncode or 1
        job = json.loads(submitted.stdout)
        print(f"job {job['JobId']} ended {job['Status']} {job.get('StatusReason') or ''}\n")

        downloads = Path(scratch) / "outputs"
        cli("outputs", job["JobId"], "--download", str(downloads))
        for path in sorted(downloads.rglob("*.out")):
            lines = path.read_text().splitlines()
            print(f"\n{path.name} ({len(lines)} lines), first 5:")
            print("\n".join(f"  {line}" for line in lines[:5]))
        print()
        cli("events", job["JobId"])
    return submitted.returncode


if __name__ == "__main__":
    sys.exit(main())
