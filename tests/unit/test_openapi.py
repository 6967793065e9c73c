"""docs/openapi.json is generated from the code: it must match what the code produces now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def generated() -> str:
    spec = importlib.util.spec_from_file_location(
        "generate_openapi", ROOT / "scripts/generate_openapi.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.openapi_document()
    return text


def test_committed_openapi_document_is_up_to_date() -> None:
    committed = (ROOT / "docs/openapi.json").read_text()
    assert committed == generated(), "docs/openapi.json is stale: run `make openapi` and commit it"


def test_document_describes_every_route_with_bearer_auth_except_health() -> None:
    document = json.loads(generated())
    paths = document["paths"]
    assert set(paths) == {
        "/v1/jobs",
        "/v1/jobs/{jobId}",
        "/v1/jobs/{jobId}/cancel",
        "/v1/jobs/validate",
        "/v1/jobs/{jobId}/rerun",
        "/v1/jobs/{jobId}/events",
        "/v1/jobs/{jobId}/outputs",
        "/v1/health",
        "/v1/webhooks",
        "/v1/webhooks/{webhookId}",
        "/v1/webhooks/{webhookId}/rotate-secret",
        "/v1/webhooks/{webhookId}/test",
        "/v1/webhooks/{webhookId}/deliveries",
        "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
        "/v1/schedules",
        "/v1/schedules/{scheduleId}",
        "/v1/schedules/{scheduleId}/run",
    }
    assert paths["/v1/health"]["get"]["security"] == []
    assert document["security"] == [{"apiKey": []}]
    assert "JobRequest" in document["components"]["schemas"]
