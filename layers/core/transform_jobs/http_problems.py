"""problem+json answers (RFC 9457) for the REST functions: every error a caller sees is one.

Powertools' own validation errors hide their messages; ours name the field, say why, and say how
to fix it, so they are rebuilt here from pydantic's error list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from transform_jobs.field_errors import field_errors, field_name
from transform_jobs.problems import BadRequest, FieldError, InvalidRequest, NotFound, Problem

__all__ = ["PROBLEM_JSON", "field_errors", "field_name", "from_validation", "response"]

PROBLEM_JSON = "application/problem+json"


def response(problem: Problem, instance: str | None = None) -> Response[str]:
    return Response(
        status_code=int(problem.status),
        content_type=PROBLEM_JSON,
        body=json.dumps(problem.body(instance)),
    )


def from_validation(errors: Sequence[dict[str, Any]]) -> Problem:
    """Turn Powertools' RequestValidationError list into the right problem.

    Unparseable JSON and bad query parameters are 400; a body that parses but breaks a rule is 422;
    a bad path parameter means no such resource (404).
    """
    invalid_json = next((error for error in errors if error.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        why = (invalid_json.get("ctx") or {}).get("error")
        where = [part for part in invalid_json.get("loc", ()) if isinstance(part, int)]
        if why and where and where[0] > 0:
            why = f"{why} at character {where[0]}"
        return BadRequest(
            f"The body is not valid JSON: {why}." if why else "The body is not valid JSON.",
            [FieldError("body", "send a JSON object with Content-Type: application/json")],
        )
    if any(
        error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
        for error in errors
    ):
        return BadRequest(
            "The body is empty.",
            [FieldError("body", "send the request as a JSON object")],
        )
    sources = {error.get("loc", ("body",))[0] for error in errors}
    if "path" in sources:
        return NotFound("No such resource for this team.")
    if sources <= {"body"}:
        return InvalidRequest("The job request is not valid.", field_errors(errors))
    # A bad query parameter or header makes the request malformed (400); any body errors are
    # listed too, so one round trip shows everything to fix.
    return BadRequest("The query, headers or body are not valid.", field_errors(errors))
