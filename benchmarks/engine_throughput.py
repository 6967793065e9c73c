"""Engine throughput benchmark: the local Batch Transform engine against a streamed S3 copy of the
same bytes, and its splitter + batching against the SageMaker Python SDK's local mode.

For each size (default 100MB and 2GB; MB and GB are 10^6 and 10^9 bytes) one run:

  1. writes a CSV file of exactly that size (8 numeric columns, ~60-byte rows) to a temporary
     directory, streaming, and uploads it (boto3 upload_file, multipart) to s3rver, a disk-backed
     S3 server this script starts on 127.0.0.1;
  2. copies that object to another key through the same endpoint with the engine's own
     `s3_store.iter_chunks` and `s3_store.OutputWriter` (a streamed multipart copy: what the
     engine's S3 I/O alone can do) and times it;
  3. runs the engine's CLI on it (`python -m local.engine run-transform`: SplitType Line,
     MultiRecord, MaxPayloadInMB 6, MaxConcurrentTransforms 4, an echo model), times the whole
     process, samples its peak RSS (VmHWM, the engine process alone, not its model) and checks
     the output object is the input (an echo returns every batch as it was sent);
  4. times `records.split_records` + `batching.batches` over the local file (1 MiB reads) and the
     SDK's own `LineSplitter` + `MultiRecordStrategy` over the same file (read as its local mode
     reads it), each in a fresh process, CPU only. The SDK is installed from
     requirements-bench.txt into its own venv (.local/bench-sdk-venv), never into .venv.

Usage (from the repository root; `make bench-engine` runs the first line):

    .venv/bin/python benchmarks/engine_throughput.py
    .venv/bin/python benchmarks/engine_throughput.py --sizes 100MB --keep

It needs node and `npm install` (for node_modules/.bin/s3rver). Markdown tables go to stdout,
progress to stderr, everything measured to benchmarks/results/engine_throughput.json. All
traffic stays on 127.0.0.1; every process started here is stopped by its PID at the end, also on
failure, Ctrl-C or SIGTERM. See benchmarks/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import importlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bench_support import StopSignals, command_output, cpu_model
from boto3.s3.transfer import S3Transfer, TransferConfig

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "engine_throughput.json"
S3RVER_BIN = ROOT / "node_modules" / ".bin" / "s3rver"
S3RVER_PACKAGE = ROOT / "node_modules" / "s3rver" / "package.json"
SDK_REQUIREMENTS = ROOT / "requirements-bench.txt"
DEFAULT_SDK_VENV = ROOT / ".local" / "bench-sdk-venv"
BYO_SERVER = ROOT / "examples" / "byo_server" / "serve.py"
SCRIPTED_SERVER = ROOT / "tests" / "support" / "scripted_model.py"

HOST = "127.0.0.1"
BUCKET = "engine-throughput"
S3RVER_ACCESS_KEY = "S3RVER"  # s3rver has this one account; any secret passes with its flag
REGION = "us-east-1"
SERVE_COMMAND_ENV = "TRANSFORM_JOBS_SERVE_COMMAND"

MB = 1_000_000
MIB = 1024 * 1024
UPLOAD_PART = 16 * MIB
CSV_SEED = 20261125
CSV_BLOCK_ROWS = 65_536  # distinct rows written over and over (~4 MB)
CSV_COLUMNS = 8
RSS_POLL_S = 0.05
CHILD_SCAN_EVERY = 10  # polls between looks for the engine's new child processes
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

TARGET_ENGINE_VS_COPY = 0.7
TARGET_OURS_VS_SDK = 5.0
TARGET_RSS_GROWTH = 1.2

SDK_VENV_TIMEOUT_S = 1800
WORKER_IMPORT_ALLOWANCE_S = 120  # a worker's interpreter start and imports, beyond its budget

# The streamed copy again, as a process of its own started the way the engine's CLI is: the
# same interpreter, the same optional imports skipped, the cycle collector held off until the S3
# client is made, the same S3 module. Its wall time, spawn to exit, is what a copy costs a user
# who runs one as a command; the difference from the in-process copy is the start every such
# process pays (the interpreter, botocore's imports and client). argv: bucket, source key, target
# key, repository root, then the imports to skip. It prints what it found skipped, as JSON.
COPY_PROCESS_WORKER = r"""
import json, sys
bucket, source, target, root, *unused = sys.argv[1:]
sys.path.insert(0, root)
from local.engine import cycle_collection
cycle_collection.pause()
for name in unused:
    sys.modules.setdefault(name, None)
from local.engine import s3_store
from local.engine.memory import return_large_buffers
return_large_buffers()
s3_store.client()
cycle_collection.resume()
writer = s3_store.OutputWriter(bucket, target)
for chunk in s3_store.iter_chunks(bucket, source):
    writer.write(chunk)
writer.complete()
print(json.dumps({"skipped": sorted(name for name in unused if sys.modules.get(name, 0) is None)}))
"""

# The splitter workers run in a fresh interpreter, started with -I, argv: file, payload MiB,
# time budget (s), then for ours the repository root and "general" (split_records + batches) or
# "line" (line_batches, the engine's own path for Line + MultiRecord). Each prints a JSON header
# line, then one JSON line per batch (totals so far), and {"eof": true} if it reached the end of
# the file. The budget is checked after each batch; only the loop is timed, not the imports.
OURS_WORKER = r"""
import json, sys, time
path, payload_mb, budget_s, root = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
general = sys.argv[5] == "general"
sys.path.insert(0, root)
from local.engine import batching
from local.engine.records import split_records
from local.engine.s3_store import READ_CHUNK

def chunks():
    with open(path, "rb") as source:
        while chunk := source.read(READ_CHUNK):
            yield chunk

limit = payload_mb * 1024 * 1024
if general:
    name = "local.engine records.split_records + batching.batches"
    stream = batching.batches(split_records(chunks(), "Line"), strategy="MultiRecord",
                              max_payload_bytes=limit)
else:
    name = "local.engine batching.line_batches"
    stream = batching.line_batches(chunks(), max_payload_bytes=limit)
