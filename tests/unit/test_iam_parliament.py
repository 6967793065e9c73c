"""Every IAM statement template.yaml expands to (SAM's policy templates included) passes
parliament's checks against AWS's action and resource catalogue: no unknown action, no resource
form the action does not accept, no malformed ARN or condition."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from local.iam.policies import function_policies, static_context
from local.runtime.template import load_template

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # parliament imports pkg_resources
    from parliament import analyze_policy_string, enhance_finding  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
# Findings that are parliament's mistakes, not the template's: (function, statement, issue) →
# why. None so far.
FALSE_POSITIVES: dict[tuple[str, str, str], str] = {}


def findings(statement: dict[str, Any]) -> list[tuple[str, str]]:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    policy = analyze_policy_string(document)
    return [(f.issue, str(enhance_finding(f).detail)) for f in policy.findings]


def test_parliament_flags_what_it_should() -> None:
    """The lint is not vacuous: the mistakes it exists to catch are caught."""
    bucket_as_object = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}
    assert [issue for issue, _ in findings(bucket_as_object)] == ["RESOURCE_MISMATCH"]
    batch = {"Effect": "Allow", "Action": "sqs:SendMessageBatch", "Resource": "*"}
    assert [issue for issue, _ in findings(batch)] == ["UNKNOWN_ACTION"]


KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Parameters whose statements exist only when they are set: linted with them set too.
OPTIONAL = {"DataKmsKeyArns": KEY, "TransformVolumeKmsKeyArns": KEY}


@pytest.mark.parametrize("optional", [False, True], ids=["defaults", "optional-grants-on"])
def test_every_expanded_statement_is_clean(optional: bool) -> None:
    template = load_template(ROOT / "template.yaml")
    parameters = {"DataBucketNames": "transform-jobs-data,other-data"}
    if optional:
        parameters |= {k: v for k, v in OPTIONAL.items() if k in template.parameter_types}
    context = static_context(template, parameters)
    found = []
    checked = 0
    for logical_id, policy in function_policies(template, context).items():
        for position, grant in enumerate(policy.grants):
            if grant.managed:  # AWS's own managed policies are not ours to lint
                continue
            name = str(grant.statement.get("Sid") or f"{grant.source} #{position}")
            checked += 1
            for issue, detail in findings(grant.statement):
                if (logical_id, name, issue) not in FALSE_POSITIVES:
                    found.append(f"{logical_id} {name}: {issue} {detail}")
    assert checked > 20  # every function's statements were read
    if found:
        pytest.fail("parliament findings:\n" + "\n".join(found))
