"""A team: who may use the service, with which data, which models and how much capacity."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Team(BaseModel):
    TeamId: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    InputPrefixes: list[str] = Field(description="S3 prefixes the team may read input from")
    OutputPrefixes: list[str] = Field(description="S3 prefixes the team may write output to")
    Models: list[str] = Field(description="Model names; a trailing * allows a name prefix")
    MaxRunningJobs: int = Field(default=5, ge=1)

    def may_use_model(self, model_name: str) -> bool:
        return any(
            model_name.startswith(allowed[:-1]) if allowed.endswith("*") else model_name == allowed
            for allowed in self.Models
        )
