"""Registering teams and keys the way the admin command does."""

from __future__ import annotations

from transform_jobs.access import api_keys
from transform_jobs.adapters.dynamodb import team_repository
from transform_jobs.models.team import Team

BUCKET = "transform-jobs-data"


def register_team(
    team_id: str = "team-a",
    *,
    max_running_jobs: int = 5,
    models: list[str] | None = None,
    prefix: str | None = None,
) -> str:
    """Create the team with its own prefixes in the data bucket (or `prefix`); return a fresh
    API key."""
    prefix = prefix or f"s3://{BUCKET}/{team_id}/"
    team_repository.put_team(
        Team(
            TeamId=team_id,
            InputPrefixes=[prefix],
            OutputPrefixes=[prefix],
            Models=models or ["churn-xgb", "fraud-*"],
            MaxRunningJobs=max_running_jobs,
        )
    )
    key = api_keys.new_key()
    team_repository.put_api_key(
        key_hash=api_keys.key_hash(key), key_id=api_keys.key_id(key), team_id=team_id
    )
    return key
