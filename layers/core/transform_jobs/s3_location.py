"""S3 locations, and the prefix rules that keep teams inside their own data.

Prefixes are compared on `/` boundaries: `s3://b/team-a/` grants `s3://b/team-a/x.csv` but never
`s3://b/team-ab/x.csv`. A location without a trailing slash is still matched as SageMaker does
(a raw key prefix), so an S3Prefix of `s3://b/team-a/in` reaches `in.csv` and `input2/…`; the
checks below treat it as covering everything that starts with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# fullmatch, not `$`: `$` also matches before a final newline, which would be dropped.
_S3_URI = re.compile(r"s3://([^/]+)/?(.*)", re.DOTALL)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


@dataclass(frozen=True, order=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Parse `s3://bucket/key`; raise ValueError with a message a person can act on."""
        match = _S3_URI.fullmatch(uri)
        if not match:
            raise ValueError(f"{uri!r} is not an S3 URI; write it as s3://bucket/prefix")
        bucket, key = match.groups()
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(
                f"{bucket!r} is not a valid S3 bucket name (3 to 63 lower-case letters, digits, "
                "dots and hyphens, starting and ending with a letter or digit)"
            )
        if any(char in key for char in "\\\r\n") or ".." in key.split("/"):
            raise ValueError(f"{uri!r} contains '..' or a backslash; give a plain S3 key prefix")
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, relative_key: str) -> S3Location:
        base = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return S3Location(self.bucket, base + relative_key)

    def reach(self, *, folder: bool) -> str:
        """The key prefix this location covers: raw (as an S3Prefix input) or as a folder."""
        if folder and self.key and not self.key.endswith("/"):
            return self.key + "/"
        return self.key

    def within(self, grant: S3Location, *, folder: bool) -> bool:
        """True if every key this location can reach lies under the granted prefix."""
        return self.bucket == grant.bucket and self.reach(folder=folder).startswith(
            grant.reach(folder=True)
        )


def overlap(input_location: S3Location, output_location: S3Location) -> bool:
    """True if a raw input prefix could read keys written under the output folder, or back."""
    if input_location.bucket != output_location.bucket:
        return False
    reads, writes = input_location.reach(folder=False), output_location.reach(folder=True)
    return reads.startswith(writes) or writes.startswith(reads)


def within_any(location: S3Location, grants: list[str], *, folder: bool) -> bool:
    return any(location.within(S3Location.parse(grant), folder=folder) for grant in grants)
