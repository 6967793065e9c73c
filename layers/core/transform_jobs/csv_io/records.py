"""CSV split at true record boundaries (RFC 4180), from a byte stream fed in chunks of any size.

A newline ends a record only outside quotes. Inside a quoted field every quote is doubled, so
the parity of the quotes since the record began says whether a newline is inside a field: the
scan works on whole lines with bytes.find and bytes.count (C speed), never byte by byte, and
the state between records is nothing but the byte offset, which makes a split resumable from a
checkpoint. CRLF and LF line ends are kept with their record; a UTF-8 BOM at the start of the
object is dropped. (csv.reader parses rows but cannot say where a row's bytes end, which
sharding and resuming need; hence this small scanner.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

BOM = b"\xef\xbb\xbf"
QUOTE = b'"'
NEWLINE = b"\n"


class UnterminatedQuote(ValueError):
    """The input ended inside a quoted field."""


class RecordSplitter:
    """feed() bytes, get back whole records (with their line end); finish() at the end."""

    def __init__(self, *, offset: int = 0) -> None:
        """`offset` is where in the object the bytes start: 0, or a checkpoint (a record
        boundary). Only at offset 0 can a BOM come."""
        self.offset = offset  # the object offset of the first byte not yet returned
        self.spans_lines = False  # a quoted field held a line feed (a split on lines breaks it)
        self.bom = False
        self._buffer = bytearray()
        self._scanned = 0  # buffer bytes already looked at
        self._odd = False  # odd number of quotes in buffer[:_scanned]
        self._bom_pending = offset == 0

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        if self._bom_pending:
            if len(self._buffer) < len(BOM) and BOM.startswith(bytes(self._buffer)):
                return []  # too little to tell yet
            self._bom_pending = False
            if self._buffer.startswith(BOM):
                del self._buffer[: len(BOM)]
                self.offset += len(BOM)
                self.bom = True
        return self._records()

    def _records(self) -> list[bytes]:
        buffer, records, start = self._buffer, [], 0
        while True:
            end = buffer.find(NEWLINE, self._scanned)
            if end < 0:
                self._odd ^= bool(buffer.count(QUOTE, self._scanned) & 1)
                self._scanned = len(buffer)
                break
            self._odd ^= bool(buffer.count(QUOTE, self._scanned, end) & 1)
            self._scanned = end + 1
            if self._odd:
                self.spans_lines = True  # a line break inside a quoted field: not an end
                continue
            records.append(bytes(buffer[start : end + 1]))
            start = end + 1
        if start:
            del buffer[:start]
            self._scanned -= start
            self.offset += start
        return records

    def finish(self) -> list[bytes]:
        """The last record, when the input does not end with a newline."""
        if self._bom_pending and self._buffer:
            self._bom_pending = False
        if self._odd:
            raise UnterminatedQuote(
                f"the input ends inside a quoted field that starts at byte {self.offset}; "
                "close the quote (a quote inside a quoted field is written twice)"
            )
        if not self._buffer:
            return []
        last = bytes(self._buffer)
        self.offset += len(last)
        self._buffer.clear()
        self._scanned = 0
        return [last]


def record_batches(
    chunks: Iterable[bytes], *, offset: int = 0
) -> Iterator[tuple[list[bytes], int]]:
    """The records a chunk at a time, each batch with the object offset where it starts (so
    callers sum lengths with C-speed builtins instead of handling records one by one)."""
    splitter = RecordSplitter(offset=offset)
    for chunk in chunks:
        records = splitter.feed(chunk)
        if records:  # contiguous, ending where the splitter now stands
            yield records, splitter.offset - sum(map(len, records))
    tail = splitter.finish()
    if tail:
        yield tail, splitter.offset - len(tail[0])
