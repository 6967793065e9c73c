"""Driving jobs_api with the API Gateway events under events/, as API Gateway would."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from tests.conftest import load_event
from tests.support.lambda_context import FakeContext


class ApiCaller:
    """Calls jobs_api's handler with events/ files, adjusted per call (team, path, body)."""

    def __init__(self, team: str = "team-a") -> None:
        self.team = team

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        team: str | None = None,
        binary_body: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """`binary_body` arrives base64-encoded, as API Gateway passes bytes that are not text."""
        from jobs_api import app

        event = copy.deepcopy(load_event("api_get_job.json"))
        parts = path.strip("/").split("/")
        resource = path
        path_parameters = None
        # API Gateway matches a declared static path (/v1/jobs/validate) before a parameter.
        if len(parts) >= 3 and parts[:2] == ["v1", "jobs"] and parts[2:] != ["validate"]:
            path_parameters = {"jobId": parts[2]}
            resource = "/" + "/".join(["v1", "jobs", "{jobId}", *parts[3:]])
        event.update(
            httpMethod=method,
            path=path,
            resource=resource,
            pathParameters=path_parameters,
            queryStringParameters=query,
            multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
            body=raw_body
            if raw_body is not None
            else (json.dumps(body) if body is not None else None),
        )
        event["headers"] = {
            **event["headers"],
            "Content-Type": "application/json",
            **(headers or {}),
        }
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        if binary_body is not None:
            event.update(body=base64.b64encode(binary_body).decode(), isBase64Encoded=True)
        event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/dev{path}")
        event["requestContext"]["authorizer"] = {
            "teamId": team or self.team,
            "principalId": team or self.team,
        }
        reply = app.handler(event, FakeContext())
        body_text = reply.get("body") or ""
        headers = {k: v[-1] for k, v in (reply.get("multiValueHeaders") or {}).items()}
        headers.update(reply.get("headers") or {})
        return reply["statusCode"], headers, json.loads(body_text) if body_text else None
