"""S3: listing inputs and outputs, reading objects (whole, their first bytes, or streamed from an
offset), writing them (at once, as multipart uploads, or as a copy of another object's byte
range made inside S3), presigning outputs."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import ClientError

from transform_jobs import clock
from transform_jobs.adapters import aws_clients
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

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


# The session the client signs with: its credentials bound how long a presigned link lasts.
_session = aws_clients.session


def _client() -> S3Client:
    # Virtual-hosted addressing in AWS, the form S3 documents as current (path style is
    # deprecated), on the region's own host (botocore still uses the path for bucket names with
    # dots, which no TLS certificate covers); path style only for a local stand-in behind an
    # endpoint override, whose bucket names are no host names.
    style: Literal["path", "virtual"] = "path" if get_settings().s3_endpoint_override else "virtual"
    return cast(
        "S3Client",
        aws_clients.client("s3", s3={"addressing_style": style}, signature_version="s3v4"),
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


@dataclass(frozen=True)
class PresignedUrl:
    url: str
    expires_at: datetime


def presign_get(location: S3Location, *, expires_in: int) -> PresignedUrl:
    """A GET link valid for `expires_in` seconds, or less: a link signed with temporary
    credentials (a role's session) stops working when they expire, so it is signed for, and
    reports, whichever comes first."""
    signed_at = clock.now()
    expires_at = signed_at + timedelta(seconds=expires_in)
    credentials_end = _credentials_expiry()
    if credentials_end is not None and credentials_end < expires_at:
        expires_at = credentials_end
        expires_in = max(1, int((credentials_end - signed_at).total_seconds()))
    url = _client().generate_presigned_url(
        "get_object", Params={"Bucket": location.bucket, "Key": location.key}, ExpiresIn=expires_in
    )
    return PresignedUrl(url, expires_at)


def _credentials_expiry() -> datetime | None:
    """When the signing credentials expire; None for credentials the SDK knows no end of
    (long-term keys, or session credentials given without one)."""
    credentials = _session().get_credentials()
    if credentials is None:
        return None
    credentials.get_frozen_credentials()  # refreshes credentials that are about to expire
    # botocore keeps the expiry of refreshable credentials only in this attribute.
    expiry = getattr(credentials, "_expiry_time", None)
    return expiry if isinstance(expiry, datetime) else None


STREAM_CHUNK_BYTES = 1024 * 1024


def stream(
    location: S3Location, *, offset: int = 0, end: int | None = None, read_ahead: int = 0
) -> Generator[bytes, None, None]:
    """The object's bytes from `offset` to `end` (its end when None), in chunks (never the
    whole object at once). With `read_ahead`, a thread reads up to that many chunks ahead, so
    the transfer (whose socket reads release the GIL) overlaps the caller's work on them."""
    chunks = _stream(location, offset, end)
    return _read_ahead(chunks, read_ahead) if read_ahead else chunks


def _stream(location: S3Location, offset: int, end: int | None) -> Generator[bytes, None, None]:
    kwargs: dict[str, Any] = {"Bucket": location.bucket, "Key": location.key}
    if offset or end is not None:
        kwargs["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
    try:
        reply = _client().get_object(**kwargs)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "InvalidRange":  # the offset is the object's end: nothing left
            return
        if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "403", "404"):
            raise ObjectMissing(f"cannot read {location.uri}: {code}") from None
        raise
    body = reply["Body"]
    try:
        yield from body.iter_chunks(STREAM_CHUNK_BYTES)
    finally:
        body.close()


_DONE = object()


def _read_ahead(chunks: Generator[bytes, None, None], depth: int) -> Generator[bytes, None, None]:
    ahead: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def pump() -> None:
        item: object = _DONE
        try:
            for chunk in chunks:
                while not stop.is_set():
                    with contextlib.suppress(queue.Full):
                        ahead.put(chunk, timeout=0.1)
                        break
                if stop.is_set():
                    return
        except BaseException as error:  # handed to the reader, raised there
            item = error
        finally:
            chunks.close()
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ahead.put(item, timeout=0.1)
                return

    reader = threading.Thread(target=pump, name="s3-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


def read_all(location: S3Location) -> bytes:
    try:
        reply = _client().get_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "403", "404"):
            raise ObjectMissing(f"cannot read {location.uri}: {code}") from None
        raise
    body: bytes = reply["Body"].read()
    return body


class UploadGone(Exception):
    """The multipart upload no longer exists (completed or aborted by another writer)."""


def start_upload(location: S3Location, *, content_type: str) -> str:
    reply = _client().create_multipart_upload(
        Bucket=location.bucket, Key=location.key, ContentType=content_type
    )
    return str(reply["UploadId"])


def upload_part(location: S3Location, upload_id: str, number: int, body: bytes) -> str:
    try:
        reply = _client().upload_part(
            Bucket=location.bucket,
            Key=location.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchUpload":
            raise UploadGone(f"upload {upload_id} of {location.uri} is gone") from None
        raise
    return str(reply["ETag"])


def complete_upload(location: S3Location, upload_id: str, etags: Sequence[str]) -> None:
    parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, 1)]
    try:
        _client().complete_multipart_upload(
            Bucket=location.bucket,
            Key=location.key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchUpload":
            raise UploadGone(f"upload {upload_id} of {location.uri} is gone") from None
        raise


def copy_range(
    source: S3Location, start: int, end: int, target: S3Location, *, content_type: str
) -> None:
    """Makes `target` the bytes [start, end) of `source`, copied inside S3: no byte crosses
    the network. A multipart upload of one part (UploadPartCopy takes a byte range of up to 5
    GiB, and the last part may be of any size); aborted if anything fails."""
    upload_id = start_upload(target, content_type=content_type)
    try:
        reply = _client().upload_part_copy(
            Bucket=target.bucket,
            Key=target.key,
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": source.bucket, "Key": source.key},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        complete_upload(target, upload_id, [str(reply["CopyPartResult"]["ETag"])])
    except BaseException as error:
        with contextlib.suppress(Exception):
            abort_upload(target, upload_id)
        if isinstance(error, ClientError):
            code = error.response["Error"]["Code"]
            if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "403", "404"):
                raise ObjectMissing(f"cannot read {source.uri}: {code}") from None
        raise


def abort_upload(location: S3Location, upload_id: str) -> None:
    try:
        _client().abort_multipart_upload(
            Bucket=location.bucket, Key=location.key, UploadId=upload_id
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchUpload":
            raise


def delete_prefix(location: S3Location) -> int:
    """Deletes every object under the key prefix; returns how many."""
    deleted = 0
    batch: list[str] = []
    for entry in list_objects(location):
        batch.append(entry.key)
        if len(batch) == 1000:
            deleted += _delete(location.bucket, batch)
            batch = []
    if batch:
        deleted += _delete(location.bucket, batch)
    return deleted


def _delete(bucket: str, keys: list[str]) -> int:
    _client().delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )
    return len(keys)
