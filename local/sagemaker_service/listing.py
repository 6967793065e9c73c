"""The shared parts of the List operations: filters on time and name, sorting, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.sagemaker_service.protocol import validation

DEFAULT_MAX_RESULTS = 10
MAX_MAX_RESULTS = 100


def _number(value: Any, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise validation(f"{field} must be a timestamp") from error


def within_times(item: dict[str, Any], request: dict[str, Any], field: str) -> bool:
    """`<field>After`/`<field>Before` bounds (botocore sends timestamps as epoch seconds)."""
    value = item.get(field)
    after, before = request.get(f"{field}After"), request.get(f"{field}Before")
    if after is not None and (value is None or value <= _number(after, f"{field}After")):
        return False
    return before is None or (value is not None and value < _number(before, f"{field}Before"))


def page(
    items: list[dict[str, Any]],
    request: dict[str, Any],
    *,
    sort_keys: dict[str, Callable[[dict[str, Any]], Any]],
    default_sort: str = "CreationTime",
) -> tuple[list[dict[str, Any]], str | None]:
    sort_by = request.get("SortBy") or default_sort
    if sort_by not in sort_keys:
        raise validation(f"SortBy must be one of {sorted(sort_keys)}")
    order = request.get("SortOrder") or "Descending"
    if order not in ("Ascending", "Descending"):
        raise validation("SortOrder must be Ascending or Descending")
    return slice_page(sorted(items, key=sort_keys[sort_by], reverse=order == "Descending"), request)


def slice_page(
    items: list[dict[str, Any]], request: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """MaxResults from NextToken on; the token is the offset of the next page."""
    limit = int(request.get("MaxResults") or DEFAULT_MAX_RESULTS)
    if not 1 <= limit <= MAX_MAX_RESULTS:
        raise validation(f"MaxResults must be between 1 and {MAX_MAX_RESULTS}")
    token = request.get("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError as error:
        raise validation("Invalid pagination token") from error
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return chunk, str(start + limit) if more else None
