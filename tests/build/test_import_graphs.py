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

from tests.support.template import function_environments

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

    # Every transform_jobs module it may import (None: not pinned for this function).
    core_modules: frozenset[str] | None
    # Packages or modules it must not import at all (a name covers its submodules).
    absent: tuple[str, ...]


# Nothing's Init loads these: AWS clients come from aws_clients on first use (botocore's session,
# client and config modules are most of boto3's import time, and boto3 adds its resource layer and
# s3transfer); Powertools' parser builds every event model it ships; idempotency comes with the
# first keyed submission; the webhook signing library and the HTTP client with the first delivery;
# the OpenAPI document's models when the document is made; pyarrow with prepare_job's first
# block of rows to reorder.
NEVER_AT_INIT = (
    "aws_lambda_powertools.event_handler.openapi.models",
    "pyarrow",
    "boto3",
    "s3transfer",
    "botocore.session",
    "botocore.client",
    "botocore.config",
    "urllib3",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.idempotency",
    "standardwebhooks",
)
NOT_AN_API = ("aws_lambda_powertools.event_handler", "transform_jobs.api.rest")
# The webhook functions never read a job: no request model, no job repository.
NO_JOBS = (
    "transform_jobs.models.request",
    "transform_jobs.models.job",
    "transform_jobs.adapters.dynamodb.job_repository",
)


