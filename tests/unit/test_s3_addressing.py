"""The S3 client addresses buckets as AWS expects (virtual-hosted), and path style only for a
local stand-in behind an endpoint override."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from transform_jobs.adapters import s3_gateway
from transform_jobs.s3_location import S3Location

OUTPUT = S3Location("transform-jobs-data", "team-a/out/a.csv.out")


@pytest.fixture
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CREDENTIAL_EXPIRATION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_links_in_aws_name_the_bucket_in_the_host(fresh_client: pytest.MonkeyPatch) -> None:
    url = urlparse(s3_gateway.presign_get(OUTPUT, expires_in=60).url)

    assert url.hostname == "transform-jobs-data.s3.eu-west-1.amazonaws.com"
    assert url.path == "/team-a/out/a.csv.out"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_links_to_a_local_stand_in_name_the_bucket_in_the_path(
    fresh_client: pytest.MonkeyPatch, variable: str
) -> None:
    fresh_client.setenv(variable, "http://127.0.0.1:4569")

    url = urlparse(s3_gateway.presign_get(OUTPUT, expires_in=60).url)

    assert (url.hostname, url.port) == ("127.0.0.1", 4569)
    assert url.path == "/transform-jobs-data/team-a/out/a.csv.out"
