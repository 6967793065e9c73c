"""Print the API's OpenAPI document, generated from the routes and models of the REST functions
(jobs_api, schedules_api and webhooks_api, merged: one API, one document).

`make openapi` writes it to docs/openapi.json; tests/unit/test_openapi.py fails when the
committed document is stale.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def openapi_document() -> str:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TransformJobs")
    for path in (ROOT / "layers/core", ROOT / "functions"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from jobs_api.app import openapi_document as jobs_document
    from schedules_api.app import openapi_document as schedules_document
    from webhooks_api.app import openapi_document as webhooks_document

    document = jobs_document()
    for other in (schedules_document(), webhooks_document()):
        document["paths"].update(other["paths"])
        document["components"]["schemas"].update(other["components"]["schemas"])
    _drop_unused_schemas(document)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    """Powertools adds ResponseValidationError (it refers to a ValidationError it does not
    define) even where no route answers with it; a schema nothing reaches is dropped, so
    the document resolves whole and clients generated from it are clean."""
    schemas = document["components"]["schemas"]
    reached: set[str] = set()
    pending = [document["paths"]]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in reached and name in schemas:
                    reached.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    for name in set(schemas) - reached:
        del schemas[name]


if __name__ == "__main__":
    sys.stdout.write(openapi_document())
