"""Which team an API key belongs to (keys are looked up by their SHA-256 hash only)."""

from __future__ import annotations

from transform_jobs import api_keys, repository


def team_for(authorization_header: str | None) -> str | None:
    key = api_keys.bearer_key(authorization_header)
    return repository.team_for_key_hash(api_keys.key_hash(key)) if key else None
