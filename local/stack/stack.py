"""The whole service on one machine: the stand-ins, the local SageMaker, and the runtime serving
template.yaml, started in dependency order and stopped in reverse."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from local.iam.enforcement import IamSettings
from local.model_host.host import free_port
from local.runtime.api_docs import ApiDocs
from local.runtime.functions import AwsAccess
from local.runtime.runtime import LocalRuntime
from local.stack.backends import (
    REGION,
    S3RVER_CREDENTIALS,
    Backend,
    start_dynamodb,
    start_moto,
    start_s3,
)
from local.stack.processes import LOOPBACK, ManagedProcess
from transform_jobs.webhooks.retry_schedule import parse_schedule

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DATA_BUCKET = "transform-jobs-data"
TEAM = "local"
STAGE = "dev"
API_KEY_PREFIX = "tjk_"
# Local mode's settings for the functions (only where the template declares them): webhook
# receivers on this machine are reached over plain http; never so in AWS.
LOCAL_ENVIRONMENT = {"WEBHOOK_ALLOW_HTTP_LOOPBACK": "true"}
# Set in make run's environment, this replaces the webhook retry schedule (seconds between
# attempts, e.g. 1,1,1), so retries can be watched in seconds instead of days.
RETRY_SCHEDULE_VARIABLE = "LOCAL_WEBHOOK_RETRY_SCHEDULE"
# Set, this caps each preparation or reassembly step at so many seconds of work, so a job's
# checkpoints and continuations can be watched on small inputs.
WORK_SLICE_VARIABLE = "LOCAL_WORK_SLICE_SECONDS"
# Set, these compress what runs on minutes in AWS, so the repairs can be watched in seconds:
# every Schedule event fires this often (dispatch, reconcile and the webhook sweeper)...
SCHEDULE_VARIABLE = "LOCAL_SCHEDULE_SECONDS"
# ...template parameters, as `sam deploy --parameter-overrides` takes them
# ("ReconcileAfterSeconds=5 ServiceMaxRunningJobs=2")...
PARAMETERS_VARIABLE = "LOCAL_PARAMETER_OVERRIDES"
# ...and the webhook waits: the longest a queue message carries (SQS's 900 s; longer ones are
# the sweeper's), and how long the sweeper leaves a due delivery to its message (60 s).
WAIT_VARIABLES = {
    "LOCAL_WEBHOOK_MAX_QUEUE_DELAY_SECONDS": "WEBHOOK_MAX_QUEUE_DELAY_SECONDS",
    "LOCAL_WEBHOOK_SWEEP_GRACE_SECONDS": "WEBHOOK_SWEEP_GRACE_SECONDS",
    # How long a minute of a schedule's rate expression lasts (60 s): 1 makes rate(5 minutes)
    # run every 5 s, so a schedule's runs can be watched (with LOCAL_SCHEDULE_SECONDS=1).
    "LOCAL_SCHEDULE_MINUTE_SECONDS": "SCHEDULE_MINUTE_SECONDS",
}
# Local mode sets these parameters itself: the bootstrap's bucket and team depend on them.
FIXED_PARAMETERS = ("DataBucketNames", "Stage")
LOCK_FILE = "stack.lock"


def _whole_seconds(variable: str) -> str:
    value = os.environ.get(variable, "")
    if value and not value.isdigit():
        raise ValueError(f"{variable}: {value!r} is not whole seconds")
    return value


def parameter_overrides(text: str) -> dict[str, str]:
    """`Name=Value Name=Value` (LOCAL_PARAMETER_OVERRIDES) as a mapping."""
    overrides = {}
    for item in text.split():
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise ValueError(f"{PARAMETERS_VARIABLE}: {item!r} is not Name=Value")
        if name in FIXED_PARAMETERS:
            raise ValueError(f"{PARAMETERS_VARIABLE}: {name} is set by local mode")
        overrides[name] = value
    return overrides


def claim(data_dir: Path) -> IO[str]:
    """Holds the data dir's lock for as long as the returned file stays open. The kernel lets
    go when this process ends however it ends, so a killed stack leaves no stale lock."""
    lock = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise RuntimeError(
            f"another local stack (pid {holder}) is running on {data_dir}: stop it first"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def clear_leftovers(data_dir: Path, names: tuple[str, ...]) -> None:
    """What a stack that was killed leaves behind: its stack.json (no such stack runs: this
    one holds the lock) and the temporary files of writes it did not finish."""
    (data_dir / "stack.json").unlink(missing_ok=True)
    for name in names:
        for temporary in data_dir.glob(f".{name}.*.tmp"):
            temporary.unlink(missing_ok=True)


def _child_environment(access: AwsAccess) -> dict[str, str]:
    """A child server's environment: the few variables a process needs, and the stand-ins."""
    inherited = {
        name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR") if name in os.environ
    }
    return {**inherited, **access.environment()}


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read, whole or not at all (readers never see half)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


