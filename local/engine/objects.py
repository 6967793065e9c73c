"""Transforming one input object: stream, decompress, split, batch, invoke, assemble, write.

Memory stays bounded by payload times concurrency whatever the object's size: records are split
from a stream, at most MaxConcurrentTransforms batches are in flight, and the output is
uploaded in parts as answers arrive, in input order.
"""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from local.engine import s3_store
from local.engine.batching import Batch, LinePieces, RecordTooLarge, batches, line_pieces
from local.engine.data_processing import (
    DataProcessing,
    DataProcessingError,
    assemble_output,
    filter_input,
)
from local.engine.invocation import InvocationError, ModelClient
from local.engine.progress import Progress
from local.engine.records import Record, RecordError, split_records
from local.engine.spec import EffectiveParameters, TransformSpec


class ObjectFailed(Exception):
    """The object's transform failed; the message is the job's FailureReason for it."""


class JobStopped(Exception):
    """The job was stopped while this object was in flight."""


class BatchFailed(Exception):
    """One request's records got no usable answer; the message names them and says why."""

    def __init__(self, batch: Batch | LinePieces, problem: str) -> None:
        last = batch.first + batch.count - 1
        records = f"record {batch.first}" if batch.count == 1 else f"records {batch.first}..{last}"
        super().__init__(f"{records}: {problem}")


# Output media types whose answers carry one line per record when batches are split by Line.
LINE_PER_RECORD = frozenset({"text/csv", "application/jsonlines", "application/x-jsonlines"})


def answers_line_per_record(spec: TransformSpec) -> bool:
    """Whether a short answer can be told: Line in, Line out, and an Accept that is written a
    line per record. (application/json, for one, may answer a whole batch as one array.)"""
    accept = (spec.accept or "").split(";", 1)[0].strip().lower()
    return spec.split_type == "Line" and spec.assemble_with == "Line" and accept in LINE_PER_RECORD


def answered_records(answer: bytes) -> int:
    """Lines in an answer, each ended by b"\\n" (so a CSV writer's b"\\r\\n" counts once); a
    last line without one still counts."""
    return answer.count(b"\n") + (1 if answer and not answer.endswith(b"\n") else 0)


def blank_records(batch: Batch | LinePieces) -> int:
    """Records of a Line batch that hold nothing but whitespace (counted only on the rare path
    where an answer looks short)."""
    return sum(1 for line in batch.body.split(b"\n")[: batch.count] if not line.strip())


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str
    relative_name: str  # the key relative to the input prefix (or manifest prefix)
    size: int


def output_key(spec: TransformSpec, item: InputObject) -> tuple[str, str]:
    """`<S3OutputPath>/<key relative to the input prefix>.out`, as SageMaker names outputs."""
    bucket, _, prefix = spec.output_path.removeprefix("s3://").partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, f"{prefix}{item.relative_name}.out"


def decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Gunzip a stream (several concatenated gzip members included), chunk by chunk."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    started = False
    for chunk in chunks:
        started = started or bool(chunk)
        data = chunk
        while data:
            out = inflater.decompress(data)
            if out:
                yield out
            if inflater.eof:
                data = inflater.unused_data.lstrip(b"\0")  # gzip tolerates NUL padding
                if data:
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = b""
    tail = inflater.flush()
    if tail:
        yield tail
    if started and not inflater.eof:
        # zlib does not complain about a stream that just stops: a truncated upload would
        # otherwise pass as a shorter object with its last record cut.
        raise zlib.error("the gzip stream ends before its end marker (is the object truncated?)")


