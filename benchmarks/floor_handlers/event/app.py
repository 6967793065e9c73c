"""Floor for an event-driven function: the event validated by a pydantic model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()


class Change(BaseModel):
    name: str = Field(min_length=1, max_length=63)
    status: str = Field(min_length=1, max_length=20)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return Change.model_validate(event.get("detail", {})).model_dump()
