"""The local stack as a user runs it: `python -m local.stack` in its own process group, driven
only over HTTP (the API and the AWS endpoints it prints). Started once per session on free ports;
every process it started is checked gone when it stops."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.stack import launcher
from local.stack.launcher import ROOT
from tests.e2e.client import ApiClient


class StackProcess(launcher.StackProcess):
    """The launched stack with clients for its API and its AWS endpoints."""

    # ------------------------------------------------------------------ clients

    def api(self, key: str | None = None) -> ApiClient:
        return ApiClient(self.info["api_url"], self.info["api_key"] if key is None else key)

    def aws(self, service: str) -> Any:
        endpoint_service = {"events": "events"}.get(service, service)
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.info["endpoints"][endpoint_service],
            region_name=self.info["region"],
            **self.info["credentials"],
        )


@pytest.fixture(scope="session", autouse=True)
def iam_usage() -> Iterator[Path]:
    """Every stack of the run enforces IAM (the default) and records what each function used
    in one place that `make iam-report` reads: .local/iam-usage/e2e-<run>/ (xdist's workers
    share the run's id)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or time.strftime("%Y%m%dT%H%M%S")
    usage = ROOT / ".local" / "iam-usage" / f"e2e-{run}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCAL_IAM_USAGE_DIR", str(usage))
        patch.delenv("LOCAL_IAM", raising=False)
        yield usage


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    # Webhook retries a second apart, so the tests watch a whole schedule; preparation and
    # reassembly steps of a second, so jobs continue from checkpoints as they would in Lambda.
    settings = {
        "LOCAL_WEBHOOK_RETRY_SCHEDULE": ",".join(["1"] * 9),
        "LOCAL_WORK_SLICE_SECONDS": "1",
    }
    running = StackProcess(tmp_path_factory.mktemp("e2e") / "data", env=settings).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def iris_csv() -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 - the example's own training script
            [sys.executable, str(ROOT / "examples/sklearn_iris/train.py"), "--out", scratch],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return (Path(scratch) / "iris.csv").read_bytes()


@pytest.fixture(scope="session")
def slow_model(stack: StackProcess) -> str:
    """A team's own model, created the way teams create models: CreateModel on the SageMaker
    endpoint, with the echo server's archive and a delay that keeps a job running."""
    name = "echo-slow"
    sagemaker = stack.aws("sagemaker")
    try:
        sagemaker.describe_model(ModelName=name)
    except ClientError:
        sagemaker.create_model(
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
