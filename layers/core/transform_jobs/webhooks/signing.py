"""Standard Webhooks signatures, made with the `standardwebhooks` package receivers verify with."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32  # the standard asks for at least 24 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    *, webhook_id: str, body: str, sent_at: datetime, secrets_in_use: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt: one `v1,` signature per secret in use
    (two while a rotated secret is still honoured), over exactly `body` as sent (UTF-8)."""
    if not secrets_in_use:
        raise ValueError("a delivery needs at least one signing secret")
    # Imported here: of the functions that import this module, only a delivery signs anything.
    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    signatures = [
        Webhook(secret).sign(msg_id=webhook_id, timestamp=sent_at, data=body)
        for secret in secrets_in_use
    ]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