print(json.dumps({"implementation": name, "read_chunk": READ_CHUNK}), flush=True)
done = records = count = 0
start = time.perf_counter()
for batch in stream:
    done += len(batch.body)
    records += batch.count
    count += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"bytes": done, "records": records, "batches": count,
                      "elapsed_s": elapsed}), flush=True)
    if elapsed >= budget_s:
        break
else:
    print(json.dumps({"eof": True}), flush=True)
"""

SDK_WORKER = r"""
import importlib, json, sys, time
from importlib.metadata import version
path, payload_mb, budget_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:  # SDK v3 keeps local mode in sagemaker-core; v2 had it in sagemaker itself
    data, distribution = importlib.import_module("sagemaker.core.local.data"), "sagemaker-core"
except ImportError:
    data, distribution = importlib.import_module("sagemaker.local.data"), "sagemaker"
strategy = data.MultiRecordStrategy(data.LineSplitter())
print(json.dumps({"implementation": f"{data.__name__} MultiRecordStrategy(LineSplitter())",
                  "distribution": distribution, "version": version(distribution)}), flush=True)
done = records = count = 0
start = time.perf_counter()
# What local mode's transform does per input file: pad(path, MaxPayloadInMB), one body a batch.
for batch in strategy.pad(path, payload_mb):
    done += len(batch)  # str: one character a byte, as the generated CSV is ASCII
    records += batch.count("\n")
    count += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"bytes": done, "records": records, "batches": count,
                      "elapsed_s": elapsed}), flush=True)
    if elapsed >= budget_s:
        break
else:
    print(json.dumps({"eof": True}), flush=True)
"""


class BenchError(Exception):
    """A problem that stops the benchmark (reported without a traceback)."""


class RunError(Exception):
    """One measurement failed; the others still run."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- processes


STOP_SIGNALS = StopSignals()


def proc_stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on: index i is field i + 3; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of the process itself (not its children)."""
    fields = proc_stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_ticks(pid: int) -> int | None:
    """When the process started (field 22): tells a process from a later one given its PID."""
    fields = proc_stat(pid)
    return None if fields is None else int(fields[19])


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS in kB; empty once the process is gone (or a zombie)."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                name, value = line.split(":", 1)
                found[name] = int(value.split()[0])
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields is not None and fields[1] == str(pid):
                found.append(int(entry))
    return found


@dataclass
class _Child:
    label: str
    process: subprocess.Popen[bytes]
    grace_s: float


class Children:
    """Every process this run starts, each in its own process group, stopped by its PID (SIGTERM,
    then SIGKILL to its group after a grace period); and the processes they start (the engine's
    model servers), known by PID and start time, killed if they outlive their parent."""

    def __init__(self) -> None:
        self._children: list[_Child] = []
        self._strays: dict[int, tuple[int, str]] = {}

    def start(
        self,
        label: str,
        argv: list[str],
        *,
        grace_s: float = 5.0,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdout: IO[bytes] | int | None = None,
        stderr: IO[bytes] | int | None = None,
    ) -> subprocess.Popen[bytes]:
        with STOP_SIGNALS.held():
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
            self._children.append(_Child(label, process, grace_s))
        return process

    def adopt(self, pid: int, label: str) -> None:
        ticks = start_ticks(pid)
        if ticks is not None and pid not in self._strays:
            self._strays[pid] = (ticks, label)

    def stop(self, process: subprocess.Popen[bytes]) -> int | None:
        """Stop one child (if still running) and take it off the books; its exit code."""
        for child in list(self._children):
            if child.process is process:
                self._children.remove(child)
                return self._stop(child)
        return process.poll()

    def _stop(self, child: _Child) -> int | None:
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(child.grace_s)
        # The group outlives its leader: anything the child started in it goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        return process.returncode

    def stop_strays(self) -> None:
        for pid, (ticks, label) in list(self._strays.items()):
            del self._strays[pid]
            if start_ticks(pid) != ticks:
                continue  # gone (or the PID now belongs to another process)
            log(f"  stopping {label} (pid {pid}), left running by its parent")
            try:
                os.killpg(pid, signal.SIGKILL)  # model servers lead their own group
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        while self._children:
            child = self._children.pop()
            log(f"  stopping {child.label} (pid {child.process.pid})")
            self._stop(child)
        self.stop_strays()


def wait_or_stop(children: Children, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait for a child to end; past the timeout it is stopped. True if it ended by itself."""
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        children.stop(process)
        return False
    children.stop(process)  # off the books; its group is killed in case it left anything
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def tail(path: Path, max_bytes: int = 3000) -> str:
    with contextlib.suppress(OSError), path.open("rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - max_bytes))
        return handle.read().decode("utf-8", "replace").strip()
    return ""


# ---------------------------------------------------------------------------- s3rver


class S3rver:
    """s3rver on a free loopback port, storing objects under `data_dir`."""

    def __init__(self, children: Children, data_dir: Path, log_path: Path) -> None:
        self.children, self.data_dir, self.log_path = children, data_dir, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self) -> None:
        if shutil.which("node") is None:
            raise BenchError("node is not on PATH: s3rver needs it")
        if not S3RVER_BIN.exists():
            raise BenchError(f"{S3RVER_BIN.relative_to(ROOT)} is missing: run `npm install`")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        argv = [str(S3RVER_BIN), "-d", str(self.data_dir), "-a", HOST, "-p", str(port)]
        argv += ["--allow-mismatched-signatures", "--silent"]
        with self.log_path.open("ab") as output:
            self.process = self.children.start(
                "s3rver", argv, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise BenchError(
                    f"s3rver exited with code {self.process.returncode}:\n{tail(self.log_path)}"
                )
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"s3rver did not listen on {HOST}:{port} within 30 s")
            time.sleep(0.1)
        self.endpoint = f"http://{HOST}:{port}"

    @property
    def pid(self) -> int:
        assert self.process is not None  # noqa: S101 (started before use)
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid) or 0.0


