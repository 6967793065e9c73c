"""Local mode's own settings and its hold on the data dir (local/stack/stack.py), and what the
runtime gives the functions of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local.runtime.functions import local_functions
from local.runtime.template import load_template
from local.stack.stack import LocalStack, claim, clear_leftovers, parameter_overrides

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "fixtures" / "runtime_app" / "template.yaml"


def test_parameter_overrides_read_like_sams() -> None:
    assert parameter_overrides("ReconcileAfterSeconds=5  ServiceMaxRunningJobs=2") == {
        "ReconcileAfterSeconds": "5",
        "ServiceMaxRunningJobs": "2",
    }
    assert parameter_overrides("") == {}
    with pytest.raises(ValueError, match="'ReconcileAfterSeconds' is not Name=Value"):
        parameter_overrides("ReconcileAfterSeconds")
    with pytest.raises(ValueError, match="DataBucketNames is set by local mode"):
        parameter_overrides("DataBucketNames=elsewhere")


def test_the_stack_passes_on_only_the_settings_that_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = LocalStack(tmp_path)
    assert "WEBHOOK_SWEEP_GRACE_SECONDS" not in stack.environment
    assert stack.schedule_period_s is None
    assert stack.parameters == {"DataBucketNames": "transform-jobs-data", "Stage": "dev"}
    monkeypatch.setenv("LOCAL_WEBHOOK_MAX_QUEUE_DELAY_SECONDS", "2")
    monkeypatch.setenv("LOCAL_WEBHOOK_SWEEP_GRACE_SECONDS", "3")
    monkeypatch.setenv("LOCAL_SCHEDULE_SECONDS", "1")
    monkeypatch.setenv("LOCAL_PARAMETER_OVERRIDES", "ReconcileAfterSeconds=1")
    assert stack.environment["WEBHOOK_MAX_QUEUE_DELAY_SECONDS"] == "2"
    assert stack.environment["WEBHOOK_SWEEP_GRACE_SECONDS"] == "3"
    assert stack.schedule_period_s == 1.0
    assert stack.parameters["ReconcileAfterSeconds"] == "1"
    monkeypatch.setenv("LOCAL_SCHEDULE_SECONDS", "soon")
    with pytest.raises(ValueError, match="LOCAL_SCHEDULE_SECONDS: 'soon' is not whole seconds"):
        _ = stack.schedule_period_s


def test_overrides_reach_only_the_functions_that_declare_them() -> None:
    template = load_template(APP)
    context = template.context()
    for logical_id in template.resources:
        context.refs[logical_id] = logical_id
        for attribute in ("Arn", "StreamArn"):
            context.attributes[(logical_id, attribute)] = f"arn:aws:local:{logical_id}"
    functions = local_functions(
        template, context, root=APP.parent, overrides={"GREETING": "hi", "UNDECLARED": "no"}
    )
    assert functions["InspectEnvFunction"].environment["GREETING"] == "hi"
    for function in functions.values():
        assert "UNDECLARED" not in function.environment


def test_one_stack_at_a_time_holds_a_data_dir_and_a_killed_one_lets_go(tmp_path: Path) -> None:
    held = claim(tmp_path)
    with pytest.raises(RuntimeError, match=f"another local stack \\(pid {os.getpid()}\\)"):
        claim(tmp_path)
    held.close()  # what the kernel does for a process that was killed
    claim(tmp_path).close()


def test_a_new_start_clears_what_a_killed_stack_left(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text('{"api_url": "http://127.0.0.1:1')  # cut off
    (tmp_path / ".stack.json.123.tmp").write_text("{")
    (tmp_path / "api-key").write_text("tjk_kept\n")
    clear_leftovers(tmp_path, ("stack.json", "api-key"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["api-key"]
