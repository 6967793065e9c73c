"""Cold-start benchmark: how long each Lambda function's Init phase takes, with and without .pyc.

Lambda's Init phase for these handlers is `import app`. This script builds the two layers the way
`sam build` does (by running their Makefiles), installs boto3 the way the Lambda runtime ships it,
and times `import app` for every function in fresh python3.13 processes, in two variants:

  pyc     the layers exactly as the Makefiles build them (python3.13 unchecked-hash .pyc);
  no-pyc  the same files without any __pycache__, so every layer module is compiled from source,
          as it is on each cold start when a layer ships no .pyc (/opt is read-only on Lambda).

Both variants run with PYTHONDONTWRITEBYTECODE=1 (nothing can be written on Lambda) and with the
same compiled boto3 "runtime", so the only difference between them is the layers' .pyc files.

Usage (from the repository root; `make bench` runs the first line):

    .venv/bin/python benchmarks/cold_start.py
    .venv/bin/python benchmarks/cold_start.py --runs 15 --functions authorizer,jobs_api

A markdown table goes to stdout, progress to stderr, and every sample with machine information to
benchmarks/results/cold_start.json. Built layers are cached in .local/bench-cache/. See
benchmarks/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from bench_support import StopSignals, command_output, cpu_model

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
DEPS_DIR = ROOT / "layers" / "deps"
CORE_DIR = ROOT / "layers" / "core"
FUNCTIONS_DIR = ROOT / "functions"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
CACHE_ROOT = ROOT / ".local" / "bench-cache"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "cold_start.json"
# The yardstick every function's init is compared with, in the same run (see its docstring).
COOKBOOK = "cookbook"
COOKBOOK_DIR = ROOT / "benchmarks" / "cookbook_handler"
# Handlers that import only what every function of a kind must (benchmarks/floor_handlers):
# measured like functions, reported apart, never held to the target.
FLOORS_DIR = ROOT / "benchmarks" / "floor_handlers"
FLOOR_PREFIX = "floor_"
# Issue target: each function's init at most half the cookbook handler's, in both variants.
TARGET_RATIO = 0.5

# Bump when the way this script builds or lays out a cached directory changes.
CACHE_FORMAT = "1"
COMPLETE_MARKER = ".complete"

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
BUILD_TIMEOUT_S = 1800
SAMPLE_TIMEOUT_S = 120
VARIANTS = ("pyc", "no-pyc")
YARDSTICK = {variant: f"{COOKBOOK} {variant}" for variant in VARIANTS}
KINDS = (*VARIANTS, *YARDSTICK.values(), "baseline")
RESULT_PREFIX = "COLD_START_RESULT "

# Runs in a fresh python3.13 per sample. argv: handler module, handler attribute, then the
# sys.path entries (function code, core layer, deps layer, runtime, and for the cookbook handler
# the packages it needs beyond the deps layer). Only the import is timed;
# the audit hook turns any attempt to reach the network during init into a failed sample.
DRIVER = r"""
import sys, time

def _no_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        raise RuntimeError(f"network access during init: {event} {args!r}")

sys.addaudithook(_no_network)
_module, _attr, *_roots = sys.argv[1:]
sys.path[:] = _roots + [p for p in sys.path if p and "site-packages" not in p]
_start = time.perf_counter()
_app = __import__(_module)
_elapsed = time.perf_counter() - _start

import json, os
if not callable(getattr(_app, _attr, None)):
    raise SystemExit(f"{_module}.{_attr} is not callable")
_counts = {}
for _name, _mod in list(sys.modules.items()):
    _file = getattr(_mod, "__file__", None) or ""
    for _label, _root in zip(("function", "core", "deps", "runtime", "extra"), _roots):
        if _file.startswith(_root + os.sep):
            _entry = _counts.setdefault(_label, {"py_modules": 0, "with_pyc": 0, "other": 0})
            if not _file.endswith(".py"):  # extension modules
                _entry["other"] += 1
                break
            _cached = getattr(getattr(_mod, "__spec__", None), "cached", None)
            _entry["py_modules"] += 1
            _entry["with_pyc"] += bool(_cached and os.path.exists(_cached))
            break
print("COLD_START_RESULT " + json.dumps(
    {"import_ms": _elapsed * 1000, "modules": len(sys.modules), "by_root": _counts}
))
"""


class BenchError(Exception):
    """A problem that stops the benchmark (reported without a traceback)."""


class SampleError(Exception):
    """A sample process failed: `output` holds its stderr (the traceback)."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