def s3_environment(endpoint: str, scratch: Path) -> dict[str, str]:
    """This process's environment with every AWS_* setting replaced: s3rver's endpoint and account,
    no config or credential files, no instance metadata; loopback bypasses any proxy."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL_S3=endpoint,
        AWS_ACCESS_KEY_ID=S3RVER_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=S3RVER_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("NO_PROXY", "no_proxy"):
        existing = env.get(name)
        env[name] = ",".join(filter(None, [HOST, "localhost", existing]))
    return env


def engine_module(name: str) -> Any:
    """A module of local.engine; imported only once the environment points boto3 at s3rver."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"local.engine.{name}")


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ModelChoice:
    label: str
    serve_command: str
    note: str


def _probe_echo(port: int, process: subprocess.Popen[bytes], within_s: float) -> str | None:
    """None if the server on `port` answers /ping 200 and echoes a body; else what went wrong."""
    deadline = time.monotonic() + within_s
    body = b"1.5,2,3\n4,5.25,6\n"
    while True:
        if process.poll() is not None:
            return f"it exited with code {process.returncode}"
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            try:
                connection.request("GET", "/ping")
                ping = connection.getresponse()
                ping.read()
                connection.request(
                    "POST", "/invocations", body=body, headers={"Content-Type": "text/csv"}
                )
                reply = connection.getresponse()
                answer = reply.read()
            finally:
                connection.close()
        except OSError as error:
            if time.monotonic() > deadline:
                return f"no answer within {within_s:g} s ({error})"
            time.sleep(0.1)
            continue
        if ping.status == 200 and reply.status == 200 and answer == body:
            return None
        return f"/ping {ping.status}, /invocations {reply.status} with {answer[:60]!r}"


