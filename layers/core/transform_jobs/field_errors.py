"""pydantic's validation errors as FieldErrors whose reasons name the fix (the API's 422s, and
a schedule's run that its template cannot make), without the HTTP layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transform_jobs.errors import FieldError

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