# ---------------------------------------------------------------------------- processes


STOP_SIGNALS = StopSignals()


def run_process(
    cmd: list[str],
    *,
    env: dict[str, str] | None,
    cwd: Path | None = None,
    timeout: float,
    merge_output: bool = False,
) -> tuple[int, str, str]:
    """Run cmd in a new process group: (exit code, stdout, stderr). If anything interrupts us
    (Ctrl-C, SIGTERM, the timeout), the whole group is killed before the exception goes on."""
    proc: subprocess.Popen[str] | None = None
    try:
        STOP_SIGNALS.holding = True
        try:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        finally:
            STOP_SIGNALS.release()
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        if proc is not None:
            kill_group(proc)
        raise
    return proc.returncode, stdout, stderr or ""


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group `proc` leads, and wait (a little) until it is gone."""
    deadline = time.monotonic() + 5
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        while time.monotonic() < deadline:  # make's children, reparented once make is gone
            os.killpg(proc.pid, 0)
            time.sleep(0.05)


def run_build_step(cmd: list[str], *, env: dict[str, str]) -> None:
    shown = " ".join(cmd)
    print(f"  $ {shown}", file=sys.stderr)
    code, output, _ = run_process(cmd, env=env, timeout=BUILD_TIMEOUT_S, merge_output=True)
    if code != 0:
        raise BenchError(f"command failed (exit {code}): {shown}\n{output}")


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"):
        env.pop(name, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


# ---------------------------------------------------------------------------- python3.13


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def _is_python313(candidate: str) -> bool:
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 13))"
    try:
        proc = subprocess.run(
            [candidate, "-c", check], check=False, capture_output=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def find_python313(explicit: str | None) -> Path:
    """--python, then $PYTHON313, then python3.13 on PATH, then the newest pyenv 3.13."""
    if explicit or os.environ.get("PYTHON313"):
        chosen = explicit or os.environ["PYTHON313"]
        if not _is_python313(chosen):
            raise BenchError(f"{chosen} is not a working Python 3.13")
        return Path(shutil.which(chosen) or chosen).absolute()
    candidates: list[str] = []
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT")
    if not pyenv_root and shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            pyenv_root = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
    root = Path(pyenv_root) if pyenv_root else Path.home() / ".pyenv"
    found = sorted(root.glob("versions/3.13*/bin/python3.13"), key=_version_key, reverse=True)
    candidates += [str(path) for path in found]
    for candidate in candidates:
        if _is_python313(candidate):
            return Path(candidate).absolute()
    raise BenchError(
        "python3.13 not found: pass --python, set PYTHON313, or install it with pyenv install 3.13"
    )


def python_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def default_platform() -> str:
    if sys.platform != "linux":
        raise BenchError(
            "the layers hold manylinux wheels, so this benchmark runs on Linux only "
            f"(this is {sys.platform})"
        )
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
    if machine not in arch:
        raise BenchError(f"no manylinux platform known for {machine}: pass --platform")
    return f"manylinux2014_{arch[machine]}"


# ---------------------------------------------------------------------------- template


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref x) as their long form ({Ref: x})."""


def _cfn_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)

# What `Ref` returns for the resource types the functions' environment points at.
_FAKE_REF = {
    "AWS::DynamoDB::Table": "bench-{id}",
    "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/bench-{{id}}",
    "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:bench-{{id}}",
}


@dataclass(frozen=True)
class Function:
    name: str  # the folder under functions/
    logical_id: str
    module: str
    attr: str
    env: dict[str, str]
    code_dir: Path | None = None  # default: functions/<name>
    floor: bool = False  # a floor handler, not one of the template's functions

    @property
    def code(self) -> Path:
        return self.code_dir or FUNCTIONS_DIR / self.name


def _shared_env(functions: list[Function]) -> dict[str, str]:
    """The Lambda variables and Powertools settings of the template's Globals, as the API
    function has them."""
    api = next((f for f in functions if f.name == "jobs_api"), functions[0])
    env = {key: value for key, value in api.env.items() if key.startswith(("AWS_", "POWERTOOLS_"))}
    return env | {key: api.env[key] for key in ("_HANDLER", "TZ", "LANG") if key in api.env}


