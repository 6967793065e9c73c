"""A listing's page, its NextToken refused as a 400 that names the field when not ours."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from transform_jobs.problems import BadRequest, FieldError
from transform_jobs.table import InvalidPageToken

T = TypeVar("T")


def paged(load: Callable[[], T]) -> T:
    try:
        return load()
    except InvalidPageToken:
        raise BadRequest(
            "NextToken is not valid for this listing.",
            [FieldError("NextToken", "pass back the NextToken of the previous page unchanged")],
        ) from None
