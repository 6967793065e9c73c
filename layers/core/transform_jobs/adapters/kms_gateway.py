"""KMS: webhook signing secrets are stored encrypted under the template's key, bound to their
subscription by the encryption context (a ciphertext moved to another subscription will not
decrypt)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, cast

from transform_jobs.adapters import aws_clients
from transform_jobs.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient


def _client() -> KMSClient:
    return cast("KMSClient", aws_clients.client("kms"))


def encrypt(plaintext: str, context: dict[str, str]) -> str:
    reply = _client().encrypt(
        KeyId=get_settings().webhook_key_id,
        Plaintext=plaintext.encode(),
        EncryptionContext=context,
    )
    return base64.b64encode(reply["CiphertextBlob"]).decode()


def decrypt(ciphertext: str, context: dict[str, str]) -> str:
    reply = _client().decrypt(
        CiphertextBlob=base64.b64decode(ciphertext),
        EncryptionContext=context,
        KeyId=get_settings().webhook_key_id,
    )
    return reply["Plaintext"].decode()