def floor_functions(functions: list[Function]) -> list[Function]:
    """Every handler under benchmarks/floor_handlers, named floor_<folder>."""
    floors = []
    for folder in sorted(path for path in FLOORS_DIR.iterdir() if (path / "app.py").is_file()):
        env = _shared_env(functions) | {
            "AWS_LAMBDA_FUNCTION_NAME": f"transform-jobs-Floor-{folder.name}"
        }
        name = FLOOR_PREFIX + folder.name
        floors.append(Function(name, f"Floor-{folder.name}", "app", "handler", env, folder, True))
    return floors


def cookbook_function(functions: list[Function]) -> Function:
    """The yardstick, given the environment of the API function it stands beside (the Lambda
    variables and Powertools settings of the template's Globals) plus its own table and queue."""
    env = _shared_env(functions)
    env |= {
        "AWS_LAMBDA_FUNCTION_NAME": "transform-jobs-CookbookHandler",
        "IDEMPOTENCY_TABLE_NAME": "bench-IdempotencyTable",
        "ORDERS_TABLE_NAME": "bench-OrdersTable",
        "ORDERS_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/bench-Orders",
    }
    return Function(COOKBOOK, "CookbookHandler", "app", "handler", env, COOKBOOK_DIR)


def _resolve(value: Any, template: dict[str, Any]) -> str:
    """A template value as the function would see it, with parameters at their defaults."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        parameter = template.get("Parameters", {}).get(name)
        if parameter is not None:
            if "Default" not in parameter:
                raise BenchError(f"template parameter {name} has no Default to benchmark with")
            return _resolve(parameter["Default"], template)
        resource = template.get("Resources", {}).get(name)
        if resource is None:
            raise BenchError(f"template: Ref to unknown {name}")
        return _FAKE_REF.get(resource["Type"], "bench-{id}").format(id=name)
    if isinstance(value, dict) and set(value) == {"Fn::FindInMap"}:
        mapping, first, second = (_resolve(part, template) for part in value["Fn::FindInMap"])
        return _resolve(template["Mappings"][mapping][first][second], template)
    raise BenchError(f"template: cannot resolve {value!r} for the benchmark environment")


def load_functions(template_path: Path = TEMPLATE) -> list[Function]:
    """Every AWS::Serverless::Function of the template with the environment Lambda gives it."""
    template = yaml.load(template_path.read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader)
    globals_ = template.get("Globals", {}).get("Function", {})
    functions = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})

        def prop(key: str, props: dict[str, Any] = props) -> Any:
            return props.get(key, globals_.get(key))

        name = Path(str(props["CodeUri"])).name
        handler = str(prop("Handler"))
        module, _, attr = handler.rpartition(".")
        variables = dict(globals_.get("Environment", {}).get("Variables", {}))
        variables.update(props.get("Environment", {}).get("Variables", {}))
        env = {key: _resolve(value, template) for key, value in variables.items()}
        logging_config = {**globals_.get("LoggingConfig", {}), **props.get("LoggingConfig", {})}
        runtime = str(prop("Runtime"))
        # What the Lambda service itself sets (the subset that code may look at during init).
        lambda_env = {
            "AWS_LAMBDA_FUNCTION_NAME": f"transform-jobs-{logical_id}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": _resolve(prop("MemorySize") or 128, template),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "_HANDLER": handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
        if "LogFormat" in logging_config:
            lambda_env["AWS_LAMBDA_LOG_FORMAT"] = _resolve(logging_config["LogFormat"], template)
        if "ApplicationLogLevel" in logging_config:
            level = _resolve(logging_config["ApplicationLogLevel"], template)
            lambda_env["AWS_LAMBDA_LOG_LEVEL"] = level
        functions.append(Function(name, logical_id, module, attr, {**lambda_env, **env}))
    if not functions:
        raise BenchError(f"no AWS::Serverless::Function in {template_path}")
    return functions


# ---------------------------------------------------------------------------- cached builds


def _hash_tree(digest: Any, root: Path) -> None:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part == "__pycache__" or part.endswith(".egg-info") for part in relative.parts):
            continue
        if path.suffix in {".pyc", ".pyo"} or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


def cache_key(*parts: str | Path) -> str:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                _hash_tree(digest, part)
            else:
                digest.update(part.read_bytes())
        else:
            digest.update(part.encode())
        digest.update(b"\0\0")
    return digest.hexdigest()[:16]


def cached_build(component: str, key: str, build: Callable[[Path], None], rebuild: bool) -> Path:
    """.local/bench-cache/<component>-<key>/, built by `build(directory)` unless already there."""
    final = CACHE_ROOT / f"{component}-{key}"
    if (final / COMPLETE_MARKER).is_file() and not rebuild:
        print(f"{component}: cached in {final.relative_to(ROOT)}", file=sys.stderr)
        return final
    print(f"{component}: building", file=sys.stderr)
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{component}-", dir=CACHE_ROOT))
    try:
        build(staging)
        (staging / COMPLETE_MARKER).write_text(datetime.now(UTC).isoformat() + "\n")
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for stale in CACHE_ROOT.glob(f"{component}-*"):
        if stale != final:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def dev_pins() -> list[str]:
    """boto3 (and botocore, if pinned) exactly as requirements-dev.txt pins them."""
    pins = {}
    for line in DEV_REQUIREMENTS.read_text().splitlines():
        match = re.match(r"\s*(boto3|botocore)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match.group(1)] = f"{match.group(1)}=={match.group(2)}"
    if "boto3" not in pins:
        raise BenchError(f"no boto3==<version> pin in {DEV_REQUIREMENTS.relative_to(ROOT)}")
    return [pins[name] for name in ("boto3", "botocore") if name in pins]


@dataclass(frozen=True)
class Layers:
    deps: Path  # each is the directory that goes on sys.path (…/python)
    core: Path
    runtime: Path
    cookbook: Path  # what the cookbook handler needs beyond the deps layer (the X-Ray SDK)


def build_all(python: Path, version: str, deps_platform: str, rebuild: bool) -> Layers:
    env = build_env()
    py = str(python)
    interpreter = f"{python}\n{version}"

    def deps(out: Path) -> None:
        run_build_step(
            ["make", "--no-print-directory", "-C", str(DEPS_DIR), "build-DepsLayer",
             f"ARTIFACTS_DIR={out}", f"PLATFORM={deps_platform}", f"PYTHON313={py}"],
            env=env,
        )  # fmt: skip

    def core(out: Path) -> None:
        run_build_step(
            ["make", "--no-print-directory", "-C", str(CORE_DIR), "build-CoreLayer",
             f"ARTIFACTS_DIR={out}", f"PYTHON313={py}"],
            env=env,
        )  # fmt: skip

    pins = dev_pins()

    def runtime(out: Path) -> None:
        site = out / "python"
        run_build_step(
            [py, "-m", "pip", "install", "--quiet", "--no-compile", "--only-binary=:all:",
             "--target", str(site), *pins],
            env=env,
        )  # fmt: skip
        shutil.rmtree(site / "bin", ignore_errors=True)
        run_build_step(
            [py, "-m", "compileall", "-f", "-q", "-j0",
             "--invalidation-mode", "unchecked-hash", str(site)],
            env=env,
        )  # fmt: skip

    def cookbook(out: Path) -> None:
        site = out / "python"
        run_build_step(
            [py, "-m", "pip", "install", "--quiet", "--no-compile", "--only-binary=:all:",
             "--no-deps", "--target", str(site), "-r", str(COOKBOOK_DIR / "requirements.txt")],
            env=env,
        )  # fmt: skip
        run_build_step(
            [py, "-m", "compileall", "-f", "-q", "-j0",
             "--invalidation-mode", "unchecked-hash", str(site)],
            env=env,
        )  # fmt: skip

    deps_key = cache_key(
        interpreter, deps_platform, DEPS_DIR / "requirements.txt", DEPS_DIR / "Makefile"
    )
    return Layers(
        deps=cached_build("deps", deps_key, deps, rebuild) / "python",
        core=cached_build("core", cache_key(interpreter, CORE_DIR), core, rebuild) / "python",
        runtime=cached_build("runtime", cache_key(interpreter, *pins), runtime, rebuild) / "python",
        cookbook=cached_build(
            "cookbook", cache_key(interpreter, COOKBOOK_DIR / "requirements.txt"), cookbook, rebuild
        )
        / "python",
    )


def pyc_census(root: Path) -> dict[str, int]:
    """How many .py files under root have a cpython-313 .pyc, and how many are unchecked-hash."""
    sources = compiled = unchecked = 0
    for source in root.rglob("*.py"):
        sources += 1
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if pyc.is_file():
            compiled += 1
            with pyc.open("rb") as handle:
                flags = int.from_bytes(handle.read(8)[4:8], "little")
            unchecked += flags == 0b01  # hash-based, source not checked
    return {"py_files": sources, "pyc_files": compiled, "unchecked_hash_pyc": unchecked}


# ---------------------------------------------------------------------------- measuring


@dataclass
class Series:
    import_ms: list[float] = field(default_factory=list)
    process_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, values in (("import_ms", self.import_ms), ("process_ms", self.process_ms)):
            if values:
                out[label] = {
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                    "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "samples": values,
                }
        return out


@dataclass
class FunctionResult:
    function: Function
    series: dict[str, Series] = field(default_factory=lambda: {kind: Series() for kind in KINDS})
    modules: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def median(self, kind: str) -> float:
        return statistics.median(self.series[kind].import_ms)

    def ratio(self) -> float:
        return self.median("no-pyc") / self.median("pyc")

    def to_cookbook(self, variant: str) -> float:
        """This function's init over the cookbook handler's, from the same rounds."""
        return self.median(variant) / self.median(YARDSTICK[variant])

    def meets_target(self) -> bool:
        return all(self.to_cookbook(variant) <= TARGET_RATIO for variant in VARIANTS)


def sample_env(function: Function, home: Path) -> dict[str, str]:
    """The function's environment, and nothing that could reach AWS or read local credentials."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARKFAKE000",
        "AWS_SECRET_ACCESS_KEY": "benchmark-fake-secret",
        "AWS_SESSION_TOKEN": "benchmark-fake-token",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        **function.env,
    }