def choose_model(children: Children, wanted: str, scratch: Path) -> ModelChoice:
    """examples/byo_server/serve.py if it serves an echo, else tests/support/scripted_model.py."""
    candidates = {
        "byo": (BYO_SERVER, "examples/byo_server/serve.py (stdlib echo server)"),
        "scripted": (SCRIPTED_SERVER, "tests/support/scripted_model.py (threaded echo server)"),
    }
    order = ["byo", "scripted"] if wanted == "auto" else [wanted]
    problems = []
    for label in order:
        script, description = candidates[label]
        if not script.is_file():
            problems.append(f"{script.relative_to(ROOT)} is missing")
            continue
        port = free_port()
        log_path = scratch / f"model-check-{label}.log"
        with log_path.open("ab") as output:
            process = children.start(
                f"model check ({label})",
                [sys.executable, str(script), "--port", str(port)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            problem = _probe_echo(port, process, within_s=15)
        finally:
            children.stop(process)
        if problem is None:
            command = f"{{python}} {shlex.quote(str(script))} --port {{port}}"
            note = "" if not problems else f" (instead: {'; '.join(problems)})"
            return ModelChoice(label, command, description + note)
        problems.append(f"{script.relative_to(ROOT)} did not serve an echo: {problem}")
        log(f"  {problems[-1]}\n{tail(log_path)}")
    raise BenchError("no echo model server works: " + "; ".join(problems))


# ---------------------------------------------------------------------------- the SDK venv


def _run_logged(
    children: Children, label: str, argv: list[str], log_path: Path, timeout_s: float
) -> int | None:
    """Run argv to its end with its output appended to log_path; its exit code, None if the
    timeout stopped it."""
    with log_path.open("ab") as output:
        process = children.start(label, argv, stdout=output, stderr=subprocess.STDOUT)
    if not wait_or_stop(children, process, timeout_s):
        return None
    return process.returncode


def ensure_sdk_venv(children: Children, venv: Path, rebuild: bool) -> tuple[Path | None, str]:
    """The SDK venv's python (made from requirements-bench.txt once, reused while the file and
    this interpreter are the same), or None and why it cannot be had."""
    if not SDK_REQUIREMENTS.is_file():
        return None, f"{SDK_REQUIREMENTS.name} is missing"
    digest = hashlib.sha256(SDK_REQUIREMENTS.read_bytes())
    digest.update(f"\0{sys.version}\0{sys.base_prefix}".encode())
    marker = venv / f".bench-installed-{digest.hexdigest()[:16]}"
    python = venv / "bin" / "python"
    if marker.exists() and python.exists() and not rebuild:
        return python, f"cached in {venv}"
    log(f"installing the SDK from {SDK_REQUIREMENTS.name} into {venv} (not .venv)…")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    install_log = venv.parent / f"{venv.name}.install.log"
    install_log.unlink(missing_ok=True)
    pip_args = ["-r", str(SDK_REQUIREMENTS)]
    steps = [
        ("python -m venv", [sys.executable, "-m", "venv", str(venv)]),
        (
            "pip install",
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *pip_args],
        ),
    ]
    for label, argv in steps:
        code = _run_logged(children, label, argv, install_log, SDK_VENV_TIMEOUT_S)
        if code != 0:
            shutil.rmtree(venv, ignore_errors=True)
            what = "timed out" if code is None else f"exited {code}"
            lines = [
                line
                for line in tail(install_log, 4000).splitlines()
                if not line.startswith("WARNING: Location")  # pip's note on absent local indexes
            ]
            return None, f"{label} {what}: " + " / ".join(line[:300] for line in lines[-6:])
    marker.touch()
    install_log.unlink(missing_ok=True)
    return python, f"installed into {venv}"


# ---------------------------------------------------------------------------- input data


def _csv_row(rng: random.Random) -> bytes:
    # An id, a count and six measurements: 50-65 bytes, ~59 on average.
    values = [str(rng.randrange(1, 1_000_000)), str(rng.randrange(0, 1000))]
    values += [f"{rng.uniform(0, 1000):.3f}" for _ in range(CSV_COLUMNS - 2)]
    return (",".join(values) + "\n").encode()


def _padding_row(length: int) -> bytes:
    """A valid row of exactly `length` bytes (at least 16): the first number is zero-padded."""
    rest = ",0" * (CSV_COLUMNS - 1) + "\n"
    return f"{1:0{length - len(rest)}d}{rest}".encode()


MIN_ROW = len(_padding_row(16))


def write_csv(path: Path, size: int) -> int:
    """Write exactly `size` bytes of CSV to path, a block of distinct rows at a time (never more
    in memory); the number of rows."""
    rng = random.Random(CSV_SEED)  # noqa: S311 (test data, not secrets)
    rows = [_csv_row(rng) for _ in range(CSV_BLOCK_ROWS)]
    block = b"".join(rows)
    longest = max(map(len, rows))
    remaining, count = size, 0
    with path.open("wb") as out:
        while remaining >= len(block) + longest + MIN_ROW:
            out.write(block)
            remaining -= len(block)
            count += len(rows)
        for row in rows:
            if remaining - len(row) < MIN_ROW:
                break
            out.write(row)
            remaining -= len(row)
            count += 1
        out.write(_padding_row(remaining))
    if path.stat().st_size != size:
        raise BenchError(f"wrote {path.stat().st_size} bytes to {path}, not {size}")
    return count + 1


# ---------------------------------------------------------------------------- measurements


def mb_per_s(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds > 0 else 0.0


def upload(store: Any, path: Path, key: str, size: int) -> dict[str, Any]:
    config = TransferConfig(
        multipart_threshold=UPLOAD_PART, multipart_chunksize=UPLOAD_PART, max_concurrency=4
    )
    start = time.perf_counter()
    # The engine's client is botocore's, without boto3's upload_file: the same transfer manager.
    with S3Transfer(store.client(), config) as transfer:
        transfer.upload_file(str(path), BUCKET, key)
    elapsed = time.perf_counter() - start
    stored = store.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    if stored != size:
        raise RunError(f"s3://{BUCKET}/{key} holds {stored} bytes after the upload, not {size}")
    return {"seconds": elapsed, "mb_per_s": mb_per_s(size, elapsed), "part_bytes": UPLOAD_PART}


def streamed_copy(
    store: Any, s3rver: S3rver, source: str, target: str, size: int
) -> dict[str, Any]:
    """The engine's S3 path without the engine: read in chunks, write in parts, one thread."""
    server_cpu, own_cpu = s3rver.cpu_seconds(), time.process_time()
    start = time.perf_counter()
    writer = store.OutputWriter(BUCKET, target)
    try:
        for chunk in store.iter_chunks(BUCKET, source):
            writer.write(chunk)
        writer.complete()
    except BaseException:
        writer.abort()
        raise
    elapsed = time.perf_counter() - start
    own_cpu, server_cpu = time.process_time() - own_cpu, s3rver.cpu_seconds() - server_cpu
    copied = store.client().head_object(Bucket=BUCKET, Key=target)["ContentLength"]
    if copied != size:
        raise RunError(f"the copy holds {copied} bytes, not {size}")
    return {
        "seconds": elapsed,
        "mb_per_s": mb_per_s(size, elapsed),
        "read_chunk_bytes": store.READ_CHUNK,
        "part_bytes": store.PART_SIZE,
        "cpu_s": {"copier": own_cpu, "s3rver": server_cpu},
    }


def copy_process(
    children: Children,
    s3rver: S3rver,
    store: Any,
    scratch: Path,
    source: str,
    target: str,
    size: int,
) -> dict[str, Any]:
    """COPY_PROCESS_WORKER, timed from its start to its exit as the engine is."""
    unused = getattr(engine_module("__main__"), "UNUSED_OPTIONAL_IMPORTS", ())
    argv = [sys.executable, "-I", "-c", COPY_PROCESS_WORKER, BUCKET, source, target, str(ROOT)]
    argv += unused
    out_path, err_path = scratch / "copy-process.out", scratch / "copy-process.err"
    server_cpu = s3rver.cpu_seconds()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        process = children.start(
            "copy process", argv, cwd=ROOT, env=dict(os.environ), stdout=out, stderr=err
        )
        try:
            ended = wait_or_stop(children, process, 300 + size / (2 * MB))
            elapsed = time.perf_counter() - start
        finally:
            children.stop(process)
    if not ended or process.returncode != 0:
        code = process.returncode if ended else "stopped"
        raise RunError(f"the copy process failed ({code}):\n{tail(err_path)}")
    copied = store.client().head_object(Bucket=BUCKET, Key=target)
    if copied["ContentLength"] != size:
        raise RunError(f"the copy process wrote {copied['ContentLength']} bytes, not {size}")
    try:
        report = json.loads(out_path.read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RunError(f"the copy process printed no report:\n{tail(out_path)}") from None
    return {
        "seconds": elapsed,
        "mb_per_s": mb_per_s(size, elapsed),
        "cpu_s": {"s3rver": s3rver.cpu_seconds() - server_cpu},
        "skipped_imports": report["skipped"],  # as the process itself found them
    }


class ResourceWatch(threading.Thread):
    """Samples a process every RSS_POLL_S: its VmHWM and VmRSS, its own CPU time, and its child
    processes (put on the books so they can be stopped, and sampled the same way)."""

    def __init__(self, pid: int, children: Children) -> None:
        super().__init__(name=f"watch-{pid}", daemon=True)
        self.pid, self.children = pid, children
        self.peak_hwm_kb = self.peak_rss_kb = self.samples = 0
        self.cpu_s = 0.0
        self.child_peak_kb: dict[int, int] = {}
        self.child_cpu_s: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        polls = 0
        while not self._done.is_set():
            memory = memory_kb(self.pid)
            if not memory:
                break  # exited
            self.peak_hwm_kb = max(self.peak_hwm_kb, memory.get("VmHWM", 0))
            self.peak_rss_kb = max(self.peak_rss_kb, memory.get("VmRSS", 0))
            self.cpu_s = cpu_seconds(self.pid) or self.cpu_s
            self.samples += 1
            if polls % CHILD_SCAN_EVERY == 0:
                for child in children_of(self.pid):
                    self.children.adopt(child, f"a child of pid {self.pid}")
                    self.child_peak_kb.setdefault(child, 0)
            for child in self.child_peak_kb:
                hwm = memory_kb(child).get("VmHWM", 0)
                self.child_peak_kb[child] = max(self.child_peak_kb[child], hwm)
                self.child_cpu_s[child] = cpu_seconds(child) or self.child_cpu_s.get(child, 0.0)
            polls += 1
            self._done.wait(RSS_POLL_S)

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=5)


def transform_request(name: str, prefix: str, concurrency: int, payload_mb: int) -> dict[str, Any]:
    return {
        "TransformJobName": name,
        "ModelName": "echo",
        "MaxConcurrentTransforms": concurrency,
        "MaxPayloadInMB": payload_mb,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/in/"}
            },
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/{prefix}/out/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


@dataclass
class EngineRun:
    """Where one engine run keeps its files."""

    directory: Path
    job: Path = field(init=False)
    stdout: Path = field(init=False)
    stderr: Path = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.job = self.directory / "job.json"
        self.stdout = self.directory / "engine.stdout.json"
        self.stderr = self.directory / "engine.stderr.log"


def run_engine(
    children: Children,
    s3rver: S3rver,
    run: EngineRun,
    request: dict[str, Any],
    model: ModelChoice,
    size: int,
) -> dict[str, Any]:
    """The CLI as a subprocess, timed from its start to its exit."""
    run.job.write_text(json.dumps(request, indent=2))
    model_dir = run.directory / "model"
    model_dir.mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "local.engine", "run-transform", str(run.job)]
    argv += ["--model-dir", str(model_dir), "--work-dir", str(run.directory / "work")]
    argv += ["--model-env", f"{SERVE_COMMAND_ENV}={model.serve_command}"]
    timeout_s = 300 + size / (2 * MB)  # far beyond any plausible run: 2 MB/s
    server_cpu = s3rver.cpu_seconds()
    with run.stdout.open("wb") as out, run.stderr.open("wb") as err:
        start = time.perf_counter()
        process = children.start(
            "engine", argv, grace_s=30, cwd=ROOT, env=dict(os.environ), stdout=out, stderr=err
        )
        watch = ResourceWatch(process.pid, children)
        watch.start()
        try:
            ended = wait_or_stop(children, process, timeout_s)
            elapsed = time.perf_counter() - start
        finally:
            children.stop(process)  # interrupted: SIGTERM first, so it stops its model itself
            watch.finish()
            children.stop_strays()
    server_cpu = s3rver.cpu_seconds() - server_cpu
    logs = f"\n--- engine stderr (tail) ---\n{tail(run.stderr)}"
    for model_log in sorted((run.directory / "work" / "logs").glob("*.log")):
        logs += f"\n--- {model_log.name} (tail) ---\n{tail(model_log, 1500)}"
    if not ended:
        raise RunError(f"the engine did not finish within {timeout_s:.0f} s; stopped{logs}")
    try:
        result = json.loads(run.stdout.read_text())
    except ValueError as error:
        raise RunError(
            f"engine exit {process.returncode}, no result JSON ({error}){logs}"
        ) from None
    status = result.get("TransformJobStatus")
    if process.returncode != 0 or status != "Completed":
        reason = result.get("FailureReason", "")
        raise RunError(f"engine exit {process.returncode}, job {status}: {reason}{logs}")
    progress = result.get("Progress", {})
    job_s = None
    with contextlib.suppress(KeyError, ValueError, TypeError):
        job_s = (
            datetime.fromisoformat(result["TransformEndTime"])
            - datetime.fromisoformat(result["TransformStartTime"])
        ).total_seconds()
    records = int(progress.get("records_done", 0))
    return {
        "seconds": elapsed,
        "mb_per_s": mb_per_s(size, elapsed),
        "records": records,
        "records_per_s": records / elapsed if elapsed > 0 else 0.0,
        "job_seconds": job_s,
        "job_mb_per_s": mb_per_s(size, job_s) if job_s else None,
        "progress": progress,
        "peak_rss_bytes": max(watch.peak_hwm_kb, watch.peak_rss_kb) * 1024,
        "peak_rss_source": "VmHWM of the engine process, polled every 50 ms",
        "rss_samples": watch.samples,
        "cpu_s": {
            "engine": watch.cpu_s,
            "model": sum(watch.child_cpu_s.values()),
            "s3rver": server_cpu,
        },
        "model_peak_rss_bytes": max(watch.child_peak_kb.values(), default=0) * 1024,
        "argv": argv,
    }


def verify_output(store: Any, key: str, local: Path, size: int) -> dict[str, Any]:
    """The echo's output is the input: same size, same first and last MiB."""
    stored = store.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    if stored != size:
        raise RunError(f"s3://{BUCKET}/{key} has {stored:,} bytes; the input has {size:,}")
    span = min(MIB, size)
    with local.open("rb") as source:
        head = source.read(span)
        source.seek(size - span)
        last = source.read(span)
    for label, expected, first in (("first", head, 0), ("last", last, size - span)):
        reply = store.client().get_object(
            Bucket=BUCKET, Key=key, Range=f"bytes={first}-{first + span - 1}"
        )
        got = reply["Body"].read()
        if got != expected:
            raise RunError(f"the output's {label} {span:,} bytes differ from the input's")
    return {"output_bytes": stored, "equal_size": True, "ends_compared_bytes": span}


def run_splitter(
    children: Children,
    label: str,
    argv: list[str],
    scratch: Path,
    budget_s: float,
) -> dict[str, Any]:
    """Run a splitter worker; its rate from its last progress line (also if it had to be stopped
    past its budget: the batches it finished count)."""
    out_path, err_path = scratch / f"{label}.out", scratch / f"{label}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = children.start(label, argv, cwd=scratch, stdout=out, stderr=err)
    ended = wait_or_stop(children, process, budget_s + WORKER_IMPORT_ALLOWANCE_S)
    lines = []
    for line in out_path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line cut short when the worker was stopped
            lines.append(json.loads(line))
    if not lines or (ended and process.returncode != 0):
        code = process.returncode if ended else "stopped"
        raise RunError(f"{label} worker failed ({code}):\n{tail(err_path)}")
    header, progress = lines[0], [line for line in lines[1:] if "bytes" in line]
    last = progress[-1] if progress else {"bytes": 0, "records": 0, "batches": 0, "elapsed_s": 0}
    return {
        **header,
        "bytes": last["bytes"],
        "records": last["records"],
        "batches": last["batches"],
        "seconds": last["elapsed_s"],
        "mb_per_s": mb_per_s(last["bytes"], last["elapsed_s"]),
        "whole_file": any(line.get("eof") for line in lines),
        "stopped_past_budget": not ended,
    }


# ---------------------------------------------------------------------------- one size


@dataclass
class Settings:
    concurrency: int
    payload_mb: int
    splitter_budget_s: float
    keep: bool


@dataclass
class SizeResult:
    label: str
    size: int
    records: int = 0
    steps: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def measure_splitters(
    result: SizeResult,
    children: Children,
    data: Path,
    work: Path,
    settings: Settings,
    sdk_python: Path | None,
    sdk_note: str,
) -> None:
    """Our splitter and batching, then the SDK's, each in a worker over the same file."""
    label = result.label
    log(f"[{label}] splitter + MultiRecord batching, ours…")
    common = [str(data), str(settings.payload_mb), str(settings.splitter_budget_s)]
    variants = [("ours", "general")]
    if hasattr(engine_module("batching"), "line_batches"):
        variants.append(("ours_line", "line"))
    for step, mode in variants:
        try:
            result.steps[step] = run_splitter(
                children,
                step,
                [sys.executable, "-I", "-c", OURS_WORKER, *common, str(ROOT), mode],
                work,
                settings.splitter_budget_s,
            )
        except RunError as error:
            result.errors[step] = str(error)
    if sdk_python is None:
        result.errors["sdk"] = f"unavailable: {sdk_note}"
    else:
        log(f"[{label}] splitter + MultiRecord batching, SDK (≤ {settings.splitter_budget_s:g} s)…")
        try:
            result.steps["sdk"] = run_splitter(
                children,
                "sdk",
                [str(sdk_python), "-I", "-c", SDK_WORKER, *common],
                work,
                settings.splitter_budget_s,
            )
        except RunError as error:
            result.errors["sdk"] = str(error)


def measure_size(
    label: str,
    size: int,
    *,
    children: Children,
    s3rver: S3rver,
    store: Any,
    model: ModelChoice,
    sdk_python: Path | None,
    sdk_note: str,
    settings: Settings,
    scratch: Path,
) -> SizeResult:
    result = SizeResult(label, size)
    work = scratch / label
    work.mkdir()
    data = work / "data.csv"
    prefix = label.lower()
    input_key = f"{prefix}/in/data.csv"
    output_key = f"{prefix}/out/data.csv.out"

    log(f"[{label}] writing {size:,} bytes of CSV…")
    start = time.perf_counter()
    result.records = write_csv(data, size)
    result.steps["generate"] = {"seconds": time.perf_counter() - start, "path": str(data)}

    log(f"[{label}] uploading to s3rver…")
    result.steps["upload"] = upload(store, data, input_key, size)

    copies = {
        "copy": ("streamed copy (iter_chunks → OutputWriter)", streamed_copy, (store, s3rver)),
        "copy_process": (
            "the same copy as a process of its own",
            copy_process,
            (children, s3rver, store, work),
        ),
    }
    for step, (what, measure, context) in copies.items():
        log(f"[{label}] {what}…")
        copy_key = f"{prefix}/{step.replace('_', '-')}/data.csv"  # each its own, for --keep
        try:
            result.steps[step] = measure(*context, input_key, copy_key, size)
        except (RunError, store.StoreError) as error:
            result.errors[step] = str(error)
        if not settings.keep:  # its disk, before the next copy's or the output's
            store.client().delete_object(Bucket=BUCKET, Key=copy_key)

    log(f"[{label}] engine (python -m local.engine run-transform)…")
    request = transform_request(
        f"throughput-{prefix}", prefix, settings.concurrency, settings.payload_mb
    )
    try:
        engine = run_engine(children, s3rver, EngineRun(work / "engine"), request, model, size)
        engine["verified"] = verify_output(store, output_key, data, size)
        result.steps["engine"] = engine
    except RunError as error:
        result.errors["engine"] = str(error)
    if not settings.keep:
        for key in (output_key, input_key):
            store.client().delete_object(Bucket=BUCKET, Key=key)

    measure_splitters(result, children, data, work, settings, sdk_python, sdk_note)
    if not settings.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------- reporting


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def targets(results: list[SizeResult]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for result in results:
        engine, copy = result.steps.get("engine"), result.steps.get("copy")
        on_job = _ratio(engine and engine["job_mb_per_s"], copy and copy["mb_per_s"])
        as_process = result.steps.get("copy_process")
        vs_process = _ratio(engine and engine["mb_per_s"], as_process and as_process["mb_per_s"])
        rows.append(
            {
                "target": "engine ÷ streamed copy (MB/s)",
                "size": result.label,
                "value": _ratio(engine and engine["mb_per_s"], copy and copy["mb_per_s"]),
                "needed": f"≥ {TARGET_ENGINE_VS_COPY:g}×",
                "bound": ("min", TARGET_ENGINE_VS_COPY),
                "note": "engine wall time, process start to exit"
                + ("" if on_job is None else f"; on its job time instead: {on_job:.2f}×")
                + (
                    ""
                    if vs_process is None
                    else f"; against the copy run as a process too: {vs_process:.2f}×"
                ),
            }
        )
    for result in results:
        ours, sdk = result.steps.get("ours"), result.steps.get("sdk")
        line = result.steps.get("ours_line")
        line_ratio = _ratio(line and line["mb_per_s"], sdk and sdk["mb_per_s"])
        notes = []
        if sdk:
            notes.append(f"the SDK over the first {sdk['bytes'] / MB:,.1f} MB")
        if line_ratio is not None:
            notes.append(f"`line_batches` ÷ SDK: {line_ratio:,.0f}×")
        rows.append(
            {
                "target": "ours ÷ SDK splitter + batching (MB/s)",
                "size": result.label,
                "value": _ratio(ours and ours["mb_per_s"], sdk and sdk["mb_per_s"]),
                "needed": f"≥ {TARGET_OURS_VS_SDK:g}×",
                "bound": ("min", TARGET_OURS_VS_SDK),
                "note": "; ".join(notes),
            }
        )
    by_size = sorted(results, key=lambda item: item.size)
    if len(by_size) == 1:
        rows.append(
            {
                "target": "engine peak RSS, largest size ÷ smallest",
                "size": by_size[0].label,
                "value": None,
                "needed": f"≤ {TARGET_RSS_GROWTH:g}×",
                "bound": ("max", TARGET_RSS_GROWTH),
                "note": "needs two sizes (--sizes 100MB,2GB)",
            }
        )
    if len(by_size) >= 2:
        small, large = by_size[0], by_size[-1]
        peak = {
            item.label: (item.steps.get("engine") or {}).get("peak_rss_bytes")
            for item in (small, large)
        }
        rows.append(
            {
                "target": f"engine peak RSS {large.label} ÷ {small.label}",
                "size": f"{large.label} vs {small.label}",
                "value": _ratio(peak[large.label], peak[small.label]),
                "needed": f"≤ {TARGET_RSS_GROWTH:g}×",
                "bound": ("max", TARGET_RSS_GROWTH),
                "note": ", ".join(
                    f"{label} {value / MIB:.0f} MiB"
                    for label, value in peak.items()
                    if value is not None
                ),
            }
        )
    for row in rows:
        kind, limit = row.pop("bound")
        value = row["value"]
        if value is None:
            row["met"] = None
        else:
            row["met"] = value >= limit if kind == "min" else value <= limit
    return rows


def _cell(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown_size(result: SizeResult, settings: Settings) -> str:
    steps = result.steps
    average = result.size / result.records if result.records else 0
    lines = [
        f"### {result.label}: {result.size:,} bytes, {result.records:,} records"
        f" ({average:.1f} B/record)",
        "",
        "| step | s | MB/s | notes |",
        "|---|---:|---:|---|",
    ]
    if upload_step := steps.get("upload"):
        lines.append(
            f"| upload (boto3 `upload_file`, {UPLOAD_PART // MIB} MiB parts) |"
            f" {upload_step['seconds']:.2f} | {upload_step['mb_per_s']:.1f} | set-up |"
        )
    if copy := steps.get("copy"):
        cpu = copy["cpu_s"]
        lines.append(
            f"| streamed copy: `iter_chunks` → `OutputWriter` | {copy['seconds']:.2f} |"
            f" {copy['mb_per_s']:.1f} | CPU s: copier {cpu['copier']:.1f},"
            f" s3rver {cpu['s3rver']:.1f} |"
        )
    if as_process := steps.get("copy_process"):
        lines.append(
            f"| the same copy as a process (`python -I -c`), wall | {as_process['seconds']:.2f} |"
            f" {as_process['mb_per_s']:.1f} | spawn to exit, as the engine is timed;"
            f" s3rver CPU s {as_process['cpu_s']['s3rver']:.1f} |"
        )
    if engine := steps.get("engine"):
        cpu = engine["cpu_s"]
        job = engine["job_seconds"]
        lines.append(
            f"| engine CLI, wall (Line, MultiRecord, {settings.payload_mb} MiB,"
            f" {settings.concurrency} concurrent, echo) | {engine['seconds']:.2f} |"
            f" {engine['mb_per_s']:.1f} | {engine['records_per_s']:,.0f} records/s;"
            f" peak RSS {engine['peak_rss_bytes'] / MIB:.0f} MiB;"
            f" job {_cell(job, 2)} s; CPU s: engine {cpu['engine']:.1f},"
            f" model {cpu['model']:.1f}, s3rver {cpu['s3rver']:.1f};"
            f" output = input ({engine['verified']['output_bytes']:,} bytes) |"
        )
    for key, name in (
        ("ours", "ours: `split_records` + `batches` (file, 1 MiB reads)"),
        ("ours_line", "ours, the engine's Line fast path: `line_batches` (same reads)"),
        ("sdk", "SDK: `LineSplitter` + `MultiRecordStrategy.pad`"),
    ):
        if step := steps.get(key):
            scope = "whole file" if step["whole_file"] else f"first {step['bytes'] / MB:,.1f} MB"
            version = f"{step['distribution']} {step['version']}; " if key == "sdk" else ""
            lines.append(
                f"| {name} | {step['seconds']:.2f} | {step['mb_per_s']:.2f} |"
                f" {version}{scope}, {step['batches']} batch(es), CPU only |"
            )
    for step, error in result.errors.items():
        first_line = error.strip().splitlines()[0] if error.strip() else "failed"
        lines.append(f"| {step} | – | – | **{first_line}** |")
    return "\n".join(lines)


def markdown_targets(rows: list[dict[str, Any]]) -> str:
    lines = [
        "### Targets",
        "",
        "| target | size | measured | needed | | notes |",
        "|---|---|---:|---:|---|---|",
    ]
    for row in rows:
        met = {True: "met", False: "**missed**", None: "not measured"}[row["met"]]
        value = "–" if row["value"] is None else f"{row['value']:,.2f}×"
        lines.append(
            f"| {row['target']} | {row['size']} | {value} | {row['needed']} | {met}"
            f" | {row['note']} |"
        )
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    s3rver_version = None
    with contextlib.suppress(OSError, ValueError):
        s3rver_version = json.loads(S3RVER_PACKAGE.read_text()).get("version")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": sys.version,
        "node": command_output(["node", "--version"]),
        "s3rver": s3rver_version,
    }


def git_state() -> dict[str, Any]:
    status = command_output(["git", "-C", str(ROOT), "status", "--porcelain", "--", "local"])
    return {
        "commit": command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
        "local_engine_modified": bool(status),
    }


# ---------------------------------------------------------------------------- main

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}


def parse_sizes(text: str) -> list[tuple[str, int]]:
    """Parse "100MB,2GB" into [("100MB", 100_000_000), ("2GB", 2_000_000_000)]."""
    sizes: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?", item, re.IGNORECASE)
        if not match:
            raise argparse.ArgumentTypeError(f"{item!r} is not a size like 100MB or 2GB")
        number, unit = match.groups()
        size = int(float(number) * _UNITS[(unit or "").upper()])
        if size < 64 * 1024:
            raise argparse.ArgumentTypeError(f"{item!r} is below the 64 KB minimum")
        label = re.sub(r"[^A-Za-z0-9.]", "", item)
        sizes.setdefault(label, size)
    if not sizes:
        raise argparse.ArgumentTypeError("no size given")
    return list(sizes.items())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("100MB,2GB"),
        help="comma-separated input sizes, MB/GB = 10^6/10^9 bytes, MiB/GiB too (100MB,2GB)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    parser.add_argument("--concurrency", type=int, default=4, help="MaxConcurrentTransforms (4)")
    parser.add_argument("--payload-mb", type=int, default=6, help="MaxPayloadInMB (6)")
    parser.add_argument(
        "--splitter-seconds",
        type=float,
        default=60.0,
        help="time budget of each splitter measurement; the SDK's rarely gets through a whole"
        " file, it is stopped after the batch that passes this (60)",
    )
    parser.add_argument(
        "--model",
        choices=("auto", "byo", "scripted"),
        default="auto",
        help="echo server: examples/byo_server/serve.py, tests/support/scripted_model.py, or the"
        " first of them that works (auto)",
    )
    parser.add_argument("--no-sdk", action="store_true", help="skip the SDK measurement")
    parser.add_argument("--sdk-venv", type=Path, default=DEFAULT_SDK_VENV, help="the SDK's venv")
    parser.add_argument("--rebuild-sdk-venv", action="store_true", help="install the SDK again")
    parser.add_argument("--tmp-dir", type=Path, help="where the temporary directory goes")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.payload_mb < 1 or args.splitter_seconds <= 0:
        parser.error("--concurrency and --payload-mb must be at least 1, --splitter-seconds > 0")
    return args


def check_disk(scratch: Path, sizes: list[tuple[str, int]]) -> None:
    # At most: the file, the input object, the output's parts and the output object (the copy is
    # deleted first), plus s3rver's parts of the input while it assembles them.
    largest = max(size for _, size in sizes)
    stats = os.statvfs(scratch)
    free = stats.f_bavail * stats.f_frsize
    if free < 5 * largest + 512 * MIB:
        raise BenchError(
            f"{scratch} has {free / 1e9:.1f} GB free; {largest / 1e9:.1f} GB inputs need about"
            f" {(5 * largest + 512 * MIB) / 1e9:.1f} GB"
        )


def run(args: argparse.Namespace, children: Children, scratch: Path) -> dict[str, Any]:
    settings = Settings(args.concurrency, args.payload_mb, args.splitter_seconds, args.keep)
    check_disk(scratch, args.sizes)
    s3rver = S3rver(children, scratch / "s3rver", scratch / "s3rver.log")
    s3rver.start()
    log(f"s3rver {s3rver.endpoint} (pid {s3rver.pid}), data in {s3rver.data_dir}")
    os.environ.clear()
    os.environ.update(s3_environment(s3rver.endpoint, scratch))
    store = engine_module("s3_store")
    store.client.cache_clear()
    store.client().create_bucket(Bucket=BUCKET)

    model = choose_model(children, args.model, scratch)
    log(f"model: {model.note}")
    if args.no_sdk:
        sdk_python, sdk_note = None, "skipped (--no-sdk)"
    else:
        sdk_python, sdk_note = ensure_sdk_venv(children, args.sdk_venv, args.rebuild_sdk_venv)
        log(f"SDK: {sdk_note}")

    results = []
    for label, size in args.sizes:
        results.append(
            measure_size(
                label,
                size,
                children=children,
                s3rver=s3rver,
                store=store,
                model=model,
                sdk_python=sdk_python,
                sdk_note=sdk_note,
                settings=settings,
                scratch=scratch,
            )
        )
        print(markdown_size(results[-1], settings) + "\n", flush=True)
    rows = targets(results)
    print(markdown_targets(rows), flush=True)
    return {
        "settings": {
            "sizes": dict(args.sizes),
            "max_concurrent_transforms": settings.concurrency,
            "max_payload_mb": settings.payload_mb,
            "split_type": "Line",
            "batch_strategy": "MultiRecord",
            "splitter_budget_s": settings.splitter_budget_s,
            "model": {"label": model.label, "serve_command": model.serve_command},
            "sdk": {"python": str(sdk_python) if sdk_python else None, "note": sdk_note},
            "s3": f"s3rver at {s3rver.endpoint}, bucket {BUCKET}",
            "units": "MB = 10^6 bytes; MiB = 2^20 bytes",
        },
        "sizes": {
            result.label: {
                "bytes": result.size,
                "records": result.records,
                "steps": result.steps,
                "errors": result.errors,
            }
            for result in results
        },
        "targets": rows,
        "failed": any(result.errors and set(result.errors) != {"sdk"} for result in results),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    children = Children()
    saved_environment = dict(os.environ)
    scratch = Path(tempfile.mkdtemp(prefix="engine-throughput-", dir=args.tmp_dir))
    report: dict[str, Any] | None = None
    code = 0
    try:
        with STOP_SIGNALS.installed():
            try:
                report = run(args, children, scratch)
                code = 1 if report["failed"] else 0
            finally:
                STOP_SIGNALS.ignore()
                children.stop_all()
    except BenchError as error:
        log(f"engine_throughput: {error}")
        code = 2
    except KeyboardInterrupt:
        log("\nengine_throughput: interrupted")
        code = 130
    except SystemExit as stopped:  # SIGTERM
        log("engine_throughput: terminated")
        code = stopped.code if isinstance(stopped.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if report is None:
        return code
    duration = time.perf_counter() - clock
    report = {
        "benchmark": "engine_throughput",
        "started_at": started.isoformat(),
        "duration_s": round(duration, 1),
        "machine": machine_info(),
        "git": git_state(),
        **report,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nWrote {shown} ({duration:.0f} s in all).")
    return code


if __name__ == "__main__":
    sys.exit(main())
