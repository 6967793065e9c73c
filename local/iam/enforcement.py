"""Local mode's IAM settings, and what the runtime does with them: a policy file per function
for its worker, and a check of what Lambda itself does with each role (polling, destinations).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from local.iam.hook import AUDIT, ENFORCE, MODES, OFF, POLICY_VARIABLE, USAGE_VARIABLE, Authorizer
from local.iam.policies import (
    FunctionPolicy,
    function_policies,
    kms_keys,
    policy_context,
    write_policy_files,
)
from local.runtime.functions import LocalFunction
from local.runtime.template import Context, Template

log = logging.getLogger(__name__)

MODE_VARIABLE = "LOCAL_IAM"
USAGE_DIR_VARIABLE = "LOCAL_IAM_USAGE_DIR"
POLICIES_FILE = "policies.json"


class RoleTooNarrow(RuntimeError):
    """A role lacks what Lambda needs to run the function's event sources or destinations."""


@dataclass(frozen=True)
class IamSettings:
    """`mode`: enforce (deny what the policy does not allow), audit (only log and record it) or
    off. `usage_dir`: where each function's decisions are recorded (none: not recorded)."""

    mode: str = ENFORCE
    usage_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"{MODE_VARIABLE}: {self.mode!r} is not one of {', '.join(MODES)}")

    @classmethod
    def from_environment(cls, default_usage_root: Path) -> IamSettings:
        """LOCAL_IAM and LOCAL_IAM_USAGE_DIR. Each start records in a folder of its own under
        the usage directory: stacks of one run (the e2e suite's) each enforce their own
        resources' ARNs (KMS key ids differ), and the report reads each against its own."""
        root = Path(os.environ.get(USAGE_DIR_VARIABLE) or default_usage_root)
        started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return cls(
            mode=os.environ.get(MODE_VARIABLE, ENFORCE).strip().lower() or ENFORCE,
            usage_dir=root / f"stack-{started}-{os.getpid()}",
        )

    @property
    def on(self) -> bool:
        return self.mode != OFF


def apply(
    settings: IamSettings,
    functions: Mapping[str, LocalFunction],
    template: Template,
    context: Context,
    state_dir: Path,
) -> tuple[dict[str, LocalFunction], dict[str, FunctionPolicy]]:
    """The functions with their workers' IAM variables, and their policies."""
    if not settings.on:
        return dict(functions), {}
    policies = function_policies(template, context)
    resolving = policy_context(template, context)
    paths = write_policy_files(
        policies,
        state_dir / "iam",
        resolving,
        mode=settings.mode,
        keys=kms_keys(template, context),
    )
    if settings.usage_dir is not None:
        settings.usage_dir.mkdir(parents=True, exist_ok=True)
        # The report compares the usage with exactly the policies that were enforced.
        (settings.usage_dir / POLICIES_FILE).write_text(
            json.dumps({k: p.summary() for k, p in policies.items()}, indent=1) + "\n"
        )
    out = {}
    for logical_id, function in functions.items():
        variables = {POLICY_VARIABLE: str(paths[logical_id])}
        usage = usage_path(settings, logical_id)
        if usage is not None:
            variables[USAGE_VARIABLE] = str(usage)
        out[logical_id] = replace(function, runtime_environment=variables)
        _check_service_calls(settings, policies[logical_id], paths[logical_id])
    return out, policies


def usage_path(settings: IamSettings, logical_id: str) -> Path | None:
    return None if settings.usage_dir is None else settings.usage_dir / f"{logical_id}.jsonl"


def _check_service_calls(settings: IamSettings, policy: FunctionPolicy, policy_file: Path) -> None:
    """What Lambda does with the role for the function: CloudFormation refuses an event source
    mapping whose role cannot read its queue or stream, so local mode refuses to start."""
    usage = usage_path(settings, policy.logical_id)
    authorizer = Authorizer(
        json.loads(policy_file.read_text()), str(usage) if usage is not None else None
    )
    missing = []
    for what, request in policy.service_requests:
        if not authorizer.record_decision(f"Lambda: {what}", request).allowed:
            missing.append(f"{request.action} on {request.resource} ({what})")
    if not missing:
        return
    message = (
        f"{policy.logical_id}: its role {policy.role_name} does not allow what Lambda needs: "
        + "; ".join(missing)
    )
    if settings.mode == AUDIT:
        log.warning("%s", message)
        return
    raise RoleTooNarrow(message)
