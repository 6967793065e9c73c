"""Verifying the webhooks the service sends (Standard Webhooks signatures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify_webhook"]


def verify_webhook(
    secret: str | list[str], body: bytes | str, headers: Mapping[str, str]
) -> dict[str, Any]:
    """The event (`type`, `timestamp`, `data`) if the body is signed with the secret (or, while
    a rotation overlaps, any of the secrets) and the timestamp is within five minutes;
    raises WebhookVerificationError otherwise. Dedupe on the `webhook-id` header: it stays the
    same on every retry of an event."""
    try:
        payload = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise WebhookVerificationError("the body is not UTF-8") from None
    lowered = {name.lower(): value for name, value in headers.items()}
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("no secret to verify with")
    failure: WebhookVerificationError | None = None
    for candidate in secrets:
        try:
            event: dict[str, Any] = Webhook(candidate).verify(payload, lowered)
        except WebhookVerificationError as error:
            failure = error
            continue
        except (ValueError, TypeError) as error:  # a malformed secret or header
            failure = WebhookVerificationError(str(error) or type(error).__name__)
            continue
        return event
    assert failure is not None  # noqa: S101 (at least one secret was tried)
    raise failure
