"""S3 as the engine uses it: list inputs in key order, stream objects, write outputs in parts.

The one module of the engine that touches boto3. Endpoints come from the standard variables
(AWS_ENDPOINT_URL_S3 and friends), so the same code reads AWS, moto or a local S3 server.

The client is botocore's, made on first use: `boto3.client()` makes the same one after loading
boto3's resource layer and s3transfer (a tenth of a second), which only `download()` needs, and
a job starts its model processes before its first S3 call, so they boot while botocore loads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

READ_CHUNK = 1024 * 1024
# S3's minimum part: a 6 MB model answer then goes up as its own part, without a join copy.
PART_SIZE = 5 * 1024 * 1024
PARTS_IN_FLIGHT = 2  # uploads overlap the next batches' work; memory grows by two parts at most


class StoreError(Exception):
    """S3 refused or failed; the message names the object."""


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int


@cache
def client() -> S3Client:
    """Region, credentials and endpoint from the environment, as boto3's default session."""
    from botocore.config import Config  # noqa: PLC0415 (first use, see the module docstring)
    from botocore.session import Session  # noqa: PLC0415

    config = Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=32,
    )
    return cast("S3Client", Session().create_client("s3", config=config))


def list_prefix(bucket: str, prefix: str) -> Iterator[StoredObject]:
    """Every object whose key starts with `prefix`, in key order (S3 lists in UTF-8 order)."""
    try:
        for page in (
            client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        ):
            for entry in page.get("Contents", []):
                if entry["Key"].endswith("/") and entry["Size"] == 0:
                    continue  # a "folder" marker, not data
                yield StoredObject(bucket, entry["Key"], entry["Size"])
    except (ClientError, BotoCoreError) as error:
        raise StoreError(f"cannot list s3://{bucket}/{prefix}: {error}") from error


def read_all(bucket: str, key: str, *, limit: int) -> bytes:
    try:
        body: bytes = client().get_object(Bucket=bucket, Key=key)["Body"].read(limit + 1)
    except (ClientError, BotoCoreError) as error:
        raise StoreError(f"cannot read s3://{bucket}/{key}: {error}") from error
    if len(body) > limit:
        raise StoreError(f"s3://{bucket}/{key} is larger than {limit} bytes")
    return body


def iter_chunks(bucket: str, key: str, *, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
    """The object's bytes in chunks, streamed: never the whole object in memory."""
    try:
        body = client().get_object(Bucket=bucket, Key=key)["Body"]
        yield from body.iter_chunks(chunk_size)
    except (ClientError, BotoCoreError) as error:
        raise StoreError(f"cannot read s3://{bucket}/{key}: {error}") from error


def download(bucket: str, key: str, path: str) -> None:
    """A whole object to a file, in parallel ranged GETs (boto3's transfer manager)."""
    from boto3.s3.transfer import S3Transfer  # noqa: PLC0415 (only a model download needs it)

    try:
        with S3Transfer(client()) as transfer:
            transfer.download_file(bucket, key, path)
    except (ClientError, BotoCoreError) as error:
        raise StoreError(f"cannot download s3://{bucket}/{key}: {error}") from error


class OutputWriter:
    """Writes one output object: a single PUT if it stays small, else a multipart upload.

    Nothing is visible under the key until `complete()`; `abort()` leaves no trace, so an
    object whose records did not all succeed gets no output, as in SageMaker.
    """

    def __init__(self, bucket: str, key: str, *, part_size: int = PART_SIZE) -> None:
        self.bucket, self.key, self.part_size = bucket, key, part_size
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._upload_id: str | None = None
        self._parts: list[Future[Any]] = []
        self._uploads: ThreadPoolExecutor | None = None
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        self.bytes_written += len(data)
        if self._pending_size >= self.part_size:
            self._flush_part()

    def _flush_part(self) -> None:
        body = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        try:
            if self._upload_id is None:
                reply = client().create_multipart_upload(Bucket=self.bucket, Key=self.key)
                self._upload_id = reply["UploadId"]
                self._uploads = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="part")
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"cannot write s3://{self.bucket}/{self.key}: {error}") from error
        assert self._uploads is not None  # noqa: S101 (set with the upload id)
        in_flight = [part for part in self._parts if not part.done()]
        if len(in_flight) >= PARTS_IN_FLIGHT:
            in_flight[0].result()  # bounded: wait for the oldest before queueing another
        number = len(self._parts) + 1
        self._parts.append(self._uploads.submit(self._upload_part, number, body))

    def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        try:
            etag = client().upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=str(self._upload_id),
                PartNumber=number,
                Body=body,
            )["ETag"]
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"cannot write s3://{self.bucket}/{self.key}: {error}") from error
        return {"PartNumber": number, "ETag": etag}

    def _finish_uploads(self) -> list[dict[str, Any]]:
        try:
            return [part.result() for part in self._parts]
        finally:
            if self._uploads is not None:
                self._uploads.shutdown(wait=True, cancel_futures=True)

    def complete(self) -> None:
        try:
            if self._upload_id is None:
                client().put_object(Bucket=self.bucket, Key=self.key, Body=b"".join(self._pending))
                return
            if self._pending:
                self._flush_part()
            parts = self._finish_uploads()
            client().complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"cannot write s3://{self.bucket}/{self.key}: {error}") from error

    def abort(self) -> None:
        self._pending = []
        with contextlib.suppress(StoreError):
            self._finish_uploads()
        if self._upload_id is not None:
            # An abandoned upload is invisible anyway; S3 lifecycle rules clean it up.
            with contextlib.suppress(ClientError, BotoCoreError):
                client().abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
                )
