"""webhooks_api, notify, deliver_webhook and retry_deliveries driven with the events/ files,
against moto (table, KMS, queue) and, for deliveries, a real receiver on loopback."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import load_event
from tests.support.lambda_context import FakeContext
from tests.support.receiver import Receiver
from transform_jobs.adapters.dynamodb import webhook_repository
from transform_jobs.models.webhook import DeliveryStatus

HOOK_HOST = "hooks.example.com"


@pytest.fixture
def webhooks(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    queue = boto3.client("sqs").create_queue(QueueName="webhooks")["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_KEY_ID", key)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    real_resolve = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == HOOK_HOST:  # a public address; nothing is sent to it in these tests
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]
        return real_resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return {"queue": queue}


def api(
    method: str, path: str, body: Any = None, team: str = "team-a", resource: str | None = None
) -> tuple[int, Any]:
    from webhooks_api import app

    event = copy.deepcopy(load_event("api_create_webhook.json"))
    event.update(httpMethod=method, path=path, resource=resource or path)
    event["body"] = json.dumps(body) if body is not None else None
    parts = path.strip("/").split("/")
    if len(parts) >= 3:
        event["pathParameters"] = {"webhookId": parts[2]}
        event["resource"] = "/" + "/".join(["v1", "webhooks", "{webhookId}", *parts[3:]])
        if len(parts) >= 5:
            event["pathParameters"]["deliveryId"] = parts[4]
            event["resource"] = event["resource"].replace(parts[4], "{deliveryId}")
    event["requestContext"].update(httpMethod=method, resourcePath=event["resource"])
    event["requestContext"]["authorizer"] = {"teamId": team, "principalId": team}
    reply = app.handler(event, FakeContext())
    return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None


def test_create_shows_the_secret_once_and_stores_it_encrypted(webhooks: dict[str, str]) -> None:
    body = json.loads(load_event("api_create_webhook.json")["body"])
    status, created = api("POST", "/v1/webhooks", body)
    assert status == 201, created
    assert created["Secret"].startswith("whsec_")
    assert created["EventTypes"] == ["transform_job.completed", "transform_job.failed"]
    stored = webhook_repository.get_webhook("team-a", created["WebhookId"])
    assert stored is not None and created["Secret"] not in stored.SecretCiphertext
    status, shown = api("GET", f"/v1/webhooks/{created['WebhookId']}")
    assert status == 200 and "Secret" not in shown
    status, listed = api("GET", "/v1/webhooks")
    assert [w["WebhookId"] for w in listed["Webhooks"]] == [created["WebhookId"]]
    assert api("GET", f"/v1/webhooks/{created['WebhookId']}", team="team-b")[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"EventTypes": ["transform_job.completed"]}, "Url"),
        ({"Url": f"https://{HOOK_HOST}/x", "EventTypes": ["job.done"]}, "EventTypes[0]"),
        ({"Url": f"https://{HOOK_HOST}/x", "EventTypes": []}, "EventTypes"),
        ({"Url": "https://127.0.0.1/x", "EventTypes": ["transform_job.failed"]}, "Url"),
        ({"Url": f"http://{HOOK_HOST}/x", "EventTypes": ["transform_job.failed"]}, "Url"),
        (
            {
                "Url": f"https://{HOOK_HOST}/x",
                "EventTypes": ["transform_job.failed", "transform_job.failed"],
            },
            "EventTypes",
        ),
    ],
)
def test_bad_subscriptions_name_the_field(
    webhooks: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, problem = api("POST", "/v1/webhooks", body)
    assert status == 422, problem
    assert [e["field"] for e in problem["errors"]] == [field]
    assert webhook_repository.team_webhooks("team-a") == []


def test_patch_needs_a_field_and_reenabling_clears_the_reason(webhooks: dict[str, str]) -> None:
    body = json.loads(load_event("api_create_webhook.json")["body"])
    webhook_id = api("POST", "/v1/webhooks", body)[1]["WebhookId"]
    assert api("PATCH", f"/v1/webhooks/{webhook_id}", {})[0] == 422
    status, disabled = api("PATCH", f"/v1/webhooks/{webhook_id}", {"Enabled": False})
    assert status == 200 and disabled["Enabled"] is False and disabled["DisabledReason"]
    status, enabled = api("PATCH", f"/v1/webhooks/{webhook_id}", {"Enabled": True})
    assert enabled["Enabled"] is True and enabled["DisabledReason"] is None


def test_notify_makes_deliveries_from_the_history_event(webhooks: dict[str, str]) -> None:
    from notify import app

    body = json.loads(load_event("api_create_webhook.json")["body"])
    webhook_id = api("POST", "/v1/webhooks", body)[1]["WebhookId"]
    event = load_event("dynamodb_history_insert.json")
    assert app.handler(event, FakeContext()) == {"batchItemFailures": []}
    deliveries, _ = webhook_repository.list_deliveries(webhook_id, limit=10, token=None)
    assert [(d.EventType, d.JobId) for d in deliveries] == [
        ("transform_job.completed", "01jbz3k9x2v5q8r7t6w4y3n2m1")
    ]
    assert json.loads(deliveries[0].Body)["data"]["Status"] == "Completed"
    # A record that cannot be read fails alone (partial batch failure), not the batch.
    broken = copy.deepcopy(event)
    broken["Records"][0]["dynamodb"]["NewImage"]["Snapshot"] = {"S": "not json"}
    broken["Records"][0]["dynamodb"]["SequenceNumber"] = "222"
    both = {"Records": [broken["Records"][0], event["Records"][0]]}
    assert app.handler(both, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "222"}]}


def test_deliver_posts_the_queued_delivery(
    webhooks: dict[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deliver_webhook import app as deliver_app
    from notify import app as notify_app

    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    status, created = api(
        "POST", "/v1/webhooks", {"Url": receiver.url, "EventTypes": ["transform_job.completed"]}
    )
    assert status == 201, created
    notify_app.handler(load_event("dynamodb_history_insert.json"), FakeContext())
    (delivery,), _ = webhook_repository.list_deliveries(created["WebhookId"], limit=10, token=None)
    event = copy.deepcopy(load_event("sqs_deliver_webhook.json"))
    event["Records"][0]["body"] = json.dumps(
        {"WebhookId": created["WebhookId"], "DeliveryId": delivery.DeliveryId, "AttemptsMade": 0}
    )
    assert deliver_app.handler(event, FakeContext()) == {"batchItemFailures": []}
    got = receiver.received[0]
    assert Webhook(created["Secret"]).verify(got["body"], got["headers"])["type"] == (
        "transform_job.completed"
    )
    done = webhook_repository.get_delivery(created["WebhookId"], delivery.DeliveryId)
    assert done is not None and done.Status is DeliveryStatus.SUCCEEDED


def test_retry_deliveries_runs_on_the_schedule_event(webhooks: dict[str, str]) -> None:
    from retry_deliveries import app

    assert app.handler(load_event("schedule.json"), FakeContext()) == {"queued": 0}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Url": None}, "Url"),
        ({"EventTypes": None}, "EventTypes"),
        ({"Enabled": None}, "Enabled"),
        ({"Url": "", "Enabled": True, "EventTypes": None}, "EventTypes"),
        ({"Enabled": "yes"}, "Enabled"),
        ({"Url": "ftp://hooks.example.com/in"}, "Url"),
    ],
)
def test_patch_with_a_null_or_mistyped_field_is_422_naming_it(
    webhooks: dict[str, str], change: dict[str, Any], field: str
) -> None:
    _, created = api(
        "POST", "/v1/webhooks", json.loads(load_event("api_create_webhook.json")["body"])
    )

    status, problem = api("PATCH", f"/v1/webhooks/{created['WebhookId']}", change)

    assert status == 422, problem
    assert field in {error["field"] for error in problem["errors"]}


def test_patch_with_a_null_description_clears_it(webhooks: dict[str, str]) -> None:
    body = {**json.loads(load_event("api_create_webhook.json")["body"]), "Description": "x"}
    _, created = api("POST", "/v1/webhooks", body)

    status, changed = api("PATCH", f"/v1/webhooks/{created['WebhookId']}", {"Description": None})

    assert status == 200
    assert changed["Description"] is None


def test_delete_answers_204_with_no_body_and_no_content_type(webhooks: dict[str, str]) -> None:
    from webhooks_api import app

    _, created = api(
        "POST", "/v1/webhooks", json.loads(load_event("api_create_webhook.json")["body"])
    )
    event = copy.deepcopy(load_event("api_create_webhook.json"))
    path = f"/v1/webhooks/{created['WebhookId']}"
    event.update(httpMethod="DELETE", path=path, resource="/v1/webhooks/{webhookId}", body=None)
    event["pathParameters"] = {"webhookId": created["WebhookId"]}
    event["requestContext"]["authorizer"] = {"teamId": "team-a", "principalId": "team-a"}

    reply = app.handler(event, FakeContext())

    assert reply["statusCode"] == 204
    assert not reply.get("body")
    headers = {**(reply.get("headers") or {}), **(reply.get("multiValueHeaders") or {})}
    assert "Content-Type" not in headers


def test_a_method_a_webhook_path_does_not_take_is_405_with_allow(webhooks: dict[str, str]) -> None:
    status, problem = api("PUT", "/v1/webhooks/01jbz3k9x2v5q8r7t6w4y3n2m1")

    assert status == 405
    assert problem["detail"] == "PUT is not a method of this path; use DELETE or GET or PATCH."
