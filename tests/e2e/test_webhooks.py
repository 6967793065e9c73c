"""Webhooks through the whole local stack: a real receiver on loopback gets signed events for a
real job, retries keep the webhook-id, the log, redelivery, rotation and tenant isolation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import StackProcess
from tests.e2e.support import fresh_prefix, other_team_key, request_for, upload, wait_for
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e


def subscribe(stack: StackProcess, url: str, *types: str) -> dict[str, Any]:
    reply = stack.api().call(
        "POST",
        "/v1/webhooks",
        {"Url": url, "EventTypes": list(types or ["transform_job.completed"])},
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


def completed_job(stack: StackProcess, iris_csv: bytes) -> str:
    api, prefix = stack.api(), fresh_prefix()
    upload(stack, f"{prefix}in/iris.csv", iris_csv)
    job_id = str(api.submit(request_for(stack.info["bucket"], prefix)).body["JobId"])
    assert api.wait(job_id)["Status"] == "Completed"
    return job_id


def events_for(receiver: Receiver, job_id: str) -> list[dict[str, Any]]:
    return [r for r in receiver.received if json.loads(r["body"])["data"].get("JobId") == job_id]


def test_a_receiver_gets_the_completed_event_signed(
    stack: StackProcess, iris_csv: bytes, receiver: Receiver
) -> None:
    webhook = subscribe(stack, receiver.url)
    assert webhook["Secret"].startswith("whsec_")
    shown = stack.api().call("GET", f"/v1/webhooks/{webhook['WebhookId']}").body
    assert "Secret" not in shown and "SecretCiphertext" not in shown

    job_id = completed_job(stack, iris_csv)
    got = wait_for(lambda: events_for(receiver, job_id), 30, "the completed event arrives")
    assert len(got) == 1
    event = Webhook(webhook["Secret"]).verify(got[0]["body"], got[0]["headers"])
    assert event["type"] == "transform_job.completed"
    assert event["data"]["Status"] == "Completed"
    assert event["data"]["JobId"] == job_id

    log = stack.api().call("GET", f"/v1/webhooks/{webhook['WebhookId']}/deliveries").body
    (delivery,) = [d for d in log["Deliveries"] if d["JobId"] == job_id]
    assert delivery["Status"] == "Succeeded"
    assert delivery["DeliveryId"] == got[0]["headers"]["webhook-id"]
    assert [a["StatusCode"] for a in delivery["Attempts"]] == [204]


def test_a_failing_receiver_gets_the_event_once_it_recovers_with_the_same_id(
    stack: StackProcess, iris_csv: bytes, receiver: Receiver
) -> None:
    receiver.plan += [(500, {})] * 5
    webhook = subscribe(stack, receiver.url)
    job_id = completed_job(stack, iris_csv)
    wait_for(lambda: len(events_for(receiver, job_id)) >= 6, 60, "five failures, then success")
    attempts = events_for(receiver, job_id)
    assert len({a["headers"]["webhook-id"] for a in attempts}) == 1
    assert len({a["headers"]["webhook-timestamp"] for a in attempts}) >= 2  # fresh per attempt

    def succeeded() -> dict[str, Any] | None:
        log = stack.api().call("GET", f"/v1/webhooks/{webhook['WebhookId']}/deliveries").body
        done = [d for d in log["Deliveries"] if d["Status"] == "Succeeded"]
        return done[0] if done else None

    delivery = wait_for(succeeded, 15, "the log shows the success")
    assert [a["StatusCode"] for a in delivery["Attempts"]] == [500] * 5 + [204]

    redelivered = stack.api().call(
        "POST",
        f"/v1/webhooks/{webhook['WebhookId']}/deliveries/{delivery['DeliveryId']}/redeliver",
    )
    assert redelivered.status == 202 and redelivered.body["Status"] == "Pending"
    wait_for(lambda: len(events_for(receiver, job_id)) >= 7, 30, "the redelivery arrives")
    assert events_for(receiver, job_id)[-1]["headers"]["webhook-id"] == delivery["DeliveryId"]


def test_rotation_signs_with_both_secrets_and_test_reports_the_answer(
    stack: StackProcess, receiver: Receiver
) -> None:
    webhook = subscribe(stack, receiver.url)
    rotated = stack.api().call("POST", f"/v1/webhooks/{webhook['WebhookId']}/rotate-secret").body
    assert rotated["Secret"] != webhook["Secret"]
    result = stack.api().call("POST", f"/v1/webhooks/{webhook['WebhookId']}/test").body
    assert result["Delivered"] is True and result["StatusCode"] == 204
    sent = receiver.received[-1]
    assert json.loads(sent["body"])["type"] == "webhook.test"
    for secret in (webhook["Secret"], rotated["Secret"]):
        Webhook(secret).verify(sent["body"], sent["headers"])
    receiver.plan.append((503, {}))
    failed = stack.api().call("POST", f"/v1/webhooks/{webhook['WebhookId']}/test").body
    assert failed["Delivered"] is False and failed["StatusCode"] == 503


def test_unsafe_urls_are_refused(stack: StackProcess) -> None:
    for url in ("https://169.254.169.254/latest/meta-data/", "http://example.com/hook"):
        reply = stack.api().call(
            "POST", "/v1/webhooks", {"Url": url, "EventTypes": ["transform_job.completed"]}
        )
        assert reply.status == 422, reply.body
        assert reply.body["errors"][0]["field"] == "Url"


def test_another_team_sees_nothing(stack: StackProcess, receiver: Receiver) -> None:
    webhook = subscribe(stack, receiver.url)
    other = stack.api(other_team_key(stack))
    base = f"/v1/webhooks/{webhook['WebhookId']}"
    assert other.call("GET", base).status == 404
    assert other.call("GET", f"{base}/deliveries").status == 404
    assert other.call("POST", f"{base}/test").status == 404
    assert other.call("DELETE", base).status == 404
    assert webhook["WebhookId"] not in [
        w["WebhookId"] for w in other.call("GET", "/v1/webhooks").body["Webhooks"]
    ]
    assert stack.api().call("DELETE", base).status == 204
    assert stack.api().call("GET", base).status == 404
