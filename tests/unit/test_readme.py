"""What the README tells a person to run or send must work as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from transform_jobs.models.request import JobRequest

ROOT = Path(__file__).resolve().parents[2]
# The README and the pages it links in docs/, read as one text.
README = "\n".join(
    path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def test_the_curl_example_is_a_valid_job_request() -> None:
    request = JobRequest.model_validate(curl_body())
    assert request.ModelName == "churn-xgb"


def curl_body() -> dict[str, object]:
    body = re.search(r"-d '(\{.*?\})'", README, re.DOTALL)
    assert body is not None
    found: dict[str, object] = json.loads(body.group(1))
    return found


def test_the_problem_example_is_what_the_service_says() -> None:
    example = re.search(r'```json\n(\{"type": "about:blank".*?)\n```', README, re.DOTALL)
    assert example is not None
    reason = json.loads(example.group(1))["errors"][0]["reason"]
    with pytest.raises(ValueError, match=re.escape(reason)):
        JobRequest.model_validate(
            {**curl_body(), "MaxConcurrentTransforms": 20, "MaxPayloadInMB": 6}
        )


def test_the_admin_console_script_runs() -> None:
    script = Path(sys.executable).with_name("transform-jobs-admin")
    reply = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)  # noqa: S603
    assert reply.returncode == 0, reply.stderr
    for command in ("create-team", "create-key", "revoke-key"):
        assert command in reply.stdout
        assert f" {command} " in README


def test_every_make_target_in_the_readme_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z][a-z-]*)", README)):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_the_input_preparation_example_is_a_valid_block() -> None:
    block = re.search(r'```json\n"InputPreparation": (\{.*?\n\})\n```', README, re.DOTALL)
    assert block is not None
    request = JobRequest.model_validate(
        {**curl_body(), "InputPreparation": json.loads(block.group(1)), "DataProcessing": None}
        | {"TransformOutput": {**curl_body()["TransformOutput"], "Accept": "text/csv"}}
    )
    assert request.InputPreparation is not None and request.InputPreparation.Reassemble


def test_the_layout_map_names_every_package_and_module_of_the_core() -> None:
    page = (ROOT / "docs" / "development.md").read_text()
    section = page.split("## The core package", 1)[1].split("\n## ", 1)[0]
    core = ROOT / "layers" / "core" / "transform_jobs"
    packages = [f"{path.parent.relative_to(core)}/" for path in core.rglob("*/__init__.py")]
    modules = [path.name for path in core.glob("*.py") if path.name != "__init__.py"]
    modules += [path.stem for path in core.rglob("*/*.py") if path.name != "__init__.py"]
    missing = [
        name
        for name in [*packages, *modules]
        if not re.search(rf"(?<![\w/]){re.escape(name)}(?!\w)", section)
    ]
    assert missing == [], "docs/development.md's map of the core does not name these"
