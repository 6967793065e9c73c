"""events/ is AWS's own event shapes with only the fields of each case changed: every file is what
scripts/generate_events.py makes from `sam local generate-event` (or, for SageMaker's events,
from the developer guide's sample), so neither a hand edit nor a new SAM CLI goes unnoticed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_events", ROOT / "scripts" / "generate_events.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_events", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


generator = _generator()
RECIPES = {recipe.file: recipe for recipe in generator.RECIPES}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_events_file_is_its_generated_shape(name: str) -> None:
    committed = (EVENTS / name).read_text()
    generated = generator.render(RECIPES[name].build())
    assert committed == generated, (
        f"events/{name} differs from its generated shape; "
        "run: .venv/bin/python scripts/generate_events.py"
    )


def test_every_events_file_has_a_recipe_and_a_line_in_the_readme() -> None:
    files = sorted(path.name for path in EVENTS.glob("*.json"))
    assert files == sorted(RECIPES)
    readme = (EVENTS / "README.md").read_text()
    assert [name for name in files if f"`{name}`" not in readme] == []


def test_sam_options_reach_the_event_where_aws_puts_them() -> None:
    """The generator hands the CLI's options to SAM's templates as the CLI does: a misnamed
    option would be dropped silently and leave SAM's default in its place."""
    cancel: dict[str, Any] = RECIPES["api_cancel_job.json"].build()
    assert (cancel["httpMethod"], cancel["resource"], cancel["path"]) == (
        "POST",
        "/v1/jobs/{jobId}/cancel",
        "/v1/jobs/01jbz3k9x2v5q8r7t6w4y3n2m1/cancel",
    )
    assert cancel["requestContext"]["path"] == "/dev/v1/jobs/01jbz3k9x2v5q8r7t6w4y3n2m1/cancel"
    assert cancel["requestContext"]["accountId"] == "123456789012"
    launch: dict[str, Any] = RECIPES["sqs_launch_job.json"].build()
    assert launch["Records"][0]["eventSourceARN"] == (
        "arn:aws:sqs:us-east-1:123456789012:transform-jobs-dev-LaunchQueue"
    )


def test_sqs_bodies_carry_the_md5_sqs_computes() -> None:
    import hashlib

    for name in sorted(RECIPES):
        if name.startswith("sqs_"):
            [record] = json.loads((EVENTS / name).read_text())["Records"]
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324


def test_a_change_to_a_member_the_shape_lacks_fails_loudly() -> None:
    """A change's path runs through members of AWS's shape: a typo in it fails the generator
    instead of building an object AWS never sends."""
    with pytest.raises(KeyError):
        generator.apply({"requestContext": {}}, "requestContxt.authorizer", {})
