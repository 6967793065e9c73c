"""Errors a caller can act on, each carrying its HTTP status and, where known, the field at fault.

The API turns them into application/problem+json (RFC 9457); nothing else reaches a caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class Problem(Exception):
    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    title: str = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def body(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": int(self.status),
            "detail": self.detail,
        }
        if instance:
            document["instance"] = instance
        if self.errors:
            document["errors"] = [error.as_dict() for error in self.errors]
        return document


class BadRequest(Problem):
    status = HTTPStatus.BAD_REQUEST
    title = "Bad request"


class InvalidRequest(Problem):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    title = "The request is not valid"


class Forbidden(Problem):
    status = HTTPStatus.FORBIDDEN
    title = "Not allowed for this team"


class MethodNotAllowed(Problem):
    status = HTTPStatus.METHOD_NOT_ALLOWED
    title = "Method not allowed"


class UnsupportedMediaType(Problem):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    title = "Unsupported media type"


class NotFound(Problem):
    status = HTTPStatus.NOT_FOUND
    title = "Not found"


class Conflict(Problem):
    status = HTTPStatus.CONFLICT
    title = "Conflict"


class Unavailable(Problem):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    title = "Temporarily unavailable"


class InternalError(Problem):
    status = HTTPStatus.INTERNAL_SERVER_ERROR
    title = "Internal error"
