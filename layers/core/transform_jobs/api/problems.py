"""problem+json answers (RFC 9457) for the REST functions: every error a caller sees is one.

Powertools' own validation errors hide their messages; ours name the field, say why, and say how
to fix it, so they are rebuilt here from pydantic's error list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from transform_jobs.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    Unavailable,
)
from transform_jobs.field_errors import field_errors, field_name

__all__ = ["PROBLEM_JSON", "field_errors", "field_name", "from_validation", "response"]

PROBLEM_JSON = "application/problem+json"


class HttpProblem(DomainError):
    """A failure that exists only over HTTP (a method, a media type, our own fault)."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    title = "Internal error"


class MethodNotAllowed(HttpProblem):
    status = HTTPStatus.METHOD_NOT_ALLOWED
    title = "Method not allowed"


class UnsupportedMediaType(HttpProblem):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    title = "Unsupported media type"


class InternalError(HttpProblem):
    pass


# The core's errors as a caller sees them; the first class in an error's MRO decides.
_STATUS: dict[type[DomainError], tuple[HTTPStatus, str]] = {
    Malformed: (HTTPStatus.BAD_REQUEST, "Bad request"),
    Invalid: (HTTPStatus.UNPROCESSABLE_ENTITY, "The request is not valid"),
    Forbidden: (HTTPStatus.FORBIDDEN, "Not allowed for this team"),
    NotFound: (HTTPStatus.NOT_FOUND, "Not found"),
    Conflict: (HTTPStatus.CONFLICT, "Conflict"),
    Unavailable: (HTTPStatus.SERVICE_UNAVAILABLE, "Temporarily unavailable"),
    DomainError: (HTTPStatus.BAD_REQUEST, "Bad request"),
}


def status_of(error: DomainError) -> tuple[HTTPStatus, str]:
    if isinstance(error, HttpProblem):
        return error.status, error.title
    kind = next(kind for kind in type(error).__mro__ if kind in _STATUS)
    return _STATUS[kind]


def body(error: DomainError, instance: str | None = None) -> dict[str, Any]:
    status, title = status_of(error)
    document: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": int(status),
        "detail": error.detail,
    }
    if instance:
        document["instance"] = instance
    if error.errors:
        document["errors"] = [found.as_dict() for found in error.errors]
    return document


def response(error: DomainError, instance: str | None = None) -> Response[str]:
    document = body(error, instance)
    return Response(
        status_code=document["status"], content_type=PROBLEM_JSON, body=json.dumps(document)
    )


def from_validation(errors: Sequence[dict[str, Any]]) -> DomainError:
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
        return Malformed(
            f"The body is not valid JSON: {why}." if why else "The body is not valid JSON.",
            [FieldError("body", "send a JSON object with Content-Type: application/json")],
        )
    if any(
        error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",)
        for error in errors
    ):
        return Malformed(
            "The body is empty.",
            [FieldError("body", "send the request as a JSON object")],
        )
    sources = {error.get("loc", ("body",))[0] for error in errors}
    if "path" in sources:
        return NotFound("No such resource for this team.")
    if sources <= {"body"}:
        return Invalid("The job request is not valid.", field_errors(errors))
    # A bad query parameter or header makes the request malformed (400); any body errors are
    # listed too, so one round trip shows everything to fix.
    return Malformed("The query, headers or body are not valid.", field_errors(errors))
