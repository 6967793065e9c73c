"""API keys: random, shown once, stored only as a SHA-256 hash that maps to a team."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "tjk_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str:
    """A short public id for a key (for listing and revoking), derived from its hash."""
    return key_hash(key)[:12]


def bearer_key(authorization: str | None) -> str | None:
    """The key from an `Authorization: Bearer <key>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(KEY_PREFIX) or len(value) > 200:
        return None
    return value
