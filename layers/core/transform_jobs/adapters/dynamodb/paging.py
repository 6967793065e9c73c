"""A listing's page, its NextToken refused as a 400 that names the field when not ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from transform_jobs.adapters.dynamodb.table import InvalidPageToken
from transform_jobs.errors import FieldError, Malformed

T = TypeVar("T")


def paged(load: Callable[[], T]) -> T:
    try:
        return load()
    except InvalidPageToken:
        raise Malformed(
            "NextToken is not valid for this listing.",
            [FieldError("NextToken", "pass back the NextToken of the previous page unchanged")],
        ) from None
