"""Enums that accept values this client does not know yet.

The service may add a status or an event type; a client released before that must still read
its answers. An unknown value becomes a member of its own (equal to its string) instead of an
error; the service remains the judge of what it accepts in requests.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class OpenStrEnum(StrEnum):
    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
