"""The preparation plan: the input files of a job with InputPreparation and the shards cut from
each. Written by prepare_job, read by finalize_job; kept in the artifacts bucket."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Shard(BaseModel):
    Rows: int
    FirstRow: int = Field(description="Data row number (1-based, header not counted)")


class PlannedObject(BaseModel):
    # Headers are kept as the exact bytes of the input (base64 in JSON).
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    Bucket: str
    Key: str
    Relative: str
    Header: bytes | None = None
    Rows: int = 0
    Shards: list[Shard] = Field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"s3://{self.Bucket}/{self.Key}"


class PreparationPlan(BaseModel):
    Objects: list[PlannedObject]
