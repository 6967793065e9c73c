"""The cold-start yardstick: a REST handler written the way the Powertools documentation and the
public handler cookbooks teach, which imports everything at module level.

Logger, Metrics and Tracer; an APIGatewayRestResolver with request validation (pydantic models
for the body and the answer); idempotency on DynamoDB; two boto3 clients made at import. It is
never invoked: benchmarks/cold_start.py times only `import app`, the Lambda Init phase.
"""

from __future__ import annotations

import os
from typing import Annotated

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])
idempotency = IdempotencyConfig(event_key_jmespath="order_id", expires_after_seconds=3600)


class CreateOrderRequest(BaseModel):
    customer_name: str = Field(min_length=1, max_length=40)
    item_count: int = Field(gt=0, le=100)


class Order(BaseModel):
    order_id: str
    customer_name: str
    item_count: int


@idempotent_function(
    data_keyword_argument="order", config=idempotency, persistence_store=persistence
)
def save_order(order: Order) -> dict[str, object]:
    dynamodb.put_item(
        TableName=os.environ["ORDERS_TABLE_NAME"],
        Item={"id": {"S": order.order_id}, "name": {"S": order.customer_name}},
    )
    sqs.send_message(QueueUrl=os.environ["ORDERS_QUEUE_URL"], MessageBody=order.model_dump_json())
    return order.model_dump()


@app.post("/api/orders")
@tracer.capture_method
def create_order(request: Annotated[CreateOrderRequest, Body()]) -> Order:
    order = Order(order_id=app.current_event.request_context.request_id, **request.model_dump())
    save_order(order=order)
    metrics.add_metric(name="ValidCreateOrderEvents", unit=MetricUnit.Count, value=1)
    return order


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
