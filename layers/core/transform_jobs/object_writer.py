"""Writing one S3 object of any size with bounded memory, resumable across invocations.

Bytes are buffered up to a part; a small object is one PUT at close, a large one a multipart
upload whose state (upload id, part ETags) is a checkpoint: a later invocation continues it.
"""

from __future__ import annotations

from transform_jobs import s3_gateway
from transform_jobs.models.job import MultipartState
from transform_jobs.s3_location import S3Location

# S3 parts are at least 5 MiB (except the last); 8 MiB keeps a writer's memory small. After
# PARTS_BEFORE_GROWTH parts they grow eightfold, so the part list (kept in checkpoints) stays
# short and S3's 10,000 parts reach past 500 GiB.
PART_BYTES = 8 * 1024 * 1024
PARTS_BEFORE_GROWTH = 1000


class ObjectWriter:
    def __init__(
        self,
        location: S3Location,
        *,
        content_type: str = "text/csv",
        resume: MultipartState | None = None,
        part_bytes: int | None = None,
    ) -> None:
        self.location = location
        self.content_type = content_type
        self.part_bytes = part_bytes or PART_BYTES
        self.upload = resume
        self.written = 0  # bytes accepted by this writer (not counting resumed parts)
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def write(self, data: bytes) -> bool:
        """Adds bytes; True when this made a part go out (a point where a checkpoint can be
        taken: everything written so far is in S3)."""
        self._buffer += data
        self.written += len(data)
        parts = len(self.upload.ETags) if self.upload else 0
        growth = 8 if parts >= PARTS_BEFORE_GROWTH else 1
        if len(self._buffer) < self.part_bytes * growth:
            return False
        self._send_part()
        return True

    def _send_part(self) -> None:
        if self.upload is None:
            upload_id = s3_gateway.start_upload(self.location, content_type=self.content_type)
            self.upload = MultipartState(Key=self.location.key, UploadId=upload_id)
        number = len(self.upload.ETags) + 1
        etag = s3_gateway.upload_part(
            self.location, self.upload.UploadId, number, bytes(self._buffer)
        )
        self.upload.ETags.append(etag)
        self._buffer.clear()

    def close(self) -> None:
        """Writes what is left and makes the object whole."""
        if self.upload is None:
            s3_gateway.put_bytes(self.location, bytes(self._buffer), content_type=self.content_type)
            self._buffer.clear()
            return
        if self._buffer or not self.upload.ETags:
            self._send_part()
        s3_gateway.complete_upload(self.location, self.upload.UploadId, self.upload.ETags)

    def abort(self) -> None:
        """Gives up the object: nothing is left half-written (a multipart upload is aborted)."""
        self._buffer.clear()
        if self.upload is not None:
            s3_gateway.abort_upload(self.location, self.upload.UploadId)
