"""Each function's Init phase (`import app`) loads only what its path needs.

A fresh interpreter imports the handler module with the function's folder and the core layer
first on sys.path, as Lambda (and benchmarks/cold_start.py) lays them out; the modules it then
holds are compared with what the function is allowed. A new import that drags in more (boto3's
resource layer, pydantic and the models, the whole repository) fails here, before it shows up
as a slower cold start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# -I: no PYTHONPATH, no current directory, no user site (only the venv's packages after ours);
# -B: the test leaves no .pyc behind.
DRIVER = r"""
import json, sys
_module, *_roots = sys.argv[1:]
sys.path[:0] = _roots
__import__(_module)
print(json.dumps(sorted(sys.modules)))
"""


@dataclass(frozen=True)
class ImportBudget:
    """What a function's `import app` may load."""

    # Every transform_jobs module it may import (None: not checked yet for this function).
    core_modules: frozenset[str] | None
    # Packages or modules it must not import at all (a name covers its submodules).
    absent: tuple[str, ...]


BUDGETS = {
    "authorizer": ImportBudget(
        core_modules=frozenset(
            {
                "transform_jobs",
                "transform_jobs.authorization",
                "transform_jobs.api_keys",
                "transform_jobs.api_key_repository",
            }
        ),
        absent=(
            # It looks a key hash up with one GetItem: botocore's client suffices, and importing
            # boto3 at all loads boto3.resources (and its docs) through boto3.session.
            "boto3",
            "boto3.resources",
            "transform_jobs.models",  # the request, job and team models
            "transform_jobs.repository",
            "transform_jobs.table",
            # Not even for the settings: importing pydantic takes about as long as the rest.
            "pydantic",
            "pydantic_core",
        ),
    ),
}


def modules_after_import(function: str, module: str = "app") -> set[str]:
    reply = subprocess.run(  # noqa: S603 (this interpreter, our own driver)
        [
            sys.executable, "-I", "-B", "-c", DRIVER, module,
            str(ROOT / "functions" / function), str(ROOT / "layers" / "core"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"},
    )  # fmt: skip
    assert reply.returncode == 0, reply.stderr[-2000:]
    return set(json.loads(reply.stdout.splitlines()[-1]))


def loaded_under(modules: set[str], name: str) -> list[str]:
    return sorted(m for m in modules if m == name or m.startswith(f"{name}."))


@pytest.mark.parametrize("function", sorted(BUDGETS))
def test_init_imports_only_what_the_function_needs(function: str) -> None:
    budget = BUDGETS[function]
    modules = modules_after_import(function)
    assert "app" in modules
    if budget.core_modules is not None:
        assert set(loaded_under(modules, "transform_jobs")) == budget.core_modules
    unwanted = {name: loaded_under(modules, name) for name in budget.absent}
    assert {name: found for name, found in unwanted.items() if found} == {}


def test_every_budget_names_a_function() -> None:
    assert set(BUDGETS) <= {path.parent.name for path in ROOT.glob("functions/*/app.py")}
