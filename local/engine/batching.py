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


@dataclass(frozen=True, slots=True)
class LinePieces:
    """A Line batch as the spans of the read chunks it covers, sent as they are: no body is
    joined (a copy, and a multi-MiB allocation per batch) unless a rare path asks for one."""

    pieces: tuple[bytes | memoryview, ...]
    size: int
    first: int
    count: int

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


def line_batches(chunks: Iterable[bytes], *, max_payload_bytes: int) -> Iterator[Batch]:
    """MultiRecord batches of Line records, cut straight from the byte stream.

    The same batches `batches(split_records(chunks, "Line"), strategy="MultiRecord", ...)`
    gives, without making an object per line: each batch ends at the last b"\\n" that fits in
    the limit, found with rfind, and its record count is count() over its spans. This is the
    common case (CSV or JSON Lines, MultiRecord, no DataProcessing) and the engine's hot path,
    where it runs as `line_pieces` (the same batches, unjoined).
    """
    for batch in line_pieces(chunks, max_payload_bytes=max_payload_bytes):
        yield Batch(batch.body, batch.first, batch.count)


def line_pieces(chunks: Iterable[bytes], *, max_payload_bytes: int) -> Iterator[LinePieces]:
    """`line_batches`, each batch left as the spans of the chunks it was cut from."""
    limit = max_payload_bytes
    if limit <= 0:
        raise ValueError("line_batches needs a payload limit; stream the object instead")
    pending: list[bytes] = []  # the chunks the next batch starts in, the first from `start`
    start = size = first = 0  # size: the pending bytes from `start` on
    for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        size += len(chunk)
        while size > limit:
            cut = _last_line_end(pending, start, limit)
            if cut is None:  # no whole record fits: the next record is over the limit
                raise RecordTooLarge(first, _first_record_size(pending, start, size), limit)
            index, end = cut
            batch = _pieces(pending, start, index, end, first, last=False)
            yield batch
            first += batch.count
            size -= batch.size
            pending, start = pending[index:], end
            if start == len(pending[0]):
                pending, start = pending[1:], 0
    if size:
        yield _pieces(pending, start, len(pending) - 1, len(pending[-1]), first, last=True)


def _pieces(
    pending: list[bytes], start: int, index: int, end: int, first: int, *, last: bool
) -> LinePieces:
    """pending[0][start:], pending[1:index] and pending[index][:end] as one batch; the object's
    last batch also counts a last record without its b"\\n"."""
    spans = [(chunk, 0, len(chunk)) for chunk in pending[: index + 1]]
    spans[0] = (spans[0][0], start, spans[0][2])
    spans[-1] = (spans[-1][0], spans[-1][1], end)
    pieces = tuple(
        chunk if (lo, hi) == (0, len(chunk)) else memoryview(chunk)[lo:hi]
        for chunk, lo, hi in spans
    )
    count = sum(chunk.count(b"\n", lo, hi) for chunk, lo, hi in spans)
    chunk, _, hi = spans[-1]
    if last and chunk[hi - 1] != ord("\n"):
        count += 1
    return LinePieces(pieces, sum(hi - lo for _, lo, hi in spans), first, count)


def _last_line_end(pending: list[bytes], start: int, limit: int) -> tuple[int, int] | None:
    """(chunk index, offset just past it) of the last b"\\n" in the first `limit` pending bytes."""
    offset = -start  # where pending[index] begins, counted from `start`
    index = 0
    while offset + len(pending[index]) < limit:
        offset += len(pending[index])
        index += 1
    found = pending[index].rfind(b"\n", start if index == 0 else 0, limit - offset)
    while found < 0 and index > 0:
        index -= 1
        found = pending[index].rfind(b"\n", start if index == 0 else 0)
    return None if found < 0 else (index, found + 1)


def _first_record_size(pending: list[bytes], start: int, size: int) -> int:
    """The first pending record's size with its b"\\n", or all pending bytes if none ends yet."""
    seen = 0
    for index, chunk in enumerate(pending):
        begin = start if index == 0 else 0
        found = chunk.find(b"\n", begin)
        if found >= 0:
            return seen + found - begin + 1
        seen += len(chunk) - begin
    return size