def core(*names: str) -> frozenset[str]:
    """The modules named, with the packages that hold them."""
    found = {"transform_jobs"}
    for name in names:
        parts = name.split(".")
        found.update("transform_jobs." + ".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return frozenset(found)


STORAGE = (
    "adapters.aws_clients",
    "clock",
    "adapters.dynamodb.dynamodb_values",
    "settings",
    "adapters.dynamodb.table",
    "adapters.queue_gateway",
    "models.messages",
)
JOB_STORAGE = (
    *STORAGE,
    "models.instance_types",
    "adapters.dynamodb.item_size",
    "models.job_status",
)
JOB_STORAGE += ("models.jsonpath_filter", "models", "models.job", "models.request")
JOB_STORAGE += ("adapters.dynamodb.job_repository", "models.job_update", "s3_location")
# A team's allowances, for the functions that check them.
TEAMS = ("adapters.dynamodb.team_repository", "models.team")
WEBHOOKS = (
    *STORAGE,
    "models",
    "models.partial",
    "models.webhook",
    "adapters.dynamodb.webhook_repository",
)
WEBHOOKS += ("webhooks",)
# A schedule's run: its template made into a job, checked and submitted.
SCHEDULE_RUNS = ("jobs.transitions",)
SCHEDULE_RUNS += (
    "csv_io.columns",
    "csv_io.native_columns",
    "csv_io.header",
    "csv_io.records",
    "field_errors",
    "identifiers",
)
SCHEDULE_RUNS += (
    "jobs.queries",
    "models.partial",
    "models.schedule",
    "adapters.dynamodb.paging",
    "launch.preflight",
)
SCHEDULE_RUNS += (
    "errors",
    "jobs.request_size",
    "adapters.s3_gateway",
    "adapters.sagemaker_gateway",
    "schedules",
)
SCHEDULE_RUNS += (
    "schedules.expressions",
    "adapters.dynamodb.schedule_repository",
    "schedules.runs",
)
SCHEDULE_RUNS += (
    "schedules.templates",
    "jobs.submission",
    "access.team_access",
    "jobs.work_area",
    "jobs.steps",
)
DELIVERY = (*WEBHOOKS, "adapters.kms_gateway", "webhooks.delivery", "webhooks.retry_schedule")
DELIVERY += ("webhooks.sender", "webhooks.signing", "webhooks.url_safety")

BUDGETS = {
    "authorizer": ImportBudget(
        core_modules=core(
            "access.authorization",
            "access.api_keys",
            "adapters.dynamodb.api_key_repository",
            "adapters.aws_clients",
        ),
        absent=(
            *NEVER_AT_INIT,
            *NOT_AN_API,
            "transform_jobs.models",  # the request, job and team models
            "transform_jobs.adapters.dynamodb.job_repository",
            "transform_jobs.adapters.dynamodb.table",
            # Not even for the settings: importing pydantic takes about as long as the rest.
            "pydantic",
            "pydantic_core",
        ),
    ),
    "jobs_api": ImportBudget(
        core_modules=core(
            *JOB_STORAGE,
            *TEAMS,
            "jobs.cancel",
            "api.problems",
            "identifiers",
            "jobs.transitions",
            "jobs.queries",
            "api.problem_document",
            "errors",
            "api.request_body",
            "jobs.request_size",
            "api.rest",
            "adapters.s3_gateway",
            "adapters.sagemaker_gateway",
            "jobs.submission",
            "access.team_access",
            "jobs.work_area",
            # POST /v1/jobs/validate runs the launch's preflight.
            "launch.validation",
            "models.validation",
            "launch.preflight",
            "csv_io.columns",
            "csv_io.native_columns",
            "csv_io.header",
            "csv_io.records",
            "jobs.steps",
            "field_errors",
            "adapters.dynamodb.paging",
        ),
        absent=(*NEVER_AT_INIT, "aws_lambda_powertools.utilities.batch"),
    ),
    "webhooks_api": ImportBudget(
        core_modules=core(
            *DELIVERY,
            "api.problems",
            "identifiers",
            "api.problem_document",
            "errors",
            "api.request_body",
            "api.rest",
            "webhooks.subscriptions",
            "field_errors",
            "adapters.dynamodb.paging",
        ),
        absent=(*NEVER_AT_INIT, *NO_JOBS),
    ),
    "record_state_change": ImportBudget(
        core_modules=core(
            *JOB_STORAGE,
            "identifiers",
            "jobs.transitions",
            "models.sagemaker_event",
            "jobs.state_changes",
        ),
        absent=(*NEVER_AT_INIT, *NOT_AN_API, "transform_jobs.adapters.s3_gateway"),
    ),
    "reconcile_jobs": ImportBudget(
        core_modules=core(
            *JOB_STORAGE,
            "identifiers",
            "jobs.transitions",
            "jobs.queries",
            "models.sagemaker_event",
            "adapters.dynamodb.paging",
            "errors",
            "jobs.reconcile",
            "adapters.s3_gateway",
            "adapters.sagemaker_gateway",
            "jobs.state_changes",
            "jobs.work_area",
        ),
        absent=(*NEVER_AT_INIT, *NOT_AN_API),
    ),
    "dispatch_jobs": ImportBudget(
        core_modules=core(*JOB_STORAGE, *TEAMS, "launch.dispatch"),
        absent=(*NEVER_AT_INIT, *NOT_AN_API, "transform_jobs.adapters.sagemaker_gateway"),
    ),
    "launch_job": ImportBudget(
        core_modules=None,
        absent=(*NEVER_AT_INIT, *NOT_AN_API, "transform_jobs.preparation.reassembly"),
    ),
    "prepare_job": ImportBudget(
        core_modules=None,
        absent=(*NEVER_AT_INIT, *NOT_AN_API, "transform_jobs.adapters.sagemaker_gateway"),
    ),
    "finalize_job": ImportBudget(
        core_modules=None,
        absent=(*NEVER_AT_INIT, *NOT_AN_API, "transform_jobs.adapters.sagemaker_gateway"),
    ),
    "notify": ImportBudget(
        core_modules=core(*WEBHOOKS, "identifiers", "models.job_status", "webhooks.fanout"),
        absent=(*NEVER_AT_INIT, *NOT_AN_API, *NO_JOBS, "transform_jobs.adapters.kms_gateway"),
    ),
    "deliver_webhook": ImportBudget(
        core_modules=core(*DELIVERY), absent=(*NEVER_AT_INIT, *NOT_AN_API, *NO_JOBS)
    ),
    "schedules_api": ImportBudget(
        core_modules=core(
            *JOB_STORAGE,
            *TEAMS,
            *SCHEDULE_RUNS,
            "api.problems",
            "api.problem_document",
            "api.request_body",
            "api.rest",
            "schedules.manage",
        ),
        absent=(*NEVER_AT_INIT, "aws_lambda_powertools.utilities.batch"),
    ),
    "run_schedules": ImportBudget(
        core_modules=core(*JOB_STORAGE, *TEAMS, *SCHEDULE_RUNS),
        absent=(*NEVER_AT_INIT, *NOT_AN_API),
    ),
    "retry_deliveries": ImportBudget(
        core_modules=core(*DELIVERY), absent=(*NEVER_AT_INIT, *NOT_AN_API, *NO_JOBS)
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
        # The environment the template gives the function: each checks its settings at import.
        env={**function_environments().get(function, {}), "AWS_EC2_METADATA_DISABLED": "true"},
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


def test_every_function_has_a_budget() -> None:
    assert set(BUDGETS) == {path.parent.name for path in ROOT.glob("functions/*/app.py")}
