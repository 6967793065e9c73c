"""Swagger UI for the API at /docs and its OpenAPI document at /openapi.json (local mode only;
API Gateway in AWS serves neither).

The UI's files come from the swagger-ui-dist npm package (package.json), so nothing is fetched
from the internet; the document is docs/openapi.json with the local stage as its server, so
"Try it out" calls this API (click Authorize and paste the key `make run` printed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>transform-jobs API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      persistAuthorization: true,
    });
  </script>
</body>
</html>
"""


@dataclass(frozen=True)
class DocsAnswer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class ApiDocs:
    document: Path = ROOT / "docs" / "openapi.json"
    assets: Path = ROOT / "node_modules" / "swagger-ui-dist"

    def answer(self, method: str, path: str, api_url: str) -> DocsAnswer | None:
        """The answer for a docs path, or None for any other request."""
        if method not in ("GET", "HEAD"):
            return None
        if path in ("/docs", "/docs/"):
            return DocsAnswer(200, "text/html; charset=utf-8", PAGE.encode())
        if path == "/openapi.json":
            document = json.loads(self.document.read_text())
            document["servers"] = [{"url": api_url, "description": "this machine (make run)"}]
            return DocsAnswer(200, "application/json", json.dumps(document, indent=2).encode())
        name = path.removeprefix("/docs/")
        if path.startswith("/docs/") and name in ASSETS:
            asset = self.assets / name
            if not asset.is_file():
                message = "Swagger UI is not installed: run `npm ci` (make run does)."
                return DocsAnswer(503, "text/plain; charset=utf-8", message.encode())
            return DocsAnswer(200, ASSETS[name], asset.read_bytes())
        return None
