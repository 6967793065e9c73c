"""S3: listing inputs and outputs, reading the first bytes of objects, presigning outputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from transform_jobs.s3_location import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    last_modified: datetime | None = None


class ObjectMissing(Exception):
    """The object or its bucket does not exist, or the service may not read it."""


@cache
def _client() -> S3Client:
    # Virtual-host addressing breaks on local endpoints; path style works everywhere.
    return boto3.client(
        "s3", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4")
    )


def list_objects(
    location: S3Location, *, start_after: str | None = None, limit: int | None = None
) -> Iterator[S3Object]:
    """Objects whose keys start with the location's key (a raw prefix, as SageMaker lists)."""
    kwargs: dict[str, Any] = {"Bucket": location.bucket, "Prefix": location.key}
    if start_after:
        kwargs["StartAfter"] = start_after
    if limit:
        kwargs["MaxKeys"] = min(limit, 1000)
    try:
        for page in _client().get_paginator("list_objects_v2").paginate(**kwargs):
            for entry in page.get("Contents", []):
                yield S3Object(location.bucket, entry["Key"], entry["Size"], entry["LastModified"])
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchBucket", "AccessDenied", "403", "404"):
            raise ObjectMissing(
                f"cannot list {location.uri}: {error.response['Error']['Code']}"
            ) from None
        raise


def read_bytes(location: S3Location, *, limit: int) -> bytes:
    """The first `limit` bytes of an object (a ranged GET: never the whole object)."""
    try:
        reply = _client().get_object(
            Bucket=location.bucket, Key=location.key, Range=f"bytes=0-{limit - 1}"
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in (
            "NoSuchKey",
            "NoSuchBucket",
            "AccessDenied",
            "403",
            "404",
        ):
            raise ObjectMissing(
                f"cannot read {location.uri}: {error.response['Error']['Code']}"
            ) from None
        if error.response["Error"]["Code"] == "InvalidRange":  # an empty object
            return b""
        raise
    body: bytes = reply["Body"].read(limit)
    return body


def put_bytes(location: S3Location, body: bytes, *, content_type: str) -> None:
    _client().put_object(
        Bucket=location.bucket, Key=location.key, Body=body, ContentType=content_type
    )


def presign_get(location: S3Location, *, expires_in: int) -> str:
    return _client().generate_presigned_url(
        "get_object", Params={"Bucket": location.bucket, "Key": location.key}, ExpiresIn=expires_in
    )
