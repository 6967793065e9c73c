"""Floor for an API function: a validating REST resolver with one pydantic-typed route."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    count: int = Field(gt=0, le=100)


@app.post("/items")
def create_item(item: Annotated[Item, Body()]) -> dict[str, Any]:
    return item.model_dump()


@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
