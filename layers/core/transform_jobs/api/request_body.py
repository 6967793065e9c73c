"""What the REST functions accept as a request body: UTF-8 JSON, and nothing else.

Checked before routing (content type and encoding) and while parsing (JSON that Python's
parser takes but that cannot be stored or is not JSON at all), so that no body, however odd,
reaches the handlers or DynamoDB in a form they would fail on with a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from transform_jobs.api.problems import UnsupportedMediaType
from transform_jobs.errors import DomainError, FieldError, Malformed


def problem_with(event: Mapping[str, Any]) -> DomainError | None:
    """Why an API Gateway proxy event's body cannot be read as JSON; None if it may be."""
    body = event.get("body")
    if not body:
        return None
    content_type = _header(event, "content-type")
    if content_type is not None and not _is_json(content_type):
        return UnsupportedMediaType(
            f"The body is {content_type.split(';')[0].strip() or 'of no type'}; this API takes "
            "JSON.",
            [FieldError("Content-Type", "send application/json (UTF-8) with a JSON body")],
        )
    raw: bytes | str = body
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(str(body), validate=True)
        except binascii.Error:
            raw = b""
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return Malformed(
                f"The body is not UTF-8 text (byte {error.start} is not valid UTF-8).",
                [FieldError("body", "send the request as UTF-8 encoded JSON")],
            )
    return None


def with_canonical_content_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its JSON Content-Type spelled as the resolver compares it (media types
    are case-insensitive; the resolver's check is not)."""
    for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for key, value in headers.items():
            if key.lower() == "content-type":
                values = value if isinstance(value, list) else [value]
                canonical = [
                    f"application/json{text[len('application/json') :]}"
                    if text.lower().startswith("application/json")
                    else text
                    for text in map(str, values)
                ]
                headers[key] = canonical if isinstance(value, list) else canonical[0]
    return event


def parse_json(text: str) -> Any:
    """`json.loads`, refusing what RFC 8259 or storage refuses, as a JSONDecodeError (which the
    resolver answers as a malformed body): NaN and Infinity, numbers too long to convert,
    nesting deeper than the parser's stack, and strings with unpaired UTF-16 surrogates."""
    try:
        value = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("it is nested too deeply", text, 0) from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise json.JSONDecodeError(str(error), text, 0) from None
    where = _unpaired_surrogate(value)
    if where is not None:
        raise json.JSONDecodeError(
            f"{where} holds an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not text",
            text,
            0,
        )
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _is_json(content_type: str) -> bool:
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != "application/json":
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _unpaired_surrogate(value: Any) -> str | None:
    """The path of the first string (or key) holding a lone surrogate, or None.

    Encoding the whole value once is the fast path; the walk runs only when that fails.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return _walk(value, "body")
    return None


def _walk(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return None if _encodes(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encodes(key):
                return f"a key of {path}"
            found = _walk(item, f"{path}.{key}" if path != "body" else key)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
