"""The template's functions as local Lambda functions: each runs in its own worker processes.

A worker (lambda_worker.py) is one execution environment: started with a clean environment
holding only what the template gives the function (resolved to local resources), the Lambda
runtime's variables and the per-service endpoint variables that point boto3 at the stand-ins;
its PYTHONPATH is the function's CodeUri and its layers. Workers stay warm between invocations,
as Lambda's do; a function gets a new worker per concurrent invocation up to its concurrency.
A timed-out invocation kills its worker, as Lambda ends a timed-out environment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from local.runtime.template import Context, FunctionSpec, Template, resolve

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
DEFAULT_CONCURRENCY = 4
INIT_TIMEOUT_S = 10.0  # Lambda's init phase has its own 10 seconds, apart from the timeout

# boto3 reads AWS_ENDPOINT_URL_<SERVICE>; these are the services the stack's stand-ins answer.
ENDPOINT_VARIABLES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "dynamodbstreams": "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    "s3": "AWS_ENDPOINT_URL_S3",
    "sqs": "AWS_ENDPOINT_URL_SQS",
    "events": "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "kms": "AWS_ENDPOINT_URL_KMS",
    "sagemaker": "AWS_ENDPOINT_URL_SAGEMAKER",
}
# Passed through from the runtime's own environment: nothing that could point at real AWS.
_INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")


class InvocationError(Exception):
    """The function failed: its error payload (errorType, errorMessage, stackTrace)."""

    def __init__(self, function: str, error: Mapping[str, Any]) -> None:
        self.error = dict(error)
        super().__init__(
            f"{function}: {error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        )


@dataclass(frozen=True)
class LocalFunction:
    """A function as the local runtime runs it, with everything resolved."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_invoke_config: dict[str, Any] = field(default_factory=dict)
    # Local mode's own variables for the worker (its IAM policy), never the function's.
    runtime_environment: dict[str, str] = field(default_factory=dict)

    @property
    def short_name(self) -> str:
        """The directory name under functions/ (jobs_api for JobsApiFunction)."""
        return self.code_dir.name


def local_functions(
    template: Template,
    context: Context,
    *,
    root: Path,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, LocalFunction]:
    """Every function of the template, resolved against `context`, by logical id.

    `overrides` replaces environment variables a function declares (and only those), as
    `sam local --env-vars` does: local mode's settings, never new variables.
    """
    functions: dict[str, LocalFunction] = {}
    for spec in template.functions():
        function = _local_function(template, spec, context, root)
        for name, value in (overrides or {}).items():
            if name in function.environment:
                function.environment[name] = value
        functions[spec.logical_id] = function
    return functions


def _local_function(
    template: Template, spec: FunctionSpec, context: Context, root: Path
) -> LocalFunction:
    environment = {
        name: _env_value(value) for name, value in resolve(spec.environment, context).items()
    }
    layer_dirs = []
    for layer in resolve(spec.layers, context):
        logical_id = _layer_logical_id(template, layer, context)
        content = (template.resources[logical_id].get("Properties") or {}).get("ContentUri", "")
        directory = (root / str(content)).resolve()
        # A layer's importable code sits in python/ when it is laid out as Lambda unpacks it.
        layer_dirs.append(directory / "python" if (directory / "python").is_dir() else directory)
    return LocalFunction(
        logical_id=spec.logical_id,
        name=str(context.refs.get(spec.logical_id, spec.logical_id)),
        arn=str(context.attributes.get((spec.logical_id, "Arn"), "")),
        handler=spec.handler,
        code_dir=(root / spec.code_uri).resolve(),
        layer_dirs=tuple(layer_dirs),
        timeout_s=spec.timeout,
        memory_mb=spec.memory,
        environment=environment,
        events=resolve(spec.events, context),
        event_invoke_config=resolve(spec.event_invoke_config, context),
    )


def _layer_logical_id(template: Template, resolved: Any, context: Context) -> str:
    for logical_id, name in context.refs.items():
        if name == resolved and logical_id in template.resources:
            return logical_id
    raise ValueError(f"layer {resolved!r} is not a layer of this template")


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class AwsAccess:
    """How a function reaches the stand-ins: endpoints per service, credentials, region."""

    endpoints: dict[str, str]
    credentials: dict[str, str]
    region: str = "us-east-1"

    def environment(self) -> dict[str, str]:
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.credentials["aws_secret_access_key"],
            # No profile, config file or instance metadata: only the stand-ins are reachable.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for service, url in self.endpoints.items():
            if service in ENDPOINT_VARIABLES:
                env[ENDPOINT_VARIABLES[service]] = url
        return env