def run_sample(
    python: Path, argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, dict[str, Any] | None]:
    """One fresh process: its wall time in ms and, when it ran DRIVER, the driver's report."""
    start = time.perf_counter()
    code, stdout, stderr = run_process(
        [str(python), *argv], env=env, cwd=cwd, timeout=SAMPLE_TIMEOUT_S
    )
    wall_ms = (time.perf_counter() - start) * 1000
    if code != 0:
        raise SampleError(f"exit {code}", stderr or stdout)
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return wall_ms, json.loads(line.removeprefix(RESULT_PREFIX))
    if DRIVER in argv:
        raise SampleError("the driver printed no result", stdout + stderr)
    return wall_ms, None


def strip_pycache(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def measure(
    python: Path,
    functions: list[Function],
    layers: Layers,
    runs: int,
    warmup: int,
    scratch: Path,
) -> list[FunctionResult]:
    no_pyc = Layers(
        deps=strip_pycache(layers.deps, scratch / "no-pyc" / "deps" / "python"),
        core=strip_pycache(layers.core, scratch / "no-pyc" / "core" / "python"),
        runtime=layers.runtime,  # the Lambda runtime's boto3 ships compiled
        cookbook=strip_pycache(layers.cookbook, scratch / "no-pyc" / "cookbook" / "python"),
    )
    roots = {"pyc": layers, "no-pyc": no_pyc}
    home = scratch / "home"
    home.mkdir()
    results = []
    # Private copies of the code, so nothing stale from the working tree's __pycache__ is used;
    # like /var/task after `sam build`, they have no .pyc in either variant.
    cookbook = cookbook_function(functions)
    cookbook_code = strip_pycache(cookbook.code, scratch / "functions" / cookbook.name)

    def driver(function: Function, code: Path, variant: str) -> list[str]:
        layer = roots[variant]
        extra = [str(layer.cookbook)] if function.name == COOKBOOK else []
        return [
            "-c", DRIVER, function.module, function.attr,
            str(code), str(layer.core), str(layer.deps), str(layer.runtime), *extra,
        ]  # fmt: skip

    for function in functions:
        code = strip_pycache(function.code, scratch / "functions" / function.name)
        env = sample_env(function, home)
        # The cookbook handler runs in the same rounds as each function, so the ratio compares
        # samples taken under the same machine load.
        argv = {kind: (driver(function, code, kind), env) for kind in VARIANTS}
        argv |= {
            YARDSTICK[kind]: (driver(cookbook, cookbook_code, kind), sample_env(cookbook, home))
            for kind in VARIANTS
        }
        argv["baseline"] = (["-c", "pass"], env)
        result = FunctionResult(function)
        results.append(result)
        kinds = list(KINDS)
        print(f"{function.name}: ", end="", file=sys.stderr, flush=True)
        try:
            for round_ in range(warmup + runs):
                # Rotate the order each round so no variant always runs first (or last).
                shift = round_ % len(kinds)
                for kind in kinds[shift:] + kinds[:shift]:
                    wall_ms, report = run_sample(python, *argv[kind], code)
                    if round_ < warmup:
                        continue
                    series = result.series[kind]
                    series.process_ms.append(wall_ms)
                    if report is not None:
                        series.import_ms.append(report["import_ms"])
                        result.modules[kind] = {
                            "total": report["modules"],
                            "by_root": report["by_root"],
                        }
                print("." if round_ >= warmup else "w", end="", file=sys.stderr, flush=True)
        except (SampleError, subprocess.TimeoutExpired) as exc:
            detail = exc.output if isinstance(exc, SampleError) else "(no output: killed)"
            result.error = f"{exc}\n{detail}".strip()
            print(" FAILED", file=sys.stderr)
            print(result.error, file=sys.stderr)
            continue
        print(
            f" pyc {result.median('pyc'):.1f} ms ({result.to_cookbook('pyc'):.2f}× cookbook),"
            f" no-pyc {result.median('no-pyc'):.1f} ms"
            f" ({result.to_cookbook('no-pyc'):.2f}× cookbook)",
            file=sys.stderr,
        )
    return results


# ---------------------------------------------------------------------------- reporting


def _runs(count: int, noun: str = "run") -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def markdown(results: list[FunctionResult], runs: int, warmup: int, python_label: str) -> str:
    lines = [
        f"Init time: `import app` in a fresh {python_label} process, median of {_runs(runs)}"
        f" ({_runs(warmup, 'warm-up run')} discarded). `× cookbook`: the function's median over"
        " the cookbook handler's (benchmarks/cookbook_handler), measured in the same rounds;"
        f" target ≤ {TARGET_RATIO:.2f}× in both variants.",
        "",
        "| function | pyc ms | cookbook pyc ms | × cookbook (pyc) | no-pyc ms"
        " | cookbook no-pyc ms | × cookbook (no-pyc) | no-pyc ÷ pyc | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    baseline = []
    for result in results:
        name = result.function.name
        if result.error is not None:
            lines.append(f"| {name} | import failed | | | | | | | – |")
            continue
        cells = [name]
        for variant in VARIANTS:
            cells += [
                f"{result.median(variant):.1f}",
                f"{result.median(YARDSTICK[variant]):.1f}",
                f"{result.to_cookbook(variant):.2f}×",
            ]
        verdict = "met" if result.meets_target() else "**missed**"
        cells += [f"{result.ratio():.2f}×", "(floor)" if result.function.floor else verdict]
        lines.append("| " + " | ".join(cells) + " |")
        baseline.append(f"{name} {statistics.median(result.series['baseline'].process_ms):.1f}")
    measured = [result for result in results if result.error is None and not result.function.floor]
    missed = [result.function.name for result in measured if not result.meets_target()]
    lines += [
        "",
        f"Target (each function ≤ {TARGET_RATIO:.2f}× the cookbook handler, pyc and no-pyc): "
        + (f"**missed** by {', '.join(missed)}." if missed else f"met by all {len(measured)}."),
    ]
    if any(result.function.floor for result in results):
        lines += [
            "",
            f"{FLOOR_PREFIX}* rows are floors (benchmarks/floor_handlers), not functions: what"
            " every function of a kind imports before any of its own code, held to no target.",
        ]
    failures = [result for result in results if result.error is not None]
    if failures:
        lines.append("")
        for result in failures:
            last = (result.error or "").strip().splitlines()[-1]
            lines.append(
                f"{result.function.name} failed: {last} (traceback on stderr and in the JSON)."
            )
    if baseline:
        lines += [
            "",
            f"Baseline, whole-process wall time of `{python_label} -c pass` (median ms, not"
            f" subtracted above): {', '.join(baseline)}.",
        ]
    return "\n".join(lines)


def git_state() -> dict[str, Any]:
    status = command_output(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "layers", "functions"]
    )
    return {
        "commit": command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
        "layers_or_functions_modified": bool(status),
    }


def report_json(
    results: list[FunctionResult],
    *,
    python: Path,
    version: str,
    layers: Layers,
    args: argparse.Namespace,
    deps_platform: str,
    started: datetime,
    duration_s: float,
) -> dict[str, Any]:
    secret = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    return {
        "benchmark": "cold_start",
        "started_at": started.isoformat(),
        "duration_s": round(duration_s, 2),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "cpu_model": cpu_model(),
            "python": {"executable": str(python), "version": version},
            "harness_python": sys.version,
        },
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "deps_platform": deps_platform,
            "variants": {
                "pyc": "layers as the Makefiles build them (unchecked-hash .pyc)",
                "no-pyc": "same files with every __pycache__ removed",
                "both": "PYTHONDONTWRITEBYTECODE=1, runtime boto3 precompiled",
                "cookbook": "benchmarks/cookbook_handler in each variant, same rounds",
                "target_ratio_to_cookbook": TARGET_RATIO,
            },
            "git": git_state(),
        },
        "layers": {
            name: {"path": str(path), **pyc_census(path)}
            for name, path in (
                ("deps", layers.deps),
                ("core", layers.core),
                ("runtime", layers.runtime),
                ("cookbook", layers.cookbook),
            )
        },
        "functions": {
            result.function.name: {
                "logical_id": result.function.logical_id,
                "handler": f"{result.function.module}.{result.function.attr}",
                "env": {k: v for k, v in result.function.env.items() if k not in secret},
                "error": result.error,
                "ratio_no_pyc_to_pyc": None if result.error else result.ratio(),
                "saved_ms": None
                if result.error
                else result.median("no-pyc") - result.median("pyc"),
                "pyc": result.series["pyc"].summary(),
                "no-pyc": result.series["no-pyc"].summary(),
                "baseline_python_c_pass": result.series["baseline"].summary(),
                "cookbook": {
                    variant: result.series[YARDSTICK[variant]].summary() for variant in VARIANTS
                },
                "ratio_to_cookbook": None
                if result.error
                else {variant: result.to_cookbook(variant) for variant in VARIANTS},
                "floor": result.function.floor,
                "target_met": None
                if result.error or result.function.floor
                else result.meets_target(),
                "modules_loaded": result.modules,
            }
            for result in results
        },
    }


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="measured runs per variant (7)")
    parser.add_argument(
        "--functions",
        help="comma-separated function folders under functions/, or floor_<folder> for a handler"
        " under benchmarks/floor_handlers (default: all of both)",
    )
    parser.add_argument("--warmup", type=int, default=1, help="discarded runs first (1)")
    parser.add_argument("--python", help="python3.13 to use (default: found as the Makefiles do)")
    parser.add_argument(
        "--platform",
        help="pip platform for the deps layer (default: this machine's manylinux2014_<arch>)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--rebuild", action="store_true", help="ignore .local/bench-cache")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return args


