"""The error body every route answers with: application/problem+json (RFC 9457)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(
        description="The field at fault, as a path: TransformInput.SplitType, Tags[0].Key"
    )
    reason: str = Field(description="What is wrong and how to fix it")


class ProblemDocument(BaseModel):
    """RFC 9457 members are lower-case by the standard; `errors` lists the fields at fault."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None
