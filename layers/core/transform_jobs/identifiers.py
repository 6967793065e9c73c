"""Job ids: 26 characters, lower-case, time-ordered (a ULID's layout), safe in SageMaker names."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower-case
JOB_ID_PATTERN = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")


def new_job_id() -> str:
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_job_id(text: str) -> bool:
    return bool(JOB_ID_PATTERN.fullmatch(text))


def derived_id(at_millis: int, *parts: str) -> str:
    """A 26-character id in the job id's layout, ordered by `at_millis`, whose random part is a
    hash of `parts`: the same inputs always give the same id (for deduplication keys)."""
    digest = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:10], "big")
    value = (at_millis << 80) | digest
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))
