"""Local mode's IAM settings, and what the runtime hands each function's worker
(local/iam/enforcement.py), without any stand-in running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.iam.enforcement import IamSettings, RoleTooNarrow, apply
from local.iam.policies import static_context
from local.runtime.functions import local_functions
from local.runtime.template import Template, load_template

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "runtime_app" / "template.yaml"


def test_enforced_by_default_audit_or_off_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCAL_IAM", raising=False)
    monkeypatch.delenv("LOCAL_IAM_USAGE_DIR", raising=False)
    settings = IamSettings.from_environment(tmp_path / "run")
    assert settings.mode == "enforce"
    assert settings.usage_dir is not None
    assert settings.usage_dir.parent == tmp_path / "run"
    monkeypatch.setenv("LOCAL_IAM", "Audit")
    monkeypatch.setenv("LOCAL_IAM_USAGE_DIR", str(tmp_path / "e2e-1"))
    settings = IamSettings.from_environment(tmp_path / "run")
    assert settings.mode == "audit"
    assert settings.usage_dir is not None
    assert settings.usage_dir.parent == tmp_path / "e2e-1"
    monkeypatch.setenv("LOCAL_IAM", "sometimes")
    with pytest.raises(
        ValueError, match="LOCAL_IAM: 'sometimes' is not one of enforce, audit, off"
    ):
        IamSettings.from_environment(tmp_path)


def test_each_worker_gets_its_own_policy_file_and_usage_record(tmp_path: Path) -> None:
    template = load_template(APP)
    context = static_context(template)
    functions = local_functions(template, context, root=APP.parent)
    settings = IamSettings(usage_dir=tmp_path / "usage")
    enforced, policies = apply(settings, functions, template, context, tmp_path / "state")
    probe = enforced["AwsProbeFunction"].runtime_environment
    document = json.loads(Path(probe["LOCAL_IAM_POLICY"]).read_text())
    assert document["function"] == "transform-jobs-AwsProbeFunction"
    assert document["mode"] == "enforce"
    assert {s.get("Sid") for s in document["statements"]} >= {"WriteItems", "NeverDelete"}
    assert probe["LOCAL_IAM_USAGE"] == str(tmp_path / "usage" / "AwsProbeFunction.jsonl")
    assert sorted(json.loads((tmp_path / "usage" / "policies.json").read_text())) == sorted(
        functions
    )
    # The function's own environment is untouched; local mode's variables stay apart.
    assert enforced["AwsProbeFunction"].environment == functions["AwsProbeFunction"].environment
    assert policies["AwsProbeFunction"].role_name == "transform-jobs-AwsProbeFunctionRole"


def test_off_changes_nothing(tmp_path: Path) -> None:
    template = load_template(APP)
    context = static_context(template)
    functions = local_functions(template, context, root=APP.parent)
    enforced, policies = apply(IamSettings("off"), functions, template, context, tmp_path)
    assert enforced == functions
    assert policies == {}
    assert not (tmp_path / "iam").exists()


def test_a_role_lambda_cannot_poll_with_is_refused_or_in_audit_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    document = load_template(APP).document
    # The SQS worker's own role, without the managed policy SAM would attach.
    resources = dict(document["Resources"])
    resources["WorkerRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [
                {
                    "PolicyName": "send",
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
                        ]
                    },
                }
            ],
        },
    }
    worker = dict(resources["SqsWorkerFunction"])
    worker["Properties"] = {
        **worker["Properties"],
        "Role": {"Fn::GetAtt": ["WorkerRole", "Arn"]},
    }
    worker["Properties"].pop("Policies", None)
    resources["SqsWorkerFunction"] = worker
    template = Template({**document, "Resources": resources})
    context = static_context(template)
    functions = local_functions(template, context, root=APP.parent)
    with pytest.raises(RoleTooNarrow, match=r"sqs:ReceiveMessage on arn:aws:sqs:.*WorkQueue"):
        apply(IamSettings(), functions, template, context, tmp_path)
    apply(IamSettings("audit"), functions, template, context, tmp_path)
    assert "does not allow what Lambda needs" in caplog.text
