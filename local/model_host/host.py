"""Run a model as its own process (own session) on a free loopback port, and the environment,
interpreter and health checks that go with it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import shlex
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

HOST = "127.0.0.1"
PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
SERVE_COMMAND_ENV = "TRANSFORM_JOBS_SERVE_COMMAND"
REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_BYTES = 4096

BATCH_STRATEGIES = {"MultiRecord": "MULTI_RECORD", "SingleRecord": "SINGLE_RECORD"}

Installer = Callable[[Path, Path], None]


class ModelUnhealthy(Exception):
    """The model never answered GET /ping with 200 (or its process ended first)."""

    def __init__(self, reason: str, log_tail: str) -> None:
        message = reason if not log_tail else f"{reason}\n--- model log (tail) ---\n{log_tail}"
        super().__init__(message)
        self.reason = reason
        self.log_tail = log_tail


def exit_description(code: int) -> str:
    """How a process ended, from Popen's returncode (negative: the signal that ended it)."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"was killed by {name}"


class RequirementsFailed(Exception):
    """code/requirements.txt could not be installed into the model's virtualenv."""


def container_environment(
    model_env: Mapping[str, str], job_env: Mapping[str, str] | None, request: Mapping[str, Any]
) -> dict[str, str]:
    """The model container's environment: the Model's, overlaid by the job's, plus what Batch
    Transform sets (the three limits only when the CreateTransformJob request set them)."""
    env = {**model_env, **(job_env or {})}
    env["SAGEMAKER_BATCH"] = "true"
    if request.get("MaxPayloadInMB") is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(request["MaxPayloadInMB"])
    if request.get("BatchStrategy") is not None:
        strategy = str(request["BatchStrategy"])
        env["SAGEMAKER_BATCH_STRATEGY"] = BATCH_STRATEGIES.get(strategy, strategy.upper())
    if request.get("MaxConcurrentTransforms") is not None:
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(request["MaxConcurrentTransforms"])
    return {key: str(value) for key, value in env.items()}


def requirements_key(requirements: bytes, python: str = sys.executable) -> str:
    """The venv cache key: the requirements' content and the interpreter the venv is made from
    (a venv built on one Python is no use to another)."""
    digest = hashlib.sha256()
    digest.update(f"{python}\0{sys.version_info.major}.{sys.version_info.minor}\0".encode())
    digest.update(requirements)
    return digest.hexdigest()[:32]


def install_requirements(requirements: Path, venv: Path) -> None:
    """As the framework containers do: pip install -r code/requirements.txt, here into a venv that
    still sees this interpreter's packages (the containers' framework stack)."""
    # Absolute: pip runs in the code dir.
    requirements, venv = requirements.resolve(), venv.resolve()
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=None)
    python = venv / "bin" / "python"
    # --system-site-packages reaches the base interpreter only; when this one is itself a venv
    # (numpy, scikit-learn live there), a .pth file adds its site-packages after the venv's own.
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    parent_sites = [path for path in site.getsitepackages() if Path(path).is_dir()]
    Path(purelib.strip(), "_transform_jobs_parent.pth").write_text("\n".join(parent_sites) + "\n")
    # cwd: relative lines (./wheels/x.whl, -e .) resolve against the code dir, as in a container.
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    _run([*pip, "-r", requirements.name], cwd=requirements.parent)


def _run(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(  # noqa: S603 (a fixed command line, no shell)
        command, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-LOG_TAIL_BYTES:]
        raise RequirementsFailed(f"{shlex.join(command)} exited {done.returncode}:\n{tail}")
    return done.stdout


def python_for(
    model_dir: Path, cache_dir: Path, installer: Installer = install_requirements
) -> str:
    """The interpreter for a model: this one, or, when the archive has code/requirements.txt, a
    venv with them installed (made once per key under cache_dir, shared across jobs)."""
    requirements = model_dir / "code" / "requirements.txt"
    if not requirements.is_file():
        return sys.executable
    cache_dir = cache_dir.resolve()
    venv = cache_dir / requirements_key(
        requirements.read_bytes() + _local_dependencies(requirements.parent)
    )
    done = venv / ".installed"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f"{venv.name}.lock"):
        if not done.exists():
            # A venv without the marker is a failed or interrupted install: start again.
            _remove(venv)
            installer(requirements, venv)
            done.touch()
    return str(venv / "bin" / "python")