@dataclass
class LocalStack:
    """`start()` brings the service up under `data_dir`; `stop()` ends everything it started."""

    data_dir: Path
    port: int = 3000
    api_key: str | None = None
    template_path: Path = ROOT / "template.yaml"
    backends: list[Backend] = field(default_factory=list)
    sagemaker: ManagedProcess | None = None
    runtime: LocalRuntime | None = None
    info: dict[str, Any] = field(default_factory=dict)
    lock: IO[str] | None = None

    @property
    def parameters(self) -> dict[str, str]:
        """template.yaml's parameters in local mode."""
        overrides = parameter_overrides(os.environ.get(PARAMETERS_VARIABLE, ""))
        return {**overrides, "DataBucketNames": DATA_BUCKET, "Stage": STAGE}

    @property
    def schedule_period_s(self) -> float | None:
        seconds = _whole_seconds(SCHEDULE_VARIABLE)
        if seconds and int(seconds) < 1:
            raise ValueError(f"{SCHEDULE_VARIABLE}: at least 1 second")
        return float(seconds) if seconds else None

    @property
    def environment(self) -> dict[str, str]:
        """What local mode sets in the functions' environments (where they declare it)."""
        environment = dict(LOCAL_ENVIRONMENT)
        schedule = os.environ.get(RETRY_SCHEDULE_VARIABLE)
        if schedule:
            try:
                parse_schedule(schedule)
            except ValueError as error:
                raise ValueError(f"{RETRY_SCHEDULE_VARIABLE}: {error}") from None
            environment["WEBHOOK_RETRY_SCHEDULE"] = schedule
        work_slice = _whole_seconds(WORK_SLICE_VARIABLE)
        if work_slice:
            environment["WORK_SLICE_SECONDS"] = work_slice
        for variable, setting in WAIT_VARIABLES.items():
            if value := _whole_seconds(variable):
                environment[setting] = value
        return environment

    @property
    def iam(self) -> IamSettings:
        """LOCAL_IAM (enforce, audit, off) and LOCAL_IAM_USAGE_DIR: by default the functions'
        IAM policies are enforced and what they use is recorded under iam-usage/run/."""
        return IamSettings.from_environment(self.data_dir / "iam-usage" / "run")

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def start(self) -> dict[str, Any]:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.lock = claim(self.data_dir)
        try:
            clear_leftovers(self.data_dir, (self.stack_file.name, "api-key", "kms-seed"))
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, Any]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port()  # never a port handed to another local server
        key = self._api_key()
        dynamodb = self._add(start_dynamodb(self.data_dir / "dynamodb", log_dir=self.log_dir))
        s3 = self._add(start_s3(self.data_dir / "s3", log_dir=self.log_dir))
        moto = self._add(start_moto(log_dir=self.log_dir, kms_seed_file=self._kms_seed()))
        sagemaker_port = free_port()
        endpoints = {
            "dynamodb": dynamodb.endpoint,
            "s3": s3.endpoint,
            "sqs": moto.endpoint,
            "events": moto.endpoint,
            "kms": moto.endpoint,
            "sagemaker": f"http://{LOOPBACK}:{sagemaker_port}",
        }
        access = AwsAccess(endpoints, dict(S3RVER_CREDENTIALS), REGION)
        iam = self.iam
        # The runtime's rules must exist before SageMaker starts: it reports the jobs a
        # stop cut off as soon as it comes up.
        self.runtime = LocalRuntime(
            access,
            state_dir=self.data_dir / "runtime",
            template_path=self.template_path,
            parameters=self.parameters,
            port=self.port,
            environment_overrides=self.environment,
            api_docs=ApiDocs(),
            schedule_period_s=self.schedule_period_s,
            iam=iam,
        ).start()
        self.sagemaker = self._start_sagemaker(access, sagemaker_port)
        self._bootstrap(access, key)
        self.info = {
            "api_url": self.runtime.api_url,
            "docs_url": self.runtime.api_url.rsplit("/", 1)[0] + "/docs",
            "api_key": key,
            "team": TEAM,
            "bucket": DATA_BUCKET,
            "region": REGION,
            "credentials": dict(S3RVER_CREDENTIALS),
            "endpoints": endpoints,
            "parameters": self.parameters,
            "environment": self.environment,
            "iam": {"mode": iam.mode, "usage_dir": str(iam.usage_dir) if iam.usage_dir else None},
            # Physical names of the template's tables, queues and buckets (for operators' tools).
            "resources": self.runtime.resources(),
            "data_dir": str(self.data_dir),
            "logs": str(self.log_dir),
            "pid": os.getpid(),
        }
        write_private(self.stack_file, json.dumps(self.info, indent=2) + "\n")
        return self.info

    def _add(self, backend: Backend) -> Backend:
        self.backends.append(backend)
        return backend

    def _api_key(self) -> str:
        """LOCAL_API_KEY if given; else the key of an earlier start, kept under data_dir."""
        if self.api_key:
            if not self.api_key.startswith(API_KEY_PREFIX) or len(self.api_key) < 20:
                raise ValueError(
                    "LOCAL_API_KEY must start with 'tjk_' and be at least 20 characters "
                    "(for example: tjk_ followed by `openssl rand -hex 16`)"
                )
            return self.api_key
        saved = self.data_dir / "api-key"
        if saved.is_file():
            return saved.read_text().strip()
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        write_private(saved, key + "\n")
        return key

    def _kms_seed(self) -> Path:
        """The secret the local KMS derives its keys from, so they survive a restart."""
        seed = self.data_dir / "kms-seed"
        if not seed.is_file():
            write_private(seed, secrets.token_hex(32) + "\n")
        return seed

    def _start_sagemaker(self, access: AwsAccess, port: int) -> ManagedProcess:
        env = _child_environment(access)
        process = ManagedProcess(
            "sagemaker",
            [
                sys.executable,
                "-m",
                "local.sagemaker_service",
                "--data-dir",
                str(self.data_dir / "sagemaker"),
                "--port",
                str(port),
                "--event-bus",
                "default",
            ],
            log_path=self.log_dir / "sagemaker.log",
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            # SIGTERM, not SIGKILL: its shutdown stops the jobs' model processes, which live in
            # sessions of their own; their records stay running, so the next start fails them.
            on_parent_death=signal.SIGTERM,
        ).start()
        client = boto3.client(
            "sagemaker",
            endpoint_url=f"http://{LOOPBACK}:{port}",
            region_name=access.region,
            aws_access_key_id=access.credentials["aws_access_key_id"],
            aws_secret_access_key=access.credentials["aws_secret_access_key"],
        )
        try:
            process.wait_until(lambda: bool(client.list_models()) or True, 60)
        except BaseException:
            process.stop()
            raise
        return process

    def _bootstrap(self, access: AwsAccess, key: str) -> None:
        if self.runtime is None:
            raise RuntimeError("the runtime must be up before the bootstrap")
        env = _child_environment(access)
        env.update(
            TABLE_NAME=self.runtime.context.refs["JobsTable"],
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")]),
        )
        done = subprocess.run(
            [sys.executable, "-m", "local.stack.bootstrap"],
            input=json.dumps({"bucket": DATA_BUCKET, "api_key": key}),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bootstrap failed:\n{done.stderr[-3000:]}")
        created = json.loads(done.stdout.strip().splitlines()[-1])["models_created"]
        if created:
            log.info("registered example models: %s", ", ".join(created))

    def stop(self) -> None:
        """Stops everything in reverse order of starting; removes stack.json; lets go of the
        data dir."""
        if self.lock is None:
            return  # never started (or refused the data dir): nothing here is this stack's
        self.stack_file.unlink(missing_ok=True)
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if self.sagemaker is not None:
            self.sagemaker.stop(timeout_s=15)
            self.sagemaker = None
        for backend in reversed(self.backends):
            backend.stop()
        self.backends.clear()
        self.lock.close()
        self.lock = None
