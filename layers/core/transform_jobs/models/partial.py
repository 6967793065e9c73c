"""Fields of a partial update (PATCH): a field may be left out to keep its value, but not sent
as null unless null means "clear it"."""

from __future__ import annotations

from typing import Any


def not_nullable(schema: dict[str, Any]) -> None:
    """Documents a field that may be left out but not sent as null: no null type, no default."""
    schema.pop("default", None)
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if branches:
        schema.update(branches[0])


def not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null; leave it out to keep the current value")
    return value
