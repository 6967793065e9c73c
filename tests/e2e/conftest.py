"""The local stack as a user runs it: `python -m local.stack` in its own process group, driven
only over HTTP (the API and the AWS endpoints it prints). Started once per session on free ports;
every process it started is checked gone when it stops."""

from __future__ import annotations

import contextlib
import json
import os
import signal
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

from tests.e2e.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0


def _children() -> dict[int, int]:
    """pid → parent pid of every process (from /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = _children()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class StackProcess:
    """One `python -m local.stack` with its data under `data_dir`."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.log_path = data_dir.parent / f"{data_dir.name}-stack.log"
        self.started_in_s = 0.0

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def start(self) -> StackProcess:
        env = {**os.environ, **self.env}
        env.pop("PORT", None)
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - the project's own entry point
                [
                    sys.executable,
                    "-m",
                    "local.stack",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    "0",
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not self.stack_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() - started > START_TIMEOUT_S:
                self.stop()
                raise TimeoutError(f"the stack was not up in {START_TIMEOUT_S:g} s:\n{self.log()}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - started
        self.info = json.loads(self.stack_file.read_text())
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> tuple[float, set[int]]:
        """SIGTERM to the process group; returns the seconds it took and what outlived it."""
        if self.process is None:
            return 0.0, set()
        family = descendants(self.process.pid) | {self.process.pid}
        started = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        deadline = started + STOP_TIMEOUT_S
        while any(alive(pid) for pid in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        took = time.monotonic() - started
        survivors = {pid for pid in family if alive(pid)}
        for pid in survivors:  # never leave a process behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
        return took, survivors

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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    running = StackProcess(tmp_path_factory.mktemp("e2e") / "data").start()
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
