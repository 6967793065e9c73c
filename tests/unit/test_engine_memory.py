"""The engine CLI's process: large buffers go back to the system, and S3 is loaded on first use."""

from __future__ import annotations

import json
import platform

import pytest

from tests.support.fresh_interpreter import run_fresh

# Allocates and frees an 8 MiB buffer twice, then reports how much more is resident than before.
# glibc maps the first one and frees it to the system; without a fixed threshold it then serves
# the second from its heap and keeps it (8 MiB stays resident).
AFTER_TWO_LARGE_BUFFERS = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from local.engine.memory import return_large_buffers
fixed = return_large_buffers() if sys.argv[2] == "fixed" else None

def resident_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

before = resident_kib()
for _ in range(2):
    buffer = bytearray(8 * 1024 * 1024)  # zero-filled: every page touched
    del buffer
print(json.dumps({"fixed": fixed, "grown_kib": resident_kib() - before}))
"""


def _after_two_large_buffers(mode: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(run_fresh(AFTER_TWO_LARGE_BUFFERS, mode))
    return result


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_large_buffers_leave_the_process_with_a_fixed_mmap_threshold() -> None:
    default = _after_two_large_buffers("default")
    fixed = _after_two_large_buffers("fixed")

    assert fixed["fixed"] is True
    assert int(str(fixed["grown_kib"])) < 2048
    assert int(str(default["grown_kib"])) >= 6 * 1024  # what the setting is for


def test_without_mallopt_the_setting_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from local.engine import memory

    class NoMallopt:
        def __init__(self, name: object) -> None:
            pass

    monkeypatch.setattr(ctypes, "CDLL", NoMallopt)
    assert memory.return_large_buffers() is False


def test_the_cli_loads_botocore_only_when_it_first_reaches_s3() -> None:
    # The model processes start first and boot while botocore loads; boto3 is never needed.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import local.engine.__main__;"
        " print(sorted(m for m in ('boto3', 'botocore.session', 'botocore.client', 's3transfer')"
        " if m in sys.modules))"
    )
    assert run_fresh(probe).strip() == "[]"


def test_the_cli_marks_unused_optional_imports_absent_in_its_own_process_only() -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import local.engine.__main__ as cli;"
        " before = 'awscrt' in sys.modules; cli.skip_unused_optional_imports();"
        " import botocore.compat, botocore.httpsession;"
        " print(before, botocore.compat.HAS_CRT, 'OpenSSL' in sys.modules)"
    )
    assert run_fresh(probe).split() == ["False", "False", "False"]
