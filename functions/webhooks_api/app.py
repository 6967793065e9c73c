"""REST API for webhook subscriptions: create (secret shown once), list, get, update, delete,
rotate the secret, send a test event, the delivery log and redelivery."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from transform_jobs.api import rest
from transform_jobs.api.rest import MaxResults, NextToken
from transform_jobs.models.webhook import (
    Delivery,
    DeliveryPage,
    RotatedSecret,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookPage,
    WebhookUpdate,
    WebhookWithSecret,
)
from transform_jobs.webhooks import subscriptions

logger = Logger()
metrics = Metrics()
app = rest.new_app()

PROBLEM_CODES = {
    400: "Malformed request: not JSON, or a bad query parameter",
    404: "No such webhook (or delivery) for this team",
}

WebhookId = Annotated[str, Path(alias="webhookId", max_length=64)]


def _responses(
    success: tuple[int, type[BaseModel] | None, str], *codes: int
) -> dict[int, OpenAPIResponse]:
    return rest.responses(success, PROBLEM_CODES, *codes)


def _team() -> str:
    return rest.team(app)


@app.post(
    "/v1/webhooks",
    status_code=201,
    summary="Subscribe to job events (the signing secret is shown only in this answer)",
    responses=_responses((201, WebhookWithSecret, "The subscription and its secret"), 400),
)
def create_webhook(request: Annotated[WebhookCreate, Body()]) -> Response[WebhookWithSecret]:
    rest.only_query(app)
    created = subscriptions.create(_team(), request)
    return Response(201, "application/json", created)


@app.get(
    "/v1/webhooks",
    summary="List the team's webhook subscriptions",
    responses=_responses((200, WebhookPage, "A page of subscriptions"), 400),
)
def list_webhooks(max_results: MaxResults = 50, next_token: NextToken = None) -> WebhookPage:
    rest.only_query(app, "MaxResults", "NextToken")
    return subscriptions.page(_team(), limit=max_results, token=next_token)


@app.get(
    "/v1/webhooks/<webhookId>",
    summary="Get a subscription",
    responses=_responses((200, Webhook, "The subscription"), 404),
)
def get_webhook(webhook_id: WebhookId) -> Webhook:
    rest.only_query(app)
    return subscriptions.get(_team(), webhook_id)


@app.patch(
    "/v1/webhooks/<webhookId>",
    summary="Change a subscription's URL, event types, description, or re-enable it",
    responses=_responses((200, Webhook, "The subscription"), 400, 404),
)
def update_webhook(webhook_id: WebhookId, change: Annotated[WebhookUpdate, Body()]) -> Webhook:
    rest.only_query(app)
    return subscriptions.update(_team(), webhook_id, change)


@app.delete(
    "/v1/webhooks/<webhookId>",
    summary="Delete a subscription",
    responses=_responses((204, None, "Deleted"), 404),
)
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    rest.only_query(app)
    subscriptions.delete(_team(), webhook_id)
    return Response(204)


@app.post(
    "/v1/webhooks/<webhookId>/rotate-secret",
    summary="A new signing secret; for 24 hours deliveries are signed with both",
    responses=_responses((200, RotatedSecret, "The new secret, shown only now"), 404),
)
def rotate_secret(webhook_id: WebhookId) -> RotatedSecret:
    rest.only_query(app)
    return subscriptions.rotate(_team(), webhook_id)


@app.post(
    "/v1/webhooks/<webhookId>/test",
    summary="Send a webhook.test event now and report what the receiver answered",
    responses=_responses((200, TestResult, "The receiver's answer"), 404),
)
def test_webhook(webhook_id: WebhookId) -> TestResult:
    rest.only_query(app)
    return subscriptions.send_test(_team(), webhook_id)


@app.get(
    "/v1/webhooks/<webhookId>/deliveries",
    summary="The delivery log, newest first",
    responses=_responses((200, DeliveryPage, "A page of deliveries"), 400, 404),
)
def list_deliveries(
    webhook_id: WebhookId, max_results: MaxResults = 50, next_token: NextToken = None
) -> DeliveryPage:
    rest.only_query(app, "MaxResults", "NextToken")
    return subscriptions.deliveries(_team(), webhook_id, limit=max_results, token=next_token)


@app.post(
    "/v1/webhooks/<webhookId>/deliveries/<deliveryId>/redeliver",
    status_code=202,
    summary="Send a delivery again (same webhook-id, a fresh retry schedule)",
    responses=_responses((202, Delivery, "The delivery, Pending"), 404),
)
def redeliver(
    webhook_id: WebhookId, delivery_id: Annotated[str, Path(alias="deliveryId", max_length=64)]
) -> Response[Delivery]:
    rest.only_query(app)
    delivery = subscriptions.redeliver(_team(), webhook_id, delivery_id)
    return Response(202, "application/json", delivery)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of these routes (scripts/generate_openapi.py merges the APIs')."""
    return rest.openapi_document(
        app,
        public_paths=set(),
        links={
            ("/v1/webhooks", "post"): {"webhookId": "$response.body#/WebhookId"},
            ("/v1/webhooks", "get"): {"webhookId": "$response.body#/Webhooks/0/WebhookId"},
            ("/v1/webhooks/{webhookId}/deliveries", "get"): {
                "webhookId": "$request.path.webhookId",
                "deliveryId": "$response.body#/Deliveries/0/DeliveryId",
            },
        },
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rest.resolve(app, event, context)
