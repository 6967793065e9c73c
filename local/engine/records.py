"""Splitting an S3 object into SageMaker's records (SplitType None, Line, RecordIO, TFRecord),
streaming: each record comes out as soon as it is complete, whatever the chunk sizes."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import crc32c

RECORDIO_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", RECORDIO_MAGIC)
_RECORDIO_HEADER = struct.Struct("<II")
_FLAG_SHIFT = 29
_LENGTH_MASK = (1 << _FLAG_SHIFT) - 1
# dmlc's continuation flags: a record whose payload holds the magic word at a 4-byte boundary is
# written as frames split at those words (start, middles, end), the words themselves left out.
# Such frames are read back as the one record they are, as MXNet reads them, rather than failed
# for a nonzero flag: SageMaker only documents flag 0, but any MXNet-written file may have them.
_WHOLE, _START, _MIDDLE, _END = 0, 1, 2, 3

_TFRECORD_HEADER = struct.Struct("<QI")
_UINT32 = struct.Struct("<I")
_CRC_MASK_DELTA = 0xA282EAD8


@dataclass(frozen=True, slots=True)
class Record:
    """One record: `data` is its payload (what SingleRecord sends), `raw` its bytes as framed in
    the object (what MultiRecord sends). For None and Line they are the same object."""

    data: bytes
    raw: bytes


class RecordError(ValueError):
    """The object is not valid for its SplitType; `position` is the 0-based index of the record
    that could not be read and `offset` the byte offset where it went wrong."""

    def __init__(self, position: int, offset: int, problem: str) -> None:
        super().__init__(f"record {position}: {problem} at byte offset {offset:,}")
        self.position = position
        self.offset = offset
        self.problem = problem

    def __reduce__(self) -> tuple[type[RecordError], tuple[int, int, str]]:
        # Workers may hand errors across processes; the default reduce would call cls(message).
        return type(self), (self.position, self.offset, self.problem)


class RecordOverLimit(RecordError):
    """A record is larger than the payload limit: found while reading it, before it is held."""


def split_records(
    chunks: Iterable[bytes], split_type: str, *, max_record_bytes: int = 0
) -> Iterator[Record]:
    """The object's records, read from its chunks; an empty object has none.

    With `max_record_bytes`, a record that grows past it raises RecordOverLimit as soon as
    that is known, so an oversized record never has to be held whole (0: no limit).
    """
    if split_type == "None":
        return _whole_object(chunks, max_record_bytes)
    if split_type == "Line":
        return _lines(chunks, max_record_bytes)
    if split_type == "RecordIO":
        return _recordio(chunks, max_record_bytes)
    if split_type == "TFRecord":
        return _tfrecords(chunks, max_record_bytes)
    raise ValueError(f"SplitType {split_type!r} is not one of None, Line, RecordIO, TFRecord")


def _over(position: int, offset: int, size: int, limit: int) -> RecordOverLimit:
    return RecordOverLimit(
        position, offset, f"record is {size:,}+ bytes, over the payload limit of {limit:,} bytes"
    )


def _whole_object(chunks: Iterable[bytes], limit: int) -> Iterator[Record]:
    # The whole object is the record, so holding all of it (up to the limit) is unavoidable.
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if limit and size > limit:
            raise _over(0, 0, size, limit)
    body = b"".join(parts)
    if body:
        yield Record(body, body)


# Line's hot loop: a frozen dataclass's __init__ costs as much as finding the line itself, so
# lines fill the two slots directly, which is what that __init__ does, at half the cost.
_SET_DATA = vars(Record)["data"].__set__
_SET_RAW = vars(Record)["raw"].__set__


def _lines(chunks: Iterable[bytes], limit: int) -> Iterator[Record]:
    new, set_data, set_raw = object.__new__, _SET_DATA, _SET_RAW
    pending: list[bytes] = []  # pieces of a line that began in an earlier chunk
    pending_size = 0
    position = 0  # lines yielded so far (kept for the over-limit error only)
    offset = 0  # bytes consumed before this chunk
    for chunk in chunks:
        start = 0
        if pending:
            end = chunk.find(b"\n")
            if end < 0:
                pending.append(chunk)
                pending_size += len(chunk)
                if limit and pending_size > limit:
                    raise _over(position, offset + len(chunk) - pending_size, pending_size, limit)
                offset += len(chunk)
                continue
            pending.append(chunk[: end + 1])
            line = b"".join(pending)
            pending, pending_size = [], 0
            yield Record(line, line)
            position += 1
            start = end + 1
        # BytesIO shares the chunk's buffer and splits at b"\n" only (unlike bytes.splitlines),
        # lazily and in C; islice stops before the unfinished tail, which waits for the next chunk.
        complete = chunk.count(b"\n", start)
        lines = io.BytesIO(chunk)
        lines.seek(start)
        for line in islice(lines, complete):
            record = new(Record)
            set_data(record, line)
            set_raw(record, line)
            yield record
        position += complete
        tail = lines.tell()
        if tail < len(chunk):
            pending.append(chunk[tail:])
            pending_size = len(chunk) - tail
            if limit and pending_size > limit:
                raise _over(position, offset + tail, pending_size, limit)
        offset += len(chunk)
    if pending:  # a last line without b"\n" is a record as it is
        line = b"".join(pending)
        yield Record(line, line)


class _Reader:
    """Reads exact byte counts across chunk boundaries, holding only the current chunk."""

    __slots__ = ("_chunk", "_chunks", "_pos", "offset")

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._chunk = b""
        self._pos = 0
        self.offset = 0  # bytes of the object read so far

    def read(self, size: int) -> bytes:
        """`size` bytes, or fewer only where the object ends."""
        end = self._pos + size
        if end <= len(self._chunk):  # the common case: all within the current chunk
            data = self._chunk[self._pos : end]
            self._pos = end
            self.offset += size
            return data
        # memoryview pieces so the bytes are copied once, by the join
        pieces: list[memoryview] = []
        missing = size
        while missing:
            available = len(self._chunk) - self._pos
            if not available:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._pos = chunk, 0
                continue
            take = min(available, missing)
            pieces.append(memoryview(self._chunk)[self._pos : self._pos + take])
            self._pos += take
            missing -= take
        data = b"".join(pieces)
        self.offset += len(data)
        return data


def _recordio(chunks: Iterable[bytes], limit: int) -> Iterator[Record]:
    reader = _Reader(chunks)
    position = 0
    while True:
        frames: list[bytes] = []  # the record's frames as they are in the object
        parts: list[bytes] = []  # their payloads
        while True:
            offset = reader.offset
            header = reader.read(_RECORDIO_HEADER.size)
            if not header:
                if frames:
                    raise RecordError(position, offset, "object ends inside a multi-part record")
                return
            if len(header) < _RECORDIO_HEADER.size:
                raise RecordError(
                    position, offset, f"truncated RecordIO header ({len(header)} of 8 bytes)"
                )
            magic, lrec = _RECORDIO_HEADER.unpack(header)
            if magic != RECORDIO_MAGIC:
                raise RecordError(
                    position, offset, f"bad RecordIO magic 0x{magic:08X} (not 0xCED7230A)"
                )
            flag, length = lrec >> _FLAG_SHIFT, lrec & _LENGTH_MASK
            if limit and length + sum(len(part) for part in parts) > limit:
                raise _over(position, offset, length, limit)
            if flag not in ((_WHOLE, _START) if not frames else (_MIDDLE, _END)):
                raise RecordError(
                    position, offset, f"RecordIO continuation flag {flag} out of sequence"
                )
            padded = (length + 3) & ~3
            body = reader.read(padded)
            if len(body) < padded:
                raise RecordError(
                    position,
                    offset,
                    f"truncated RecordIO record ({len(body)} of {padded} bytes after the header)",
                )
            frames.append(header)
            frames.append(body)
            parts.append(body[:length])  # the same object when there is no padding
            if flag in (_WHOLE, _END):
                break
        data = parts[0] if len(parts) == 1 else _MAGIC_BYTES.join(parts)
        yield Record(data, b"".join(frames))
        position += 1


def _masked_crc(data: bytes) -> int:
    crc: int = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def _tfrecords(chunks: Iterable[bytes], limit: int) -> Iterator[Record]:
    reader = _Reader(chunks)
    position = 0
    while True:
        offset = reader.offset
        header = reader.read(_TFRECORD_HEADER.size)
        if not header:
            return
        if len(header) < _TFRECORD_HEADER.size:
            raise RecordError(
                position, offset, f"truncated TFRecord header ({len(header)} of 12 bytes)"
            )
        length, length_crc = _TFRECORD_HEADER.unpack(header)
        # Checked before reading on: a corrupt length could otherwise pull in the whole object.
        if _masked_crc(header[:8]) != length_crc:
            raise RecordError(position, offset, "TFRecord length CRC mismatch")
        if limit and length > limit:
            raise _over(position, offset, length, limit)
        body = reader.read(length + 4)
        if len(body) < length + 4:
            raise RecordError(
                position,
                offset,
                f"truncated TFRecord ({len(body)} of {length + 4} bytes after the header)",
            )
        data = body[:length]
        (data_crc,) = _UINT32.unpack_from(body, length)
        if _masked_crc(data) != data_crc:
            raise RecordError(position, offset, "TFRecord data CRC mismatch")
        yield Record(data, header + body)
        position += 1


def encode_recordio(payloads: Iterable[bytes]) -> bytes:
    """RecordIO framing as dmlc writes it, splitting at aligned magic words as dmlc does."""
    out: list[bytes] = []
    for payload in payloads:
        # dmlc only looks for the magic word at 4-byte boundaries of the payload.
        cuts = [i for i in range(0, len(payload) - 3, 4) if payload[i : i + 4] == _MAGIC_BYTES]
        pieces, start = [], 0
        for cut in cuts:
            pieces.append(payload[start:cut])
            start = cut + 4
        pieces.append(payload[start:])
        for index, piece in enumerate(pieces):
            if len(pieces) == 1:
                flag = _WHOLE
            elif index == 0:
                flag = _START
            else:
                flag = _END if index == len(pieces) - 1 else _MIDDLE
            if len(piece) > _LENGTH_MASK:
                raise ValueError(f"a RecordIO frame holds at most {_LENGTH_MASK:,} bytes")
            out.append(_RECORDIO_HEADER.pack(RECORDIO_MAGIC, flag << _FLAG_SHIFT | len(piece)))
            out.append(piece)
            out.append(b"\0" * (-len(piece) % 4))
    return b"".join(out)


def encode_tfrecord(payloads: Iterable[bytes]) -> bytes:
    """TFRecord framing: length, its masked CRC32C, the data, the data's masked CRC32C."""
    out: list[bytes] = []
    for payload in payloads:
        length = struct.pack("<Q", len(payload))
        out.extend(
            (length, _UINT32.pack(_masked_crc(length)), payload, _UINT32.pack(_masked_crc(payload)))
        )
    return b"".join(out)
