"""The answer of POST /v1/jobs/validate."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Finding(BaseModel):
    field: str = Field(description="The request field to fix, as in a 422's errors")
    reason: str


class InputSummary(BaseModel):
    Objects: int = Field(description="Input objects found (listed, or named by the manifest)")
    Bytes: int | None = Field(
        description="Their total size; null for a manifest, whose entries are not listed"
    )


class JobValidation(BaseModel):
    Valid: bool = Field(
        description="True when POST /v1/jobs would accept the request and launch it"
    )
    Errors: list[Finding] = Field(description="What stops the job, each naming its field and fix")
    Warnings: list[Finding] = Field(description="What the job would run with but you may not want")
    Input: InputSummary | None = Field(
        None, description="The input as the checks found it (absent when they did not get there)"
    )
