"""The "SageMaker Transform Job State Change" event checked against the two shapes AWS documents
(events/sources/): the SageMaker developer guide's (our record of its member names, nesting and
value forms) and the EventBridge schema registry's schema, with Tags as the guide shows them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

SOURCES = Path(__file__).resolve().parents[2] / "events" / "sources"
# The event as the guide lays it out: each member's form ("string", "date-time", ...), an object
# for each nested object, a one-item list for an array ("forms" in the file says what each means).
GUIDE_SHAPE: dict[str, Any] = json.loads(
    (SOURCES / "sagemaker-transform-job-state-change.user-guide-shape.json").read_text()
)["event"]
REGISTRY: dict[str, Any] = json.loads(
    (SOURCES / "sagemaker-transform-job-state-change.registry-schema.json").read_text()
)


def _validator(root: str) -> Draft7Validator:
    return Draft7Validator(
        {"$ref": f"#/components/schemas/{root}", **REGISTRY}, format_checker=FormatChecker()
    )


_EVENT, _DETAIL = _validator("AWSEvent"), _validator("SageMakerTransformJobStateChange")


def registry_violations(
    event: dict[str, Any], *, detail_only: bool = False
) -> list[tuple[str, str]]:
    """Where the event (or a bare `detail`) breaks the registry's schema: (path, message)."""
    validator = _DETAIL if detail_only else _EVENT
    return sorted(
        ("/".join(str(part) for part in error.absolute_path), error.message)
        for error in validator.iter_errors(event)
    )


def aws_shape_violations(
    event: dict[str, Any], *, detail_only: bool = False
) -> list[tuple[str, str]]:
    """The registry's schema, but Tags as the guide shows them: a map of text to text."""
    detail = event if detail_only else event["detail"]
    tags = detail.get("Tags")
    if isinstance(tags, dict) and all(isinstance(v, str) for v in [*tags, *tags.values()]):
        detail = {key: value for key, value in detail.items() if key != "Tags"}
        event = detail if detail_only else {**event, "detail": detail}
    return registry_violations(event, detail_only=detail_only)


_FORMS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "uuid": lambda value: (
        isinstance(value, str)
        and re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value) is not None
    ),
    "arn": lambda value: isinstance(value, str) and value.startswith("arn:"),
    "date-time": lambda value: (
        isinstance(value, str)
        and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value) is not None
    ),
    "string-map": lambda value: (
        isinstance(value, dict) and all(isinstance(text, str) for text in [*value, *value.values()])
    ),
    "map": lambda value: isinstance(value, dict),
}


def guide_shape_violations(event: Any, form: Any = None, path: str = "") -> list[tuple[str, str]]:
    """Where the event departs from the guide's shape: a member missing or unknown, or a value
    not of its member's form. (path, message), paths as registry_violations gives them."""
    form = GUIDE_SHAPE if form is None else form
    where = path or "(event)"
    if isinstance(form, dict):
        if not isinstance(event, dict):
            return [(where, f"{event!r} is not an object")]
        found = [(where, f"{name!r} is missing") for name in form if name not in event]
        found += [
            (where, f"{name!r} is not in the guide's shape") for name in event if name not in form
        ]
        for name in form:
            if name in event:
                found += guide_shape_violations(
                    event[name], form[name], f"{path}/{name}".lstrip("/")
                )
        return sorted(found)
    if isinstance(form, list):
        if not isinstance(event, list):
            return [(where, f"{event!r} is not an array")]
        return sorted(
            violation
            for index, item in enumerate(event)
            for violation in guide_shape_violations(item, form[0], f"{path}/{index}")
        )
    matches = event == form[1:] if form.startswith("=") else _FORMS[form](event)
    return [] if matches else [(where, f"{event!r} is not of the form {form!r}")]
