"""Grouping one object's records into request bodies, as BatchStrategy and MaxPayloadInMB say."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from local.engine.records import Record

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Batch:
    """One request body; `first` is the index of its first record in the object."""

    body: bytes
    first: int
    count: int


class RecordTooLarge(ValueError):
    """A record alone is over the payload limit; SageMaker fails its object rather than cut it."""

    def __init__(self, position: int, size: int, limit: int) -> None:
        super().__init__(f"record {position} is {size:,} bytes, over {_describe(limit)}")
        self.position = position
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[type[RecordTooLarge], tuple[int, int, int]]:
        # Workers may hand errors across processes; the default reduce would call cls(message).
        return type(self), (self.position, self.size, self.limit)


def _describe(limit: int) -> str:
    if limit % MB == 0:
        return f"MaxPayloadInMB {limit // MB} ({limit:,} bytes)"
    return f"the payload limit of {limit:,} bytes"


def batches(records: Iterable[Record], *, strategy: str, max_payload_bytes: int) -> Iterator[Batch]:
    """Request bodies for one object's records; max_payload_bytes 0 means no limit."""
    if max_payload_bytes < 0:
        raise ValueError(f"max_payload_bytes must be 0 (no limit) or more, not {max_payload_bytes}")
    if strategy == "SingleRecord":
        return _single(records, max_payload_bytes)
    if strategy == "MultiRecord":
        return _multi(records, max_payload_bytes)
    raise ValueError(f"BatchStrategy {strategy!r} is not MultiRecord or SingleRecord")


def _single(records: Iterable[Record], limit: int) -> Iterator[Batch]:
    # One record a request goes without its RecordIO/TFRecord framing: the payload alone.
    for position, record in enumerate(records):
        if limit and len(record.data) > limit:
            raise RecordTooLarge(position, len(record.data), limit)
        yield Batch(record.data, position, 1)


def _multi(records: Iterable[Record], limit: int) -> Iterator[Batch]:
    if not limit:  # the object's records are one batch, however large
        raws = [record.raw for record in records]
        if raws:
            yield Batch(b"".join(raws), 0, len(raws))
        return
    pending: list[bytes] = []  # raw records of the batch being filled
    size = first = 0
    for position, record in enumerate(records):
        raw = record.raw
        length = len(raw)
        if size + length > limit:
            if pending:
                yield Batch(b"".join(pending), first, len(pending))
                pending, size, first = [], 0, position
            # Checked after the flush: the batches before this record are what they would be
            # anyway, and the error then stops the object at this record.
            if length > limit:
                raise RecordTooLarge(position, length, limit)
        pending.append(raw)
        size += length
    if pending:
        yield Batch(b"".join(pending), first, len(pending))


def line_batches(chunks: Iterable[bytes], *, max_payload_bytes: int) -> Iterator[Batch]:
    """MultiRecord batches of Line records, cut straight from the byte stream.

    The same batches `batches(split_records(chunks, "Line"), strategy="MultiRecord", ...)`
    gives, without making an object per line: each batch ends at the last b"\\n" that fits in
    the limit, found with one rfind, and its record count is one count(). This is the common
    case (CSV or JSON Lines, MultiRecord, no DataProcessing) and the engine's hot path.
    """
    limit = max_payload_bytes
    if limit <= 0:
        raise ValueError("line_batches needs a payload limit; stream the object instead")
    buffer = bytearray()
    first = 0
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > limit:
            cut = buffer.rfind(b"\n", 0, limit)
            if cut < 0:  # no whole record fits: the next record is over the limit
                end = buffer.find(b"\n")
                raise RecordTooLarge(first, end + 1 if end >= 0 else len(buffer), limit)
            with memoryview(buffer) as view:  # one copy (buffer[:n] would copy twice)
                body = bytes(view[: cut + 1])
            del buffer[: cut + 1]
            count = body.count(b"\n")
            yield Batch(body, first, count)
            first += count
    if buffer:
        body = bytes(buffer)
        count = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        yield Batch(body, first, count)
