"""The webhook POST against a real HTTP receiver on loopback (local mode's http allowance)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Receiver
from transform_jobs.webhooks.sender import post
from transform_jobs.webhooks.signing import new_secret, signed_headers
from transform_jobs.webhooks.url_safety import check_url


def send(url: str, body: str, secret: str) -> Any:
    now = datetime.now(UTC)
    headers = signed_headers(webhook_id="msg_1", body=body, sent_at=now, secrets_in_use=[secret])
    return post(check_url(url, allow_http_loopback=True), body, headers, now)


def test_a_2xx_is_success_and_the_receiver_can_verify_it(receiver: Receiver) -> None:
    secret, body = new_secret(), '{"type":"webhook.test","data":{"text":"héllo"}}'
    outcome = send(receiver.url, body, secret)
    assert outcome.succeeded and outcome.status_code == 204 and outcome.error is None
    got = receiver.received[0]
    assert got["path"] == "/hooks/in?team=a"
    assert got["headers"]["Content-Type"] == "application/json"
    assert int(got["headers"]["Content-Length"]) == len(body.encode())
    assert "Transfer-Encoding" not in got["headers"]
    assert got["headers"]["Host"] == receiver.url.split("/")[2]
    assert Webhook(secret).verify(got["body"], got["headers"])["data"]["text"] == "héllo"


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (301, {"Location": "https://elsewhere.example/"}, "redirects are not followed"),
        (410, {}, "HTTP 410"),
        (500, {}, "HTTP 500"),
    ],
)
def test_anything_but_2xx_is_a_failure(
    receiver: Receiver, status: int, headers: dict[str, str], expected: str
) -> None:
    receiver.plan.append((status, headers))
    outcome = send(receiver.url, "{}", new_secret())
    assert not outcome.succeeded
    assert outcome.status_code == status
    assert expected in (outcome.error or "")
    assert outcome.gone is (status == 410)
    assert len(receiver.received) == 1  # no redirect was followed, nothing retried here


def test_retry_after_is_reported(receiver: Receiver) -> None:
    receiver.plan.append((429, {"Retry-After": "7"}))
    outcome = send(receiver.url, "{}", new_secret())
    assert (outcome.status_code, outcome.retry_after_s) == (429, 7.0)


def test_a_receiver_that_is_down_is_an_error_not_an_exception() -> None:
    with Receiver() as gone:
        url = gone.url
    outcome = send(url, "{}", new_secret())
    assert outcome.status_code is None
    assert "could not connect" in (outcome.error or "")
