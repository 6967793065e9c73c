"""Writing one S3 object of any size with bounded memory, resumable across invocations.

Bytes are buffered up to a part; a small object is one PUT at close, a large one a multipart
upload whose state (upload id, part ETags) is a checkpoint: a later invocation continues it.
Each part is uploaded by a thread while the caller makes the next one, one part at a time, so
memory stays at about two parts; `upload`, `close` and `abort` wait for the part under way, and
its error is raised there or by the `write` that cuts the next part.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor

from transform_jobs.adapters import s3_gateway
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
        self.written = 0  # bytes accepted by this writer (not counting resumed parts)
        self._upload = resume
        # Written bytes not yet in a part, kept as given: a part is joined from them once.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._sending: Future[str] | None = None
        self._sender: ThreadPoolExecutor | None = None

    @property
    def upload(self) -> MultipartState | None:
        """The multipart upload with every part handed over so far in S3 (a checkpoint)."""
        self._settle()
        return self._upload

    @property
    def buffered(self) -> int:
        return self._pending_bytes

    def write(self, data: bytes) -> bool:
        """Adds bytes; True when this cut a part (a point where a checkpoint can be taken:
        everything written so far is in S3 once `upload` has waited for that part)."""
        if data:
            self._pending.append(data)
            self._pending_bytes += len(data)
            self.written += len(data)
        parts = len(self._upload.ETags) + (self._sending is not None) if self._upload else 0
        growth = 8 if parts >= PARTS_BEFORE_GROWTH else 1
        if self._pending_bytes < self.part_bytes * growth:
            return False
        self._send_part()
        return True

    def _send_part(self) -> None:
        self._settle()  # one part under way at a time
        if self._upload is None:
            upload_id = s3_gateway.start_upload(self.location, content_type=self.content_type)
            self._upload = MultipartState(Key=self.location.key, UploadId=upload_id)
        body = self._take_pending()
        number = len(self._upload.ETags) + 1
        if self._sender is None:
            self._sender = ThreadPoolExecutor(1, thread_name_prefix="part-upload")
        self._sending = self._sender.submit(
            s3_gateway.upload_part, self.location, self._upload.UploadId, number, body
        )

    def _settle(self) -> None:
        """Waits for the part under way and records its ETag (or raises its error)."""
        sending, self._sending = self._sending, None
        if sending is not None:
            assert self._upload is not None  # noqa: S101 (a part is only sent within an upload)
            self._upload.ETags.append(sending.result())

    def _take_pending(self) -> bytes:
        body = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        return body

    def close(self) -> None:
        """Writes what is left and makes the object whole."""
        try:
            if self._upload is None:
                body = self._take_pending()
                s3_gateway.put_bytes(self.location, body, content_type=self.content_type)
                return
            self._settle()
            if self._pending_bytes or not self._upload.ETags:
                self._send_part()
                self._settle()
            s3_gateway.complete_upload(self.location, self._upload.UploadId, self._upload.ETags)
        finally:
            self._stop_sender()

    def abort(self) -> None:
        """Gives up the object: nothing is left half-written (a multipart upload is aborted)."""
        self._pending.clear()
        self._pending_bytes = 0
        sending, self._sending = self._sending, None
        if sending is not None:
            # A part under way cannot be called back; once it ends, the abort removes it too.
            with contextlib.suppress(Exception):
                sending.result()
        self._stop_sender()
        if self._upload is not None:
            s3_gateway.abort_upload(self.location, self._upload.UploadId)

    def _stop_sender(self) -> None:
        if self._sender is not None:
            self._sender.shutdown(wait=False)
            self._sender = None
