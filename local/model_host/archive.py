"""Unpack a model.tar.gz into a model dir, safely, once per distinct archive (cached by sha256)."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

READ_CHUNK = 1 << 20


class ModelArchiveError(ValueError):
    """The archive is not a tar, or a member would land outside the model dir."""


def unpack(archive: bytes | Path, cache_dir: Path) -> Path:
    """The model dir for this archive: <cache_dir>/<sha256>, unpacked now unless already there.

    Concurrent callers may both unpack; each works in its own temporary dir and the first rename
    wins, so a model dir that exists is always complete."""
    digest = _sha256(archive)
    target = cache_dir / digest
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=cache_dir))
    try:
        with _open(archive) as stream:
            _extract(stream, staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Another job unpacked the same archive first; its copy is identical.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _sha256(archive: bytes | Path) -> str:
    if isinstance(archive, bytes):
        return hashlib.sha256(archive).hexdigest()
    digest = hashlib.sha256()
    with archive.open("rb") as stream:
        while block := stream.read(READ_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _open(archive: bytes | Path) -> BinaryIO:
    return io.BytesIO(archive) if isinstance(archive, bytes) else archive.open("rb")


def _extract(stream: BinaryIO, destination: Path) -> None:
    try:
        # r:* also takes an uncompressed tar, which SageMaker accepts as model data too.
        with tarfile.open(fileobj=stream, mode="r:*") as tar:
            for member in tar.getmembers():
                _check_name(member.name)
                if member.issym() or member.islnk():
                    # Links are where tarfile's data filter has had bypasses (CVE-2025-4517 and
                    # kin, fixed only in 3.11.13); a model archive has no need for them.
                    raise ModelArchiveError(
                        f"refusing the model archive: member {member.name!r} is a link; "
                        "pack the files themselves"
                    )
            # The data filter refuses links that leave the dir, device files and unsafe modes.
            tar.extractall(destination, filter="data")
    except tarfile.FilterError as error:
        raise ModelArchiveError(f"refusing the model archive: {error}") from error
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError) as error:
        raise ModelArchiveError(f"the model data is not a readable tar archive: {error}") from error


def _check_name(name: str) -> None:
    # The data filter would quietly strip a leading '/'; an archive that has one was not made
    # for a model dir, so it is refused rather than reinterpreted.
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ModelArchiveError(f"refusing the model archive: member {name!r} leaves the model dir")