class _Worker:
    """One warm execution environment of a function."""

    def __init__(self, function: LocalFunction, access: AwsAccess, log_file: IO[bytes]) -> None:
        self.function = function
        read_fd, write_fd = os.pipe()
        env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        env.update(access.environment())
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "LAMBDA_TASK_ROOT": str(function.code_dir),
                "LOCAL_LAMBDA_FUNCTION_ARN": function.arn,
                "LOCAL_LAMBDA_RESULT_FD": str(write_fd),
                "LOCAL_LAMBDA_RUNTIME_PID": str(os.getpid()),
                "_HANDLER": function.handler,
                "PYTHONPATH": os.pathsep.join(
                    str(path) for path in (function.code_dir, *function.layer_dirs)
                ),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(function.environment)
        env.update(function.runtime_environment)
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=log_file,
            cwd=function.code_dir,
            env=env,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "r")
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._ready = False
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        for line in self._results:
            self._answers.put(line)
        self._answers.put(None)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _wait_ready(self) -> dict[str, Any] | None:
        """Waits out the init phase (importing the handler); a failure answer if it did not end."""
        if self._ready:
            return None
        try:
            line = self._answers.get(timeout=INIT_TIMEOUT_S)
        except queue.Empty:
            self.kill()
            return _failure("Runtime.InitError", f"Init timed out after {INIT_TIMEOUT_S:g} seconds")
        if line is None:
            self.process.wait()
            return _failure(
                "Runtime.ExitError",
                f"The execution environment exited during init ({self.process.returncode}).",
            )
        self._ready = True
        return None

    def invoke(self, event: Any, request_id: str, timeout_s: float) -> dict[str, Any]:
        not_ready = self._wait_ready()
        if not_ready is not None:
            return not_ready
        deadline_ms = int((time.time() + timeout_s) * 1000)
        request = {"request_id": request_id, "event": event, "deadline_ms": deadline_ms}
        if self.process.stdin is None:
            return _failure("Runtime.ExitError", "The execution environment has no input.")
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return _failure("Runtime.ExitError", "The execution environment exited.")
        try:
            line = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            return _failure("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds")
        if line is None:
            self.process.wait()
            return _failure(
                "Runtime.ExitError",
                f"The execution environment exited with status {self.process.returncode}.",
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def kill(self) -> None:
        """Ends the environment and anything it started (its own process group)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()

    def close_input(self) -> None:
        """The worker's loop ends at the end of its input, after any invocation in progress."""
        if self.process.stdin and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def stop(self, timeout_s: float = 5) -> None:
        self.close_input()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


def _failure(error_type: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"errorType": error_type, "errorMessage": message}}


class FunctionPool:
    """Invokes one function with up to `concurrency` warm workers at once."""

    def __init__(
        self,
        function: LocalFunction,
        access: AwsAccess,
        *,
        log_dir: Path,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.function = function
        self.access = access
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{function.logical_id}.log"
        self._log_file = self.log_path.open("ab")
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._stopping: list[_Worker] = []

    def invoke(self, event: Any, *, request_id: str | None = None) -> Any:
        """The handler's return value; raises InvocationError when the function fails."""
        answer = self.invoke_raw(event, request_id=request_id)
        if not answer["ok"]:
            raise InvocationError(self.function.logical_id, answer["error"])
        return answer.get("result")

    def invoke_raw(self, event: Any, *, request_id: str | None = None) -> dict[str, Any]:
        request_id = request_id or str(uuid.uuid4())
        with self._slots:
            worker = self._take()
            started = time.monotonic()
            try:
                answer = worker.invoke(event, request_id, self.function.timeout_s)
            finally:
                self._give_back(worker)
        elapsed_ms = (time.monotonic() - started) * 1000
        level = logging.DEBUG if answer["ok"] else logging.WARNING
        log.log(
            level,
            "%s %s in %.0f ms%s",
            self.function.logical_id,
            "ok" if answer["ok"] else "failed",
            elapsed_ms,
            "" if answer["ok"] else f": {answer['error'].get('errorMessage', '')}",
        )
        return answer

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.alive():
                return worker
            self._forget(worker)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.function.logical_id} is stopped")
            worker = _Worker(self.function, self.access, self._log_file)
            self._all.append(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        if worker.alive() and not self._closed:
            self._idle.put(worker)
        else:
            self._forget(worker)
            if self._closed:
                worker.stop()

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def begin_stop(self) -> None:
        """Takes no more invocations; idle workers end now, busy ones after their invocation."""
        with self._lock:
            self._closed = True
            self._stopping = list(self._all)
            self._all.clear()
        for worker in self._stopping:
            worker.close_input()

    def stop(self, deadline: float | None = None) -> None:
        """Ends every worker; those still busy at `deadline` (default: 3 s from now) are
        killed, and their invocations fail, as in a Lambda environment that is shut down."""
        if not self._closed:
            self.begin_stop()
        deadline = time.monotonic() + 3 if deadline is None else deadline
        for worker in self._stopping:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
        self._log_file.close()
