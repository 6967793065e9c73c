"""Which team an API key belongs to (keys are looked up by their SHA-256 hash only)."""

from __future__ import annotations

from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import api_key_repository


def team_for(authorization_header: str | None) -> str | None:
    key = api_keys.bearer_key(authorization_header)
    return api_key_repository.team_for_key_hash(api_keys.key_hash(key)) if key else None
