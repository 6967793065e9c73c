"""`make iam-report`: per function, what its role grants and what it used during a recorded run
(the e2e suite's, by default); a grant never used is over-privilege unless the template says why
it stays, in the function's Metadata:

    Metadata:
      iam-report:
        unused:
          - Action: sagemaker:StopTransformJob
            Reason: cancels reach the job only while it runs, which the e2e run may not catch

Managed policies SAM attaches (logs, event source polling) are listed apart: they are Lambda's
own use of the role and cannot be trimmed action by action.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.iam.enforcement import POLICIES_FILE
from local.iam.evaluate import action_matches, resource_matches
from local.iam.policies import METADATA_KEY
from local.runtime.template import load_template

ROOT = Path(__file__).resolve().parents[2]
USAGE_ROOT = ROOT / ".local" / "iam-usage"
E2E_PREFIX = "e2e-"


@dataclass(frozen=True)
class Use:
    action: str
    resource: str
    allowed: bool
    operation: str = ""


@dataclass(frozen=True)
class GrantedAction:
    """One action of one Allow statement, with the statement's resources."""

    action: str
    resources: tuple[str, ...]
    statement: str
    source: str

    def covers(self, use: Use) -> bool:
        return action_matches(self.action, use.action) and any(
            resource_matches(resource, use.resource) for resource in self.resources
        )


@dataclass
class FunctionReport:
    logical_id: str
    function: str
    used: list[str] = field(default_factory=list)
    denied: list[Use] = field(default_factory=list)
    unused: list[tuple[GrantedAction, str | None]] = field(default_factory=list)  # with reason
    managed: list[str] = field(default_factory=list)
    invoked: bool = False

    @property
    def unexplained(self) -> list[GrantedAction]:
        return [grant for grant, reason in self.unused if reason is None]


def granted_actions(grants: Iterable[Mapping[str, Any]]) -> list[GrantedAction]:
    """The Allow statements of the template's own policies, action by action."""
    out = []
    for position, grant in enumerate(grants):
        statement = grant["statement"]
        if grant.get("managed") or statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        actions = statement["Action"]
        resources = statement.get("Resource", [])
        for action in [actions] if isinstance(actions, str) else actions:
            out.append(
                GrantedAction(
                    action=str(action),
                    resources=(resources,) if isinstance(resources, str) else tuple(resources),
                    statement=str(statement.get("Sid") or f"statement {position}"),
                    source=str(grant.get("source", "")),
                )
            )
    return out


def _reason(grant: GrantedAction, notes: Sequence[Mapping[str, Any]]) -> str | None:
    for note in notes:
        if str(note.get("Action", "")).lower() != grant.action.lower():
            continue
        if "Resource" in note and str(note["Resource"]) not in grant.resources:
            continue
        if "Sid" in note and str(note["Sid"]) != grant.statement:
            continue
        return str(note.get("Reason") or "") or None
    return None


def function_report(
    logical_id: str,
    recorded: Sequence[tuple[Mapping[str, Any], Sequence[Use]]],
    notes: Sequence[Mapping[str, Any]],
) -> FunctionReport:
    """`recorded`: per stack of the run, the function's policy and what it used. Each stack's
    uses are matched against its own policy (its resources' ARNs may differ)."""
    policy = recorded[0][0]
    report = FunctionReport(logical_id, str(policy.get("function", logical_id)))
    uses = [use for _, stack_uses in recorded for use in stack_uses]
    report.invoked = any(not use.operation.startswith("Lambda:") for use in uses)
    report.used = sorted({use.action for use in uses if use.allowed})
    report.denied = sorted(
        {use for use in uses if not use.allowed}, key=lambda u: (u.action, u.resource)
    )
    covered: set[int] = set()
    for stack_policy, stack_uses in recorded:
        allowed = [use for use in stack_uses if use.allowed]
        for index, grant in enumerate(granted_actions(stack_policy.get("grants") or [])):
            if any(grant.covers(use) for use in allowed):
                covered.add(index)
    for index, grant in enumerate(granted_actions(policy.get("grants") or [])):
        if index not in covered:
            report.unused.append((grant, _reason(grant, notes)))
    report.managed = sorted({g["source"] for g in policy.get("grants") or [] if g.get("managed")})
    return report


