"""`sam build` produces layers Lambda (python3.13, arm64) can load without compiling anything.

The layers are Makefile builds (layers/*/Makefile). What can silently regress:
wheels for the build machine's platform instead of aarch64, .pyc compiled by
another Python, or timestamp-checked .pyc that Lambda would ignore after the
zip round trip (its file system is read-only, so it would recompile on every
cold start). This test builds into a temporary directory and reads the bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str  # type: ignore[import-untyped]

pytestmark = pytest.mark.build

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SECONDS = 170

EM_AARCH64 = 183
# PEP 552 flags word: bit 0 = hash-based, bit 1 = check_source.
PYC_UNCHECKED_HASH = 0b01
PYDANTIC_CORE_SO = "pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"

PY313_CHECK = "import sys; sys.exit(sys.version_info[:2] != (3, 13))"


def _runs_313(candidate: str | Path) -> bool:
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, candidate found on disk
            [str(candidate), "-c", PY313_CHECK], capture_output=True, timeout=30, check=False
        )
    except OSError:
        return False
    return result.returncode == 0


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        result = subprocess.run(  # noqa: S603
            [pyenv, "root"], capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    return Path.home() / ".pyenv"


def find_python313() -> Path | None:
    """python3.13 on PATH if it really runs (pyenv shims may not), else pyenv's newest 3.13."""
    on_path = shutil.which("python3.13")
    if on_path and _runs_313(on_path):
        return Path(on_path)
    candidates = sorted(
        _pyenv_root().glob("versions/3.13*/bin/python3.13"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")],
        reverse=True,
    )
    return next((c for c in candidates if _runs_313(c)), None)


def _pyc_magic(python: Path) -> bytes:
    result = subprocess.run(  # noqa: S603
        [
            str(python),
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return bytes.fromhex(result.stdout)


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[4] == 2, f"{path} is not a 64-bit ELF (EI_CLASS={header[4]})"
    assert header[5] == 1, f"{path} is not little-endian (EI_DATA={header[5]})"
    return int.from_bytes(header[18:20], "little")


def _pyc_for(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"


def _assert_precompiled(site: Path, magic: bytes) -> int:
    """Every .py under site has an unchecked-hash .pyc written by python3.13; returns the count."""
    sources = sorted(site.rglob("*.py"))
    problems = []
    for source in sources:
        pyc = _pyc_for(source)
        if not pyc.is_file():
            problems.append(f"missing {pyc.relative_to(site)}")
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != magic:
            problems.append(
                f"{pyc.relative_to(site)}: magic {header[:4].hex()} is not python3.13's"
            )
        flags = int.from_bytes(header[4:8], "little")
        if flags != PYC_UNCHECKED_HASH:
            problems.append(
                f"{pyc.relative_to(site)}: flags {flags:#06b}, want unchecked-hash 0b01"
            )
    assert not problems, "\n".join(problems[:20])
    return len(sources)


@pytest.fixture(scope="module")
def python313() -> Path:
    found = find_python313()
    if found is None:
        pytest.skip("no python3.13 on PATH or under pyenv: sam build needs Lambda's Python")
    return found


@pytest.fixture(scope="module")
def build_dir(python313: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = Path(sys.executable).parent / "sam"
    assert sam.is_file(), (
        f"sam CLI not found next to {sys.executable}: install requirements-dev.txt"
    )
    build = tmp_path_factory.mktemp("sam") / "build"
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": f"{python313.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [str(sam), "build", "--build-dir", str(build)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, (
        f"sam build failed ({result.returncode})\n--- stdout\n{result.stdout[-6000:]}"
        f"\n--- stderr\n{result.stderr[-6000:]}"
    )
    assert "Build Succeeded" in result.stdout + result.stderr
    return build


def _template_resources() -> dict[str, Any]:
    template, matches = decode_str((REPO_ROOT / "template.yaml").read_text())
    assert not matches, matches
    resources: dict[str, Any] = template["Resources"]
    return resources


def test_deps_layer_ships_aarch64_cp313_pydantic_core(build_dir: Path) -> None:
    so = build_dir / "DepsLayer" / "python" / PYDANTIC_CORE_SO
    assert so.is_file(), f"{PYDANTIC_CORE_SO} not in the deps layer"
    assert _elf_machine(so) == EM_AARCH64


def test_every_native_extension_in_deps_layer_is_aarch64(build_dir: Path) -> None:
    shared_objects = sorted((build_dir / "DepsLayer" / "python").rglob("*.so"))
    assert shared_objects
    wrong = {
        str(so.relative_to(build_dir)): machine
        for so in shared_objects
        if (machine := _elf_machine(so)) != EM_AARCH64
    }
    assert not wrong, f"not aarch64 (e_machine): {wrong}"
    # cp313 extensions only: an abi3 or other-version wheel would mean pip picked the wrong target
    assert all(
        ".cpython-313-aarch64-linux-gnu." in so.name
        for so in shared_objects
        if "cpython" in so.name
    )


def test_deps_layer_is_precompiled_unchecked_hash(build_dir: Path, python313: Path) -> None:
    site = build_dir / "DepsLayer" / "python"
    assert sorted(p.name for p in build_dir.joinpath("DepsLayer").iterdir()) == ["python"]
    assert (site / "pydantic").is_dir()
    assert (site / "aws_lambda_powertools").is_dir()
    assert not (site / "bin").exists()
    assert _assert_precompiled(site, _pyc_magic(python313)) > 100


def test_core_layer_is_the_package_precompiled_unchecked_hash(
    build_dir: Path, python313: Path
) -> None:
    layer = build_dir / "CoreLayer"
    assert sorted(p.name for p in layer.iterdir()) == ["python"]
    assert sorted(p.name for p in (layer / "python").iterdir()) == ["transform_jobs"]
    package = layer / "python" / "transform_jobs"

    source_package = REPO_ROOT / "layers" / "core" / "transform_jobs"
    expected = sorted(
        p.relative_to(source_package)
        for p in source_package.rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert expected, "layers/core/transform_jobs has no .py files"
    assert sorted(p.relative_to(package) for p in package.rglob("*.py")) == expected

    assert _assert_precompiled(package, _pyc_magic(python313)) == len(expected)
    # nothing but python3.13 bytecode: a developer's local __pycache__ must not leak in
    stray = [p for p in package.rglob("*.pyc") if not p.name.endswith(".cpython-313.pyc")]
    assert not stray


def test_every_function_has_its_handler_module(build_dir: Path) -> None:
    functions = [
        logical_id
        for logical_id, resource in _template_resources().items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    # one function per folder under functions/ (the count was stale at 6)
    folders = [d for d in (REPO_ROOT / "functions").iterdir() if (d / "app.py").is_file()]
    assert len(functions) == len(folders) > 0
    missing = [f for f in functions if not (build_dir / f / "app.py").is_file()]
    assert not missing, f"no app.py in the build of {missing}"


# Lambda refuses a function whose code and layers unzip to more than this: "Function code
# combined with layers exceeds the maximum allowed size of 262144000 bytes" (the 250 MB quota).
UNZIPPED_LIMIT_BYTES = 262_144_000


def _unzipped_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _layers_of(logical_id: str, resources: dict[str, Any], globals_layers: list[Any]) -> list[str]:
    layers = resources[logical_id]["Properties"].get("Layers", globals_layers)
    return [layer["Ref"] for layer in layers]


def test_every_function_with_its_layers_fits_lambdas_unzipped_limit(build_dir: Path) -> None:
    template, matches = decode_str((REPO_ROOT / "template.yaml").read_text())
    assert not matches, matches
    resources: dict[str, Any] = template["Resources"]
    globals_layers = template["Globals"]["Function"].get("Layers", [])
    layer_sizes = {
        name: _unzipped_size(build_dir / name)
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    totals = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = _unzipped_size(build_dir / name)
        totals[name] = own + sum(
            layer_sizes[layer] for layer in _layers_of(name, resources, globals_layers)
        )
    largest = max(totals, key=lambda name: totals[name])
    mib = 1024 * 1024
    report = ", ".join(f"{name} {size / mib:.1f} MiB" for name, size in sorted(layer_sizes.items()))
    print(  # the figures, for the record (pytest -rP shows them)
        f"layers: {report}; largest function with its layers: {largest} "
        f"{totals[largest] / mib:.1f} MiB of {UNZIPPED_LIMIT_BYTES / mib:.0f} MiB"
    )
    assert all(size > 0 for size in layer_sizes.values()), layer_sizes
    assert totals[largest] <= UNZIPPED_LIMIT_BYTES, (largest, totals[largest])
    # all layers together (a function that took every layer) fit too
    assert (
        sum(layer_sizes.values()) + max(_unzipped_size(build_dir / name) for name in totals)
        <= UNZIPPED_LIMIT_BYTES
    )
