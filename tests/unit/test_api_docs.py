"""Swagger UI and the OpenAPI document as local mode serves them beside the API."""

from __future__ import annotations

import json
from pathlib import Path

from local.runtime.api_docs import ApiDocs

ROOT = Path(__file__).resolve().parents[2]


def docs(tmp_path: Path) -> ApiDocs:
    assets = tmp_path / "swagger-ui-dist"
    assets.mkdir()
    (assets / "swagger-ui.css").write_text("body {}")
    return ApiDocs(document=ROOT / "docs" / "openapi.json", assets=assets)


def test_the_page_loads_the_ui_from_this_server_and_the_document_beside_it(
    tmp_path: Path,
) -> None:
    page = docs(tmp_path).answer("GET", "/docs", "http://127.0.0.1:3000/dev")
    assert page is not None and page.status == 200
    html = page.body.decode()
    assert 'url: "/openapi.json"' in html and 'src="/docs/swagger-ui-bundle.js"' in html
    assert "https://" not in html  # nothing from the internet


def test_the_document_points_try_it_out_at_the_local_stage(tmp_path: Path) -> None:
    answer = docs(tmp_path).answer("GET", "/openapi.json", "http://127.0.0.1:3000/dev")
    assert answer is not None and answer.content_type == "application/json"
    document = json.loads(answer.body)
    assert document["servers"] == [
        {"url": "http://127.0.0.1:3000/dev", "description": "this machine (make run)"}
    ]
    assert "/v1/jobs" in document["paths"]


def test_only_the_ui_files_are_served(tmp_path: Path) -> None:
    served = docs(tmp_path)
    css = served.answer("GET", "/docs/swagger-ui.css", "x")
    assert css is not None and css.body == b"body {}" and css.content_type.startswith("text/css")
    missing = served.answer("GET", "/docs/swagger-ui-bundle.js", "x")
    assert missing is not None and missing.status == 503
    assert served.answer("GET", "/docs/../../etc/passwd", "x") is None
    assert served.answer("GET", "/docs/package.json", "x") is None
    assert served.answer("POST", "/docs", "x") is None
    assert served.answer("GET", "/dev/v1/jobs", "x") is None
