"""problem+json answers (RFC 9457) for the REST functions: every error a caller sees is one.

Powertools' own validation errors hide their messages; ours name the field, say why, and say how
to fix it, so they are rebuilt here from pydantic's error list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from transform_jobs.problems import BadRequest, FieldError, InvalidRequest, NotFound, Problem

PROBLEM_JSON = "application/problem+json"

_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it (check its spelling against the CreateTransformJob request)",
    "enum": "use one of the allowed values",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "match the pattern",
    "string_too_long": "shorten it",
    "string_too_short": "give a non-empty value",
    "too_long": "send fewer entries",
    "greater_than_equal": "raise it",
    "less_than_equal": "lower it",
    "int_parsing": "send a whole number",
    "int_type": "send a whole number",
    "string_type": "send a string",
    "model_type": "send a JSON object",
    "dict_type": "send a JSON object",
    "list_type": "send a JSON array",
    "datetime_from_date_parsing": "send an ISO 8601 time such as 2026-11-25T12:00:00Z",
    "datetime_parsing": "send an ISO 8601 time such as 2026-11-25T12:00:00Z",
}


# What the patterns mean, in words a person can act on.
_NAME = "is not a valid name: use letters, digits and hyphens, starting and ending with a letter "
_PATTERN_HINTS = {
    r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$": _NAME + "or digit (at most 63 characters)",
    r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$": _NAME + "or digit",
    r"^[a-zA-Z0-9:/_-]*$": "is not a valid key: use a KMS key id, alias or ARN (letters, digits "
    "and : / _ -)",
    r"^https?://": "is not a web address: use an https:// URL",
    r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$": _NAME + "or digit (at most 120 characters)",
}


def response(problem: Problem, instance: str | None = None) -> Response[str]:
    return Response(
        status_code=int(problem.status),
        content_type=PROBLEM_JSON,
        body=json.dumps(problem.body(instance)),
    )


def field_name(location: Sequence[Any], context: dict[str, Any] | None) -> str:
    """`('body', 'Tags', 0, 'Key')` → `Tags[0].Key`; the root of the body is `body`."""
    if context and context.get("field"):
        return str(context["field"])
    if location and location[0] == "header" and len(location) > 1:
        return "-".join(part.capitalize() for part in str(location[1]).split("-"))
    name = ""
    for part in location[1:]:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or str(location[0] if location else "body")


def field_errors(errors: Sequence[dict[str, Any]]) -> list[FieldError]:
    found = []
    for error in errors:
        location = error.get("loc", ())
        kind = error.get("type", "")
        reason = str(error.get("msg", "is not valid"))
        reason = reason.removeprefix("Value error, ")
        fix = _FIXES.get(kind)
        if kind == "string_pattern_mismatch":
            pattern = (error.get("ctx") or {}).get("pattern", "")
            hint = _PATTERN_HINTS.get(pattern)
            reason, fix = (hint, None) if hint else (reason, fix)
        if fix and kind not in ("missing", "extra_forbidden"):
            reason = f"{reason}; {fix}"
        elif kind == "missing":
            reason = "is required; add it"
        elif kind == "extra_forbidden":
            reason = f"is not a known field; {fix}"
        found.append(FieldError(field_name(location, error.get("ctx")), reason))
    return found


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
