"""`make iam-report` (local/iam/report.py): granted against used, per function; a grant never
used is over-privilege unless the template says why it stays."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from local.iam import report

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/app-Jobs"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:app-Launch"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  ApiFunction:
    Type: AWS::Serverless::Function
    Metadata:
      iam-report:
        unused:
          - Action: dynamodb:DeleteItem
            Reason: deletes happen only when a team is removed
  IdleFunction:
    Type: AWS::Serverless::Function
"""


def grant(source: str, statement: dict[str, Any], managed: bool = False) -> dict[str, Any]:
    return {"source": source, "managed": managed, "statement": statement}


POLICIES = {
    "ApiFunction": {
        "function": "app-ApiFunction",
        "grants": [
            grant(
                "SQSSendMessagePolicy",
                {"Effect": "Allow", "Action": ["sqs:SendMessage*"], "Resource": QUEUE},
            ),
            grant(
                "inline statements",
                {
                    "Sid": "Items",
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"],
                    "Resource": [TABLE, f"{TABLE}/index/*"],
                },
            ),
            grant(
                "inline statements", {"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}
            ),
            grant(
                "managed policy service-role/AWSLambdaBasicExecutionRole",
                {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"},
                managed=True,
            ),
        ],
    },
    "IdleFunction": {
        "function": "app-IdleFunction",
        "grants": [
            grant(
                "inline statements",
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
            )
        ],
    },
}


def use(action: str, resource: str, allowed: bool = True, operation: str = "Op") -> str:
    record = {"action": action, "resource": resource, "allowed": allowed, "operation": operation}
    return json.dumps(record)


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, Path]:
    usage = tmp_path / "e2e-1"
    usage.mkdir()
    (usage / "policies.json").write_text(json.dumps(POLICIES))
    (usage / "ApiFunction.jsonl").write_text(
        "\n".join(
            [
                use("sqs:SendMessage", QUEUE),
                use("dynamodb:Query", f"{TABLE}/index/ByTeam"),
                use("dynamodb:PutItem", TABLE, allowed=False),
                use("logs:PutLogEvents", "*"),
            ]
        )
        + "\n"
    )
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    return usage, template


def test_used_unused_and_denied_per_function(run: tuple[Path, Path]) -> None:
    usage, template = run
    api, idle = report.build(usage, template)
    assert api.logical_id == "ApiFunction"
    assert api.used == ["dynamodb:Query", "logs:PutLogEvents", "sqs:SendMessage"]
    assert [(u.action, u.resource) for u in api.denied] == [("dynamodb:PutItem", TABLE)]
    unused = {grant.action: reason for grant, reason in api.unused}
    # GetItem was granted and never used, with no reason: over-privilege. DeleteItem has one.
    assert unused == {
        "dynamodb:GetItem": None,
        "dynamodb:DeleteItem": "deletes happen only when a team is removed",
    }
    assert [grant.action for grant in api.unexplained] == ["dynamodb:GetItem"]
    assert api.managed == ["managed policy service-role/AWSLambdaBasicExecutionRole"]
    assert not idle.invoked
    assert [grant.action for grant in idle.unexplained] == ["s3:GetObject"]


def test_a_use_counts_only_on_a_resource_the_grant_names(run: tuple[Path, Path]) -> None:
    usage, template = run
    with (usage / "ApiFunction.jsonl").open("a") as records:
        records.write(use("dynamodb:GetItem", TABLE.replace("app-Jobs", "other")) + "\n")
    api = report.build(usage, template)[0]
    assert "dynamodb:GetItem" in [grant.action for grant in api.unexplained]
    with (usage / "ApiFunction.jsonl").open("a") as records:
        records.write(use("dynamodb:GetItem", TABLE) + "\n")
    api = report.build(usage, template)[0]
    assert [grant.action for grant in api.unexplained] == []


def test_the_command_reads_the_latest_e2e_run_and_fails_on_findings(
    run: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    usage, template = run
    older = tmp_path / "e2e-0"
    older.mkdir()
    (older / "policies.json").write_text("{}")
    os.utime(older / "policies.json", (0, 0))
    os.utime(older, (0, 0))
    (tmp_path / "run-2").mkdir()  # a `make run` record is not an e2e run
    monkeypatch.setattr(report, "USAGE_ROOT", tmp_path)
    assert report.latest_run(tmp_path) == usage
    assert report.main(["--template", str(template)]) == 1
    out = capsys.readouterr().out
    assert "UNUSED:  dynamodb:GetItem (Items, inline statements" in out
    assert "kept: deletes happen only when a team is removed" in out
    assert "DENIED:  dynamodb:PutItem" in out
    assert "IdleFunction (app-IdleFunction)\n  never invoked in this run" in out


def test_without_a_recorded_run_it_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report, "USAGE_ROOT", tmp_path)
    assert report.main([]) == 2
    assert "python -m pytest tests/e2e" in capsys.readouterr().err


def test_each_stack_of_a_run_is_read_against_its_own_policy(tmp_path: Path) -> None:
    """Stacks of one run have their own KMS keys: a use counts against its own stack's ARNs."""
    run_dir = tmp_path / "e2e-2"
    for number, key in enumerate(("key/aaaa", "key/bbbb")):
        stack = run_dir / f"stack-{number}"
        stack.mkdir(parents=True)
        arn = f"arn:aws:kms:us-east-1:123456789012:{key}"
        statement = {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": arn}
        policy = {"function": "app-Fn", "grants": [grant("inline statements", statement)]}
        (stack / "policies.json").write_text(json.dumps({"Fn": policy}))
        action = "kms:Encrypt" if number == 0 else "kms:Decrypt"
        (stack / "Fn.jsonl").write_text(use(action, arn) + "\n")
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    (fn,) = report.build(run_dir, template)
    assert fn.used == ["kms:Decrypt", "kms:Encrypt"]
    assert fn.unused == []
