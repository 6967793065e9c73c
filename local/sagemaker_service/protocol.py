"""awsJson1.1 as SageMaker speaks it: `X-Amz-Target: SageMaker.<Operation>`, JSON both ways.

Errors are HTTP 400 (or 500) with `{"__type": code, "message": text}`; botocore takes the code
from `__type` (after any `#` or `:`) and the message from `message`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

TARGET_PREFIX = "SageMaker."
CONTENT_TYPE = "application/x-amz-json-1.1"


class ServiceError(Exception):
    """An error the client receives as a typed error (botocore's ClientError)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def operation_from(target: str | None) -> str:
    if not target or not target.startswith(TARGET_PREFIX):
        raise ServiceError("UnknownOperationException", f"Unknown target: {target!r}")
    return target.removeprefix(TARGET_PREFIX)


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ServiceError("SerializationException", f"Malformed JSON: {error}") from error
    if not isinstance(body, dict):
        raise ServiceError("SerializationException", "The request body must be a JSON object")
    return body


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(reply: dict[str, Any]) -> bytes:
    """A reply as JSON; times go out as epoch seconds, which botocore parses into datetimes."""
    return json.dumps(reply, default=_default).encode()
