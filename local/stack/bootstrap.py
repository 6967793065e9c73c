"""First-run setup of the local stack: the data bucket, the team `local` with its API key, and
the example models, created the way an operator and a team would create them in AWS.

Run by the stack as `python -m local.stack.bootstrap` with the local endpoints in the standard
AWS variables and its arguments as JSON on stdin (so the key never shows in a process list).
Everything here is idempotent: a second start finds the team, key, bucket and models again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import api_key_repository, team_repository
from transform_jobs.models.team import Team

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEAM = "local"
IMAGE = "local/recorded-never-pulled:latest"
ROLE = "arn:aws:iam::123456789012:role/transform-jobs-local-model"


def ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)


def ensure_team(bucket: str, key: str) -> None:
    """Team `local` may read and write anywhere in the bucket and use any model."""
    team_repository.put_team(
        Team(
            TeamId=TEAM,
            InputPrefixes=[f"s3://{bucket}/"],
            OutputPrefixes=[f"s3://{bucket}/"],
            Models=["*"],
            MaxRunningJobs=5,
        )
    )
    key_hash = api_keys.key_hash(key)
    if api_key_repository.team_for_key_hash(key_hash) != TEAM:
        team_repository.put_api_key(key_hash=key_hash, key_id=api_keys.key_id(key), team_id=TEAM)


def _model_exists(sagemaker: Any, name: str) -> bool:
    try:
        sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationException":
            return False
        raise
    return True


def _pack(files: dict[str, Path], archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)


def ensure_models(s3: Any, sagemaker: Any, bucket: str, scratch: Path) -> list[str]:
    """sklearn-iris (examples/sklearn_iris, trained here) and echo (examples/byo_server)."""
    created = []
    if not _model_exists(sagemaker, "sklearn-iris"):
        out = scratch / "sklearn_iris"
        subprocess.run(  # noqa: S603 - our own example script with our interpreter
            [sys.executable, str(EXAMPLES / "sklearn_iris" / "train.py"), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        key = "models/sklearn-iris/model.tar.gz"
        s3.upload_file(str(out / "model.tar.gz"), bucket, key)
        s3.upload_file(str(out / "iris.csv"), bucket, "examples/iris/iris.csv")
        sagemaker.create_model(
            ModelName="sklearn-iris",
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"},
            ExecutionRoleArn=ROLE,
        )
        created.append("sklearn-iris")
    if not _model_exists(sagemaker, "echo"):
        archive = scratch / "echo.tar.gz"
        _pack({"serve.py": EXAMPLES / "byo_server" / "serve.py"}, archive)
        key = "models/echo/model.tar.gz"
        s3.upload_file(str(archive), bucket, key)
        sagemaker.create_model(
            ModelName="echo",
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": f"s3://{bucket}/{key}",
                "Environment": {
                    "TRANSFORM_JOBS_SERVE_COMMAND": "{python} {model_dir}/serve.py --port {port}"
                },
            },
            ExecutionRoleArn=ROLE,
        )
        created.append("echo")
    return created


def main() -> int:
    arguments = json.load(sys.stdin)
    bucket, key = arguments["bucket"], arguments["api_key"]
    s3 = boto3.client("s3")
    sagemaker = boto3.client("sagemaker")
    ensure_bucket(s3, bucket)
    ensure_team(bucket, key)
    with tempfile.TemporaryDirectory() as scratch:
        created = ensure_models(s3, sagemaker, bucket, Path(scratch))
    print(json.dumps({"models_created": created}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