class ObjectTransform:
    """Runs one object through one model process."""

    def __init__(
        self,
        spec: TransformSpec,
        parameters: EffectiveParameters,
        client: ModelClient,
        pool: ThreadPoolExecutor,
        progress: Progress,
        stop: threading.Event,
    ) -> None:
        self.spec, self.parameters, self.client, self.pool = spec, parameters, client, pool
        self.progress, self.stop = progress, stop
        self.processing = DataProcessing.from_request(spec.request)
        self.counts_answers = answers_line_per_record(spec)

    def run(self, item: InputObject) -> None:
        bucket, key = output_key(self.spec, item)
        writer = s3_store.OutputWriter(bucket, key)
        where = f"s3://{item.bucket}/{item.key}"
        try:
            self._transform(item, writer)
            writer.complete()
        except JobStopped:
            writer.abort()
            raise
        except (RecordError, RecordTooLarge) as error:
            writer.abort()
            raise ObjectFailed(f"{where}: {error}") from error
        except (
            BatchFailed,
            InvocationError,
            DataProcessingError,
            s3_store.StoreError,
            zlib.error,
        ) as error:
            writer.abort()
            raise ObjectFailed(f"{where}: {error}") from error
        except BaseException:
            writer.abort()
            raise
        self.progress.add(objects_done=1)

    def _chunks(self, item: InputObject) -> Iterator[bytes]:
        for chunk in s3_store.iter_chunks(item.bucket, item.key):
            self.progress.add(bytes_in=len(chunk))
            yield chunk

    def _transform(self, item: InputObject, writer: s3_store.OutputWriter) -> None:
        chunks = self._chunks(item)
        if self.spec.compression == "Gzip":
            chunks = decompressed(chunks)
        whole_object = (
            self.spec.split_type == "None" or self.parameters.batch_strategy == "MultiRecord"
        )
        if self.parameters.max_payload_mb == 0 and whole_object and self.processing is None:
            self._transform_streamed(chunks, writer)
            return
        inflight: deque[tuple[Future[bytes], Batch | LinePieces, list[bytes]]] = deque()
        try:
            for batch, inputs in self._batches(chunks):
                if self.stop.is_set():
                    raise JobStopped
                # Answers go out as soon as they are in, in order, not only when the window is
                # full: the first part then starts uploading while later batches are read.
                while inflight and (
                    len(inflight) >= self.parameters.max_concurrent or inflight[0][0].done()
                ):
                    self._collect(inflight.popleft(), writer)
                body: bytes | tuple[bytes | memoryview, ...]
                if isinstance(batch, LinePieces):  # sent unjoined, with its Content-Length
                    body, length = batch.pieces, batch.size
                else:
                    body, length = batch.body, None
                future = self.pool.submit(
                    self.client.invoke,
                    body,
                    content_type=self.spec.content_type,
                    accept=self.spec.accept,
                    length=length,
                )
                inflight.append((future, batch, inputs))
            while inflight:
                self._collect(inflight.popleft(), writer)
        finally:
            # On failure, requests not yet sent are dropped rather than left to hold the pool.
            for future, _, _ in inflight:
                future.cancel()

    def _batches(self, chunks: Iterator[bytes]) -> Iterator[tuple[Batch | LinePieces, list[bytes]]]:
        """Batches, each with the unfiltered input records it holds when a join needs them."""
        limit = self.parameters.max_payload_bytes
        if (
            self.processing is None
            and self.spec.split_type == "Line"
            and self.parameters.batch_strategy == "MultiRecord"
            and limit
        ):
            for pieces in line_pieces(chunks, max_payload_bytes=limit):
                yield pieces, []
            return
        records = split_records(chunks, self.spec.split_type, max_record_bytes=limit)
        if self.processing is None:
            for batch in batches(
                records,
                strategy=self.parameters.batch_strategy,
                max_payload_bytes=self.parameters.max_payload_bytes,
            ):
                yield batch, []
            return
        kept: deque[bytes] = deque()

        def filtered() -> Iterator[Record]:
            assert self.processing is not None  # noqa: S101 (narrowing for the closure)
            for record in records:
                kept.append(record.data)
                data = filter_input(record.data, self.processing)
                yield Record(data=data, raw=data)

        for batch in batches(
            filtered(),
            strategy=self.parameters.batch_strategy,
            max_payload_bytes=self.parameters.max_payload_bytes,
        ):
            yield batch, [kept.popleft() for _ in range(batch.count)]

    def _collect(
        self,
        entry: tuple[Future[bytes], Batch | LinePieces, list[bytes]],
        writer: s3_store.OutputWriter,
    ) -> None:
        future, batch, inputs = entry
        try:
            answer = future.result()
        except InvocationError as error:
            raise BatchFailed(batch, str(error)) from error
        assembled = self._assemble(answer, batch, inputs)
        writer.write(assembled)
        self.progress.add(records_done=batch.count, bytes_out=len(assembled))

    def _assemble(self, answer: bytes, batch: Batch | LinePieces, inputs: list[bytes]) -> bytes:
        line = self.spec.assemble_with == "Line"
        if self.processing is None:
            self._check_answered_all(answer, batch)
            return answer + b"\n" if line and not answer.endswith(b"\n") else answer
        # Only "\n" ends a record (bytes.splitlines would also split on \r, \x0b, \x0c...).
        outputs = answer.rstrip(b"\n").split(b"\n") if batch.count > 1 else [answer.rstrip(b"\n")]
        if len(outputs) != batch.count:
            raise DataProcessingError(
                f"records {batch.first}..{batch.first + batch.count - 1}: the model answered "
                f"{len(outputs)} records for {batch.count}, so output cannot be joined to input"
            )
        joined = [
            assemble_output(record, output, self.processing)
            for record, output in zip(inputs, outputs, strict=True)
        ]
        separator = b"\n" if line else b""
        body = separator.join(part.rstrip(b"\n") for part in joined)
        return body + separator if line else body

    def _check_answered_all(self, answer: bytes, batch: Batch | LinePieces) -> None:
        """A batch answered with fewer lines than it had records leaves no way to tell which
        records lost theirs: every output line after the gap would sit beside the wrong input.
        A one-record batch is never short: AssembleWith Line gives even an empty answer its line.
        More lines than records pass, as in SageMaker: a quoted CSV cell may hold a line break;
        so do blank lines the model skipped (a CSV reader does)."""
        if not self.counts_answers or batch.count < 2:
            return
        answered = answered_records(answer)
        if answered < batch.count and answered < batch.count - blank_records(batch):
            raise BatchFailed(
                batch, f"the model answered {answered} records for {batch.count} sent"
            )

    def _transform_streamed(self, chunks: Iterator[bytes], writer: s3_store.OutputWriter) -> None:
        """MaxPayloadInMB 0: the whole object goes as one chunked request, never held whole."""
        answer = self.client.invoke(
            chunks, content_type=self.spec.content_type, accept=self.spec.accept
        )
        line = self.spec.assemble_with == "Line"
        assembled = answer + b"\n" if line and not answer.endswith(b"\n") else answer
        writer.write(assembled)
        self.progress.add(records_done=1, bytes_out=len(assembled))
