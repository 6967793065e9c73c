"""The client package installs into a clean Python 3.13 venv (`pip install ./clients/python`,
as a team would) and its tests pass there; 3.11 is the suite's own interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.build.test_sam_build import find_python313

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.build
def test_the_client_installs_and_passes_its_tests_on_python_313(tmp_path: Path) -> None:
    python313 = find_python313()
    if python313 is None:
        pytest.skip("python3.13 is not installed (pyenv install 3.13)")
    env_dir = tmp_path / "venv313"
    subprocess.run([str(python313), "-m", "venv", str(env_dir)], check=True)  # noqa: S603
    python = env_dir / "bin" / "python"
    pytest_pin = next(
        line.strip()
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("pytest==")
    )
    install = subprocess.run(  # noqa: S603
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(ROOT / "clients" / "python"),
            pytest_pin,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    version = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sys, transform_jobs_client; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "(3, 13)"
    tests = subprocess.run(  # noqa: S603
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT / "clients" / "python"),
            "-c",
            "/dev/null",
            str(ROOT / "clients" / "python" / "tests"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    assert (env_dir / "bin" / "transform-jobs").exists()