def select(functions: list[Function], wanted: str | None) -> list[Function]:
    if not wanted:
        return functions
    by_name = {function.name: function for function in functions}
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = [name for name in names if name not in by_name]
    if unknown or not names:
        raise BenchError(
            f"unknown function(s) {', '.join(unknown) or '(none given)'};"
            f" choose from {', '.join(by_name)}"
        )
    return [by_name[name] for name in dict.fromkeys(names)]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        with STOP_SIGNALS.installed():
            template_functions = load_functions()
            candidates = template_functions + floor_functions(template_functions)
            functions = select(candidates, args.functions)
            for function in functions:
                if not (function.code / f"{function.module}.py").is_file():
                    shown = function.code.relative_to(ROOT)
                    raise BenchError(f"{shown}/{function.module}.py is missing")
            deps_platform = args.platform or default_platform()
            python = find_python313(args.python)
            version = python_version(python)
            print(f"python: {python} ({version.split()[0]})", file=sys.stderr)
            layers = build_all(python, version, deps_platform, args.rebuild)
            with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
                results = measure(python, functions, layers, args.runs, args.warmup, Path(scratch))
    except BenchError as exc:
        print(f"cold_start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ncold_start: interrupted", file=sys.stderr)
        return 130
    duration = time.perf_counter() - clock
    label = f"python{'.'.join(version.split()[0].split('.')[:2])}"
    print(markdown(results, args.runs, args.warmup, label))
    data = report_json(
        results,
        python=python,
        version=version,
        layers=layers,
        args=args,
        deps_platform=deps_platform,
        started=started,
        duration_s=duration,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nWrote {shown} ({duration:.0f} s in all).")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
