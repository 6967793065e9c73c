"""Exceptions: an API error carries the service's problem+json document (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class TransformJobsError(Exception):
    """Anything the client could not do."""


class ConnectionFailed(TransformJobsError):
    """The service could not be reached (after the retries)."""


class ApiError(TransformJobsError):
    """The service answered with an error: its status, title, detail and field errors."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        instance: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.instance = instance
        self.errors = errors or []
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.title}"
        if self.detail and self.detail != self.title:
            text += f": {self.detail}"
        for error in self.errors:
            text += f"\n  {error.field}: {error.reason}"
        return text

    @classmethod
    def from_response(cls, status: int, body: Any, reason: str) -> ApiError:
        """The right subclass for the status, from a problem document (or whatever came)."""
        document = body if isinstance(body, dict) else {}
        errors = [
            FieldError(str(item.get("field", "")), str(item.get("reason", "")))
            for item in document.get("errors") or []
            if isinstance(item, dict)
        ]
        kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
        return kind(
            status,
            str(document.get("title") or reason or "Error"),
            document.get("detail") if isinstance(document.get("detail"), str) else None,
            type=str(document.get("type") or "about:blank"),
            instance=document.get("instance"),
            errors=errors,
        )


class BadRequest(ApiError):
    """400: malformed JSON or query parameters."""


class Unauthorized(ApiError):
    """401: the API key is missing or unknown."""


class Forbidden(ApiError):
    """403: a model or S3 location the team may not use (or a key that was revoked)."""


class NotFound(ApiError):
    """404: no such job or subscription for this team."""


class Conflict(ApiError):
    """409: an ended job cannot be cancelled, or an Idempotency-Key is still in flight."""


class ValidationFailed(ApiError):
    """422: the request breaks a rule; `errors` names each field and the fix."""


class RateLimited(ApiError):
    """429: too many requests (retried with backoff before this is raised)."""


class ServerError(ApiError):
    """5xx: the service failed (retried with backoff before this is raised)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}