def _local_dependencies(code_dir: Path) -> bytes:
    """What else in code/ requirements.txt may install (wheels, local packages), fingerprinted,
    so two models with the same requirements but different local files get different venvs."""
    digest = hashlib.sha256()
    found = False
    for path in sorted(code_dir.rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".pyc") or path.name == "requirements.txt":
            continue
        found = True
        digest.update(str(path.relative_to(code_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return b"\0local:" + digest.hexdigest().encode() if found else b""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two jobs on the same model must not install into the same venv at once.
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


_ports_lock = threading.Lock()
_ports_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, and not given to another model of this process that may
    not have bound it yet (a job starts its instances at once); the model binds it moments later."""
    with _ports_lock:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((HOST, 0))
                port: int = probe.getsockname()[1]
            if port not in _ports_handed_out:
                _ports_handed_out.add(port)
                return port


def release_port(port: int) -> None:
    with _ports_lock:
        _ports_handed_out.discard(port)


def serve_command_line(
    command: str | None, *, python: str, model_dir: Path, port: int
) -> list[str]:
    """The argv to run: the built-in contract server, or a bring-your-own command line with
    {port}, {model_dir} and {python} filled in."""
    if command is None:
        server = ["-m", "local.model_host.serve", "--model-dir", str(model_dir)]
        return [python, *server, "--port", str(port)]
    values = {"{port}": str(port), "{model_dir}": str(model_dir), "{python}": python}
    argv = [_fill(word, values) for word in shlex.split(command)]
    if not argv:
        raise ValueError(f"{SERVE_COMMAND_ENV} is empty")
    return argv


def _fill(word: str, values: Mapping[str, str]) -> str:
    for placeholder, value in values.items():
        word = word.replace(placeholder, value)
    return word


def start_model(
    model_dir: Path,
    *,
    environment: Mapping[str, str],
    serve_command: str | None = None,
    python: str | None = None,
    log_path: Path | None = None,
) -> RunningModel:
    """Start serving a model dir. serve_command None means the environment's
    TRANSFORM_JOBS_SERVE_COMMAND if set, else the built-in server; python None means this one."""
    model_dir = model_dir.resolve()
    python = python or sys.executable
    command = serve_command if serve_command is not None else environment.get(SERVE_COMMAND_ENV)
    owns_log = log_path is None
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="model-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    try:
        argv = serve_command_line(command, python=python, model_dir=model_dir, port=port)
        env = _process_environment(environment, python=python, port=port, builtin=command is None)
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 (the Model's own command, no shell)
                argv,
                cwd=model_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: stop() signals the whole group, a BYO server's children too.
                start_new_session=True,
            )
    except BaseException:
        release_port(port)
        if owns_log:
            log_path.unlink(missing_ok=True)
        raise
    return RunningModel(process, port=port, log_path=log_path, owns_log=owns_log)


_INHERITED = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SYSTEMROOT"})


def _process_environment(
    environment: Mapping[str, str], *, python: str, port: int, builtin: bool
) -> dict[str, str]:
    # A container starts from a clean environment: pass on only what a process needs to run
    # here, never this process's credentials or endpoints.
    base = {
        name: value
        for name, value in os.environ.items()
        if name in _INHERITED or name.startswith("OPENBLAS_")
    }
    env = {**base, **environment, PORT_ENV: str(port), "PYTHONUNBUFFERED": "1"}
    # `python` in a BYO command means the model's interpreter, as it would in its container.
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(python).parent), env.get("PATH")]))
    if builtin:
        # The built-in server runs with cwd = the model dir; it still has to import this package.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


class RunningModel:
    """A started model process: probe it, ask for its execution parameters, stop it."""

    def __init__(
        self, process: subprocess.Popen[bytes], *, port: int, log_path: Path, owns_log: bool
    ) -> None:
        self.process = process
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = log_path
        self._owns_log = owns_log
        self._stopping = threading.Lock()
        self._stopped = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def ended(self, within_s: float = 0.0) -> str | None:
        """How the process ended ("was killed by SIGKILL", "exited with code 1"), waiting up to
        within_s for it to end; None while it runs. Collecting the status reaps the process."""
        try:
            code = self.process.wait(within_s) if within_s > 0 else self.process.poll()
        except subprocess.TimeoutExpired:
            return None
        return None if code is None else exit_description(code)

    def wait_healthy(self, timeout_s: float, probe_timeout_s: float = 2.0) -> None:
        """Probe GET /ping until it answers 200; ModelUnhealthy if the time runs out first or the
        process exits."""
        deadline = time.monotonic() + timeout_s
        last_error = "no probe completed"
        # A refused probe costs microseconds: a model that is up is found within 0.1 s.
        pause = 0.01
        while True:
            code = self.process.poll()
            if code is not None:
                raise ModelUnhealthy(
                    f"the model process {exit_description(code)} before /ping answered 200 "
                    f"(last probe: {last_error})",
                    self.log_tail(),
                )
            try:
                status, _ = self.request("GET", "/ping", timeout_s=probe_timeout_s)
            except OSError as error:
                last_error = f"{type(error).__name__}: {error}"
            else:
                if status == 200:
                    return
                last_error = f"/ping answered {status}"
            if time.monotonic() >= deadline:
                raise ModelUnhealthy(
                    f"the model did not answer /ping with 200 within {timeout_s:g} s "
                    f"(last probe: {last_error})",
                    self.log_tail(),
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.1)

    def execution_parameters(self, timeout_s: float = 2.0) -> dict[str, Any] | None:
        """GET /execution-parameters: the dict when it answers 200, None otherwise."""
        status, body = self.request("GET", "/execution-parameters", timeout_s=timeout_s)
        if status != 200:
            return None
        parameters = json.loads(body)
        if not isinstance(parameters, dict):
            raise ValueError(f"/execution-parameters answered {body[:200]!r}, not a JSON object")
        return parameters

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> tuple[int, bytes]:
        """One plain HTTP exchange with the model (http.client: no proxy settings apply)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout_s)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def log_tail(self, max_bytes: int = LOG_TAIL_BYTES) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - max_bytes))
                return log.read().decode("utf-8", errors="replace").strip()
        except OSError:
            return ""

    def stop(self, timeout_s: float = 10) -> int:
        """SIGTERM the process group, SIGKILL whatever is left after timeout_s; the exit code
        (negative: the signal that ended it). Calling it again only returns the code."""
        # The engine may stop a job (from its thread) while the job's own cleanup stops it too.
        with self._stopping:
            if self._stopped:
                return self.process.wait()
            self._stopped = True
            if self.process.returncode is None:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout_s)
            # Also reaches children that outlived their parent or ignored SIGTERM.
            self._signal_group(signal.SIGKILL)
            code = self.process.wait()
            release_port(self.port)
            if self._owns_log:
                self.log_path.unlink(missing_ok=True)
            return code

    def _signal_group(self, signum: signal.Signals) -> None:
        # The group id is the leader's pid (start_new_session); the group outlives the leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
