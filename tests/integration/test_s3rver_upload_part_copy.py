"""UploadPartCopy on the local S3 stand-in (s3rver plus local/stack/s3rver.js), against what S3
documents: a part copied from a byte range holds exactly what a ranged GET of that range gives,
its ETag is the MD5 of those bytes, and bad ranges, keys and uploads are refused with S3's codes.
An upload of several parts completes as S3 completes one: the parts in order, and S3's ETag."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack import backends
from local.stack.backends import start_s3

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "copy-parts"
SOURCE = "in/some data.csv"  # a space: the copy source header is URL-encoded
BODY = bytes(range(256)) * 400 + b"tail"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (backends.NODE_MODULES / "s3rver").exists():
        if shutil.which("npm") is None:
            pytest.skip("node_modules is missing and npm is not on PATH")
        subprocess.run(["make", "node_modules/.installed"], cwd=ROOT, check=True)  # noqa: S607
    backend = start_s3(tmp_path_factory.mktemp("s3") / "data")
    try:
        client = backend.client("s3", s3={"addressing_style": "path"})
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key=SOURCE, Body=BODY)
        yield client
    finally:
        backend.stop()


def copy_part(s3: Any, upload_id: str, key: str, **extra: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "Bucket": BUCKET,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": 1,
        "CopySource": {"Bucket": BUCKET, "Key": SOURCE},
    }
    reply: dict[str, Any] = s3.upload_part_copy(**{**arguments, **extra})
    return reply


@pytest.mark.parametrize(
    ("first", "last"), [(3, 3), (0, len(BODY) - 1), (7, 70_007), (len(BODY) - 4, len(BODY) - 1)]
)
def test_a_copied_range_is_what_a_ranged_get_gives(s3: Any, first: int, last: int) -> None:
    key = f"out/{first}-{last}.csv"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    reply = copy_part(s3, upload_id, key, CopySourceRange=f"bytes={first}-{last}")
    expected = s3.get_object(Bucket=BUCKET, Key=SOURCE, Range=f"bytes={first}-{last}")["Body"]
    expected = expected.read()
    assert expected == BODY[first : last + 1]
    result = reply["CopyPartResult"]
    assert result["ETag"] == f'"{hashlib.md5(expected).hexdigest()}"'  # noqa: S324 (S3's ETag)
    assert result["LastModified"].year >= 2024
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": result["ETag"]}]},
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == expected


def test_without_a_range_the_whole_object_is_copied_beside_uploaded_parts(s3: Any) -> None:
    key = "out/whole.csv"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    first = s3.upload_part(
        Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * (5 * 1024 * 1024)
    )
    second = copy_part(s3, upload_id, key, PartNumber=2)["CopyPartResult"]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"x" * (5 * 1024 * 1024) + BODY


def test_an_upload_of_several_parts_is_their_bytes_in_order_with_s3s_multipart_etag(
    s3: Any,
) -> None:
    key = "out/three parts.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"an object the upload replaces")
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    bodies = [b"a" * (5 * 1024 * 1024), b"b" * (5 * 1024 * 1024 + 7), b"last"]
    # Uploaded last part first: the object follows the part numbers, not the order of arrival.
    etags = {
        number: s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        for number, body in reversed(list(enumerate(bodies, 1)))
    }
    completed = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]},
    )
    digests = b"".join(hashlib.md5(body).digest() for body in bodies)  # noqa: S324 (S3's ETag)
    etag = f'"{hashlib.md5(digests).hexdigest()}-3"'  # noqa: S324
    assert completed["ETag"] == etag
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b"".join(bodies)
    assert got["ETag"] == etag
    assert got["ContentLength"] == sum(map(len, bodies))
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="out/three")["Contents"]
    assert [(entry["Key"], entry["Size"]) for entry in listed] == [(key, sum(map(len, bodies)))]


@pytest.mark.parametrize(
    ("extra", "code", "status"),
    [
        ({"CopySourceRange": f"bytes=0-{len(BODY)}"}, "InvalidArgument", 400),  # past the end
        ({"CopySourceRange": "bytes=10-9"}, "InvalidArgument", 400),
        ({"CopySourceRange": "bytes=0-"}, "InvalidArgument", 400),  # not first-last
        ({"CopySourceRange": "0-10"}, "InvalidArgument", 400),
        ({"CopySource": {"Bucket": BUCKET, "Key": "in/missing.csv"}}, "NoSuchKey", 404),
        ({"CopySource": {"Bucket": "no-such-bucket", "Key": SOURCE}}, "NoSuchBucket", 404),
        ({"UploadId": "no-such-upload"}, "NoSuchUpload", 404),
    ],
)
def test_bad_copies_are_refused_as_s3_refuses_them(
    s3: Any, extra: dict[str, Any], code: str, status: int
) -> None:
    key = "out/refused.csv"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    with pytest.raises(ClientError) as raised:
        copy_part(s3, upload_id, key, **extra)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_plain_part_upload_still_works(s3: Any) -> None:
    key = "out/plain.csv"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=b"a,b\n")
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"a,b\n"


def test_objects_deleted_together_leave_no_error_and_no_empty_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # DeleteObjects deletes its keys at once, and each delete removes the folders it leaves
    # empty: two keys under one folder raced to remove it, and the loser answered 500 (which
    # boto3 retries after a pause, so it showed only as a slow cleanup).
    directory = tmp_path_factory.mktemp("s3") / "data"
    backend = start_s3(directory)
    try:
        client = backend.client(
            "s3", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}
        )
        client.create_bucket(Bucket="deletes")
        keys = [f"work/job/shards/{n // 10}/{n}.csv" for n in range(200)]
        for key in keys:
            client.put_object(Bucket="deletes", Key=key, Body=b"x")
        reply = client.delete_objects(
            Bucket="deletes", Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
        assert reply.get("Errors", []) == []
        assert client.list_objects_v2(Bucket="deletes").get("KeyCount") == 0
        assert not (directory / "deletes" / "work").exists()
    finally:
        backend.stop()
