"""Errors the core raises for a caller to act on, each naming the fields at fault where known.

They say what went wrong in the service's own terms; only the api package decides how a caller
sees them (problem+json, RFC 9457, with an HTTP status per class).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class DomainError(Exception):
    """What went wrong (`detail`) and, by field, how to fix it (`errors`)."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class Malformed(DomainError):
    """The input cannot be read at all: a page token that is not ours, an unknown parameter."""


class Invalid(DomainError):
    """The input reads, but breaks a rule: a job request SageMaker would refuse."""


class Forbidden(DomainError):
    """The team may not do this: a model, bucket or instance type outside its allowance."""


class NotFound(DomainError):
    """No such job, schedule or subscription for this team."""


class Conflict(DomainError):
    """The thing is not in a state that allows it: a job already ended, a name already taken."""


class Unavailable(DomainError):
    """A dependency is busy or down for now; the same request may succeed later."""
