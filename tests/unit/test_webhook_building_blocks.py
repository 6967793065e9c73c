"""Webhook signing (the spec's test vector, verified by `standardwebhooks`), URL safety over a
table of addresses, and the retry schedule."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from transform_jobs.webhooks.retry_schedule import (
    STANDARD_SCHEDULE_S,
    next_attempt,
    parse_retry_after,
    parse_schedule,
)
from transform_jobs.webhooks.signing import new_secret, signed_headers
from transform_jobs.webhooks.url_safety import UnsafeUrl, check_url

# The sign test vector of the Standard Webhooks reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_example() -> None:
    headers = signed_headers(
        webhook_id=SPEC_ID,
        body=SPEC_BODY,
        sent_at=datetime.fromtimestamp(SPEC_TIMESTAMP, UTC),
        secrets_in_use=[SPEC_SECRET],
    )
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_receivers_verify_with_either_secret_during_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_") and old != new
    body = '{"type":"transform_job.completed","data":{"JobId":"x"}}'
    headers = signed_headers(
        webhook_id="msg_1", body=body, sent_at=datetime.now(UTC), secrets_in_use=[new, old]
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {
            "type": "transform_job.completed",
            "data": {"JobId": "x"},
        }
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("x", "y"), headers)


def test_a_delivery_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        signed_headers(webhook_id="m", body="{}", sent_at=datetime.now(UTC), secrets_in_use=[])


def resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, *_: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # CGNAT
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "0.1.2.3",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="not a public address"):
        check_url("https://hooks.example.com/in", resolve=resolver(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted_and_pinned(address: str) -> None:
    target = check_url("https://hooks.example.com:8443/in?x=1", resolve=resolver(address))
    assert target.addresses == (address,)
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/in?x=1")
    assert target.host_header == "hooks.example.com:8443"


def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.1"):
        check_url("https://h.example.com/", resolve=resolver("8.8.8.8", "10.0.0.1"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "https"),
        ("ftp://hooks.example.com/in", "https"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
        ("https:///in", "no host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks.example.com/" + "a" * 2048, "longer than"),
    ],
)
def test_malformed_or_unsafe_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url, resolve=resolver("8.8.8.8"))


def test_unresolvable_hosts_are_refused() -> None:
    def fail(*_: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror("nope")

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_url("https://nowhere.example/", resolve=fail)


def test_local_mode_allows_http_to_loopback_only() -> None:
    target = check_url(
        "http://127.0.0.1:8099/hook", allow_http_loopback=True, resolve=resolver("127.0.0.1")
    )
    assert (target.scheme, target.addresses, target.host_header) == (
        "http",
        ("127.0.0.1",),
        "127.0.0.1:8099",
    )
    with pytest.raises(UnsafeUrl, match="only for a receiver on loopback"):
        check_url("http://a.example/", allow_http_loopback=True, resolve=resolver("8.8.8.8"))
    with pytest.raises(UnsafeUrl, match="https"):
        check_url("http://127.0.0.1/", resolve=resolver("127.0.0.1"))


def test_the_schedule_follows_the_standard_with_jitter() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    rng = random.Random(7)  # noqa: S311 - a fixed seed for the jitter
    assert next_attempt(0, now) == now
    for made, wait in enumerate(STANDARD_SCHEDULE_S, start=1):
        due = next_attempt(made, now, rng=rng)
        assert due is not None
        assert wait * 0.9 <= (due - now).total_seconds() <= wait * 1.1
    assert next_attempt(len(STANDARD_SCHEDULE_S) + 1, now) is None


def test_retry_after_can_only_lengthen_the_wait() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    seeded = random.Random(1)  # noqa: S311 - a fixed seed for the jitter
    due = next_attempt(1, now, retry_after_s=120, rng=seeded)
    assert due == now + timedelta(seconds=120)
    short = next_attempt(2, now, retry_after_s=1, rng=seeded)
    assert short is not None and (short - now).total_seconds() >= 270


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Mon, 30 Nov 2026 00:01:00 GMT", 60.0),
        ("Sun, 29 Nov 2026 00:00:00 GMT", 0.0),
        ("999999999", 86400.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_header_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, datetime(2026, 11, 30, tzinfo=UTC)) == seconds


def test_schedule_setting() -> None:
    assert parse_schedule("1, 2,3") == (1.0, 2.0, 3.0)
    for bad in ("", "a,b", "1,-2"):
        with pytest.raises(ValueError, match=r"seconds|wait"):
            parse_schedule(bad)
