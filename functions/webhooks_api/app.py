"""REST API for webhook subscriptions: create (secret shown once), list, get, update, delete,
rotate the secret, send a test event, the delivery log and redelivery."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.typing import LambdaContext

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
from transform_jobs.settings import Required, Settings, load
from transform_jobs.webhooks import subscriptions


class WebhooksApiSettings(Settings):
    """What webhooks_api cannot run without; checked at Init (settings.load)."""

    table_name: Required
    webhook_key_id: Required
    webhook_queue_url: Required


load(WebhooksApiSettings)  # a variable the template lost fails the cold start, naming it


logger = Logger()
metrics = Metrics()
api = rest.RestApi(
    {
        404: "No such webhook (or delivery) for this team",
    }
)
app = api.app

WebhookId = Annotated[str, Path(alias="webhookId", max_length=64)]


@app.post(
    "/v1/webhooks",
    status_code=201,
    summary="Subscribe to job events (the signing secret is shown only in this answer)",
    responses=api.responses((201, WebhookWithSecret, "The subscription and its secret"), 400),
)
def create_webhook(request: Annotated[WebhookCreate, Body()]) -> Response[WebhookWithSecret]:
    created = subscriptions.create(api.team(), request)
    return Response(201, "application/json", created)


@app.get(
    "/v1/webhooks",
    summary="List the team's webhook subscriptions",
    responses=api.responses((200, WebhookPage, "A page of subscriptions"), 400),
)
def list_webhooks(max_results: MaxResults = 50, next_token: NextToken = None) -> WebhookPage:
    return subscriptions.page(api.team(), limit=max_results, token=next_token)


@app.get(
    "/v1/webhooks/<webhookId>",
    summary="Get a subscription",
    responses=api.responses((200, Webhook, "The subscription"), 404),
)
def get_webhook(webhook_id: WebhookId) -> Webhook:
    return subscriptions.get(api.team(), webhook_id)


@app.patch(
    "/v1/webhooks/<webhookId>",
    summary="Change a subscription's URL, event types, description, or re-enable it",
    responses=api.responses((200, Webhook, "The subscription"), 400, 404),
)
def update_webhook(webhook_id: WebhookId, change: Annotated[WebhookUpdate, Body()]) -> Webhook:
    return subscriptions.update(api.team(), webhook_id, change)


@app.delete(
    "/v1/webhooks/<webhookId>",
    summary="Delete a subscription",
    responses=api.responses((204, None, "Deleted"), 404),
)
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    subscriptions.delete(api.team(), webhook_id)
    return Response(204)


@app.post(
    "/v1/webhooks/<webhookId>/rotate-secret",
    summary="A new signing secret; for 24 hours deliveries are signed with both",
    responses=api.responses((200, RotatedSecret, "The new secret, shown only now"), 404),
)
def rotate_secret(webhook_id: WebhookId) -> RotatedSecret:
    return subscriptions.rotate(api.team(), webhook_id)


@app.post(
    "/v1/webhooks/<webhookId>/test",
    summary="Send a webhook.test event now and report what the receiver answered",
    responses=api.responses((200, TestResult, "The receiver's answer"), 404),
)
def test_webhook(webhook_id: WebhookId) -> TestResult:
    return subscriptions.send_test(api.team(), webhook_id)


@app.get(
    "/v1/webhooks/<webhookId>/deliveries",
    summary="The delivery log, newest first",
    responses=api.responses((200, DeliveryPage, "A page of deliveries"), 400, 404),
)
def list_deliveries(
    webhook_id: WebhookId, max_results: MaxResults = 50, next_token: NextToken = None
) -> DeliveryPage:
    return subscriptions.deliveries(api.team(), webhook_id, limit=max_results, token=next_token)


@app.post(
    "/v1/webhooks/<webhookId>/deliveries/<deliveryId>/redeliver",
    status_code=202,
    summary="Send a delivery again (same webhook-id, a fresh retry schedule)",
    responses=api.responses((202, Delivery, "The delivery, Pending"), 404),
)
def redeliver(
    webhook_id: WebhookId, delivery_id: Annotated[str, Path(alias="deliveryId", max_length=64)]
) -> Response[Delivery]:
    delivery = subscriptions.redeliver(api.team(), webhook_id, delivery_id)
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