def read_uses(path: Path) -> list[Use]:
    uses = []
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                uses.append(
                    Use(
                        str(item["action"]),
                        str(item["resource"]),
                        bool(item["allowed"]),
                        str(item.get("operation", "")),
                    )
                )
    return uses


def template_notes(template_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each function's Metadata reasons for grants that stay unused."""
    template = load_template(template_path)
    return {
        logical_id: list(
            ((resource.get("Metadata") or {}).get(METADATA_KEY) or {}).get("unused") or []
        )
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def stack_records(usage_dir: Path) -> list[Path]:
    """The folders of a recorded run that one stack start wrote (or the run's own folder)."""
    if (usage_dir / POLICIES_FILE).is_file():
        return [usage_dir]
    return sorted(path.parent for path in usage_dir.glob(f"*/{POLICIES_FILE}"))


def build(usage_dir: Path, template_path: Path) -> list[FunctionReport]:
    recorded: dict[str, list[tuple[Mapping[str, Any], list[Use]]]] = {}
    for stack in stack_records(usage_dir):
        policies: dict[str, Any] = json.loads((stack / POLICIES_FILE).read_text())
        for logical_id, policy in policies.items():
            uses = read_uses(stack / f"{logical_id}.jsonl")
            recorded.setdefault(logical_id, []).append((policy, uses))
    notes = template_notes(template_path)
    return [
        function_report(logical_id, stacks, notes.get(logical_id, []))
        for logical_id, stacks in sorted(recorded.items())
    ]


def render(reports: Sequence[FunctionReport], usage_dir: Path) -> str:
    lines = [f"IAM usage recorded in {usage_dir}", ""]
    for report in reports:
        lines.append(f"{report.logical_id} ({report.function})")
        if not report.invoked:
            lines.append("  never invoked in this run")
        lines.append(f"  used:    {', '.join(report.used) or '-'}")
        for use in report.denied:
            lines.append(f"  DENIED:  {use.action} on {use.resource} ({use.operation})")
        for grant, reason in report.unused:
            where = f"{grant.statement}, {grant.source}: {', '.join(grant.resources)}"
            if reason is None:
                lines.append(f"  UNUSED:  {grant.action} ({where}) - no reason in the template")
            else:
                lines.append(f"  unused:  {grant.action} ({where}) - kept: {reason}")
        if report.managed:
            lines.append(f"  managed: {', '.join(report.managed)} (Lambda's own use)")
        lines.append("")
    unexplained = sum(len(report.unexplained) for report in reports)
    denied = sum(len(report.denied) for report in reports)
    lines.append(
        f"{unexplained} granted action(s) never used and without a reason; {denied} denied call(s)."
    )
    return "\n".join(lines)


def latest_run(root: Path) -> Path | None:
    runs = [path for path in root.glob(f"{E2E_PREFIX}*") if stack_records(path)]
    return max(runs, key=lambda path: path.stat().st_mtime) if runs else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.iam.report", description=__doc__)
    parser.add_argument("--usage", type=Path, help="a recorded run (default: the latest e2e run)")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args(argv)
    usage_dir = args.usage or latest_run(USAGE_ROOT)
    if usage_dir is None or not stack_records(usage_dir):
        print(
            f"No recorded IAM usage {'in ' + str(usage_dir) if usage_dir else 'of an e2e run'}"
            f" (looked under {USAGE_ROOT}). The e2e suite records it there: run\n"
            "  .venv/bin/python -m pytest tests/e2e\n"
            "then `make iam-report` again (or USAGE=.local/iam-usage/run make iam-report for "
            "what `make run` recorded).",
            file=sys.stderr,
        )
        return 2
    reports = build(usage_dir, args.template)
    print(render(reports, usage_dir))
    # Denials are listed, not failed on: a test may provoke one on purpose (a team's bucket the
    # service may not read), and one that breaks the service fails its e2e test already.
    return 1 if any(report.unexplained for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
