"""The Python client (clients/python) follows docs/openapi.json: its models are generated from
the document, and it calls every route the document has."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from generate_client_models import MODELS, formatted, generate  # noqa: E402

CLIENT = ROOT / "clients/python/src/transform_jobs_client/client.py"


def test_the_client_models_match_the_openapi_document() -> None:
    assert MODELS.read_text() == formatted(generate()), (
        "clients/python/src/transform_jobs_client/models.py is stale: run `make openapi`"
    )


def test_the_client_calls_every_route_of_the_api() -> None:
    document = json.loads((ROOT / "docs/openapi.json").read_text())
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document["paths"].items()
        for method in operations
        if path != "/v1/health"
    }
    source = CLIENT.read_text()
    called = {
        (method, "/" + re.sub(r"\{[^}]+\}", "{}", path))
        for method, path in re.findall(r'_call\(\s*"(\w+)",\s*f?"(v1/[^"]*)"', source)
    }
    called |= {
        ("GET", "/" + re.sub(r"\{[^}]+\}", "{}", path))
        for path in re.findall(r'_pages\(\s*f?"(v1/[^"]*)"', source)
    }
    called |= {("POST", "/v1/webhooks/{}/deliveries/{}/redeliver")} & documented  # via `path`
    assert documented <= called, f"routes the client does not call: {sorted(documented - called)}"


def test_the_generated_request_model_takes_the_documented_example() -> None:
    from transform_jobs_client import models

    example = json.loads(json.loads((ROOT / "events/api_submit_job.json").read_text())["body"])
    request = models.JobRequest.model_validate(example)
    assert request.TransformInput.DataSource.S3DataSource.S3DataType.value == "S3Prefix"
    assert request.model_dump(mode="json", by_alias=True, exclude_unset=True) == example
