"""Where the shards of a CSV byte stream begin and end, found a chunk at a time (RFC 4180).

A line feed ends a record only outside quotes, and inside a quoted field every quote is
doubled, so the parity of the quotes since a record boundary says which line feeds end records.
Everything here is C-speed bytes work over whole chunks: record ends are counted (the line feeds
left when every other byte is deleted, less those between an odd and an even quote), a cut point is
the last line feed before the payload limit whose parity is even (`rfind`, stepping back over
quoted fields), and blank lines are looked for with one regular expression. No step is taken
per line. The rules are csv_records' (the per-record splitter): the same record boundaries,
blank lines (LF or CRLF alone) skipped, a UTF-8 BOM at offset 0 dropped.

A shard is cut at the last record end that keeps it within the limit (its bytes as the model
gets them: a last row without its line end gets one); it starts at the first record that is
not blank. The cut depends only on where the shard starts, so a step resumed from any shard's
end cuts the same shards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from transform_jobs.csv_io.records import BOM, UnterminatedQuote

QUOTE = b'"'
NEWLINE = b"\n"
# A record end followed by a blank record (LF or CRLF alone): the alternation is the faster
# search, the lookahead finds each of several blank lines in a row. A match inside a quoted
# field is told apart by parity.
_BLANK_LINE = re.compile(rb"\n\n|\n\r\n")
_BLANK_AFTER = re.compile(rb"\n(?=\r?\n)")
# Every byte but a quote and a line feed (bytes.translate deletes them).
_ALL_BUT_MARKS = bytes(byte for byte in range(256) if byte not in b'"\n')


@dataclass(frozen=True)
class Span:
    """The input bytes of one shard."""

    start: int  # object offset of its first record (never a blank line)
    end: int  # object offset just past its last record: a resume point
    rows: int  # records that are not blank lines
    exact: bool  # its bytes are the shard as they are: no blank line inside, ends with LF
    spans_lines: bool  # a quoted field holds a line feed


class RecordTooLarge(ValueError):
    """One record alone is larger than the limit (as the model gets it)."""

    def __init__(self, row: int, size: int) -> None:
        super().__init__(f"data row {row} is {size} bytes")
        self.row = row  # 1-based, counting the `rows_before` the scan was given
        self.size = size


def spans(
    chunks: Iterable[bytes], *, offset: int, limit: int, rows_before: int = 0
) -> Iterator[Span]:
    """The shards of the bytes from `offset` (0, or a record boundary) to the end, in order.

    Raises UnterminatedQuote when the input ends inside a quoted field, and RecordTooLarge
    (numbered after `rows_before`) when a record cannot fit any shard.
    """
    cutter = _Cutter(limit, rows_before)
    final = None
    for region, position, last in regions(chunks, offset):
        if last:
            final = (region, position)
            break
        yield from cutter.add(region, position, final=False)
    if final is not None:
        yield from cutter.add(*final, final=True)
    tail = cutter.close_open()
    if tail is not None:
        yield tail


def regions(chunks: Iterable[bytes], offset: int) -> Iterator[tuple[bytes, int, bool]]:
    """The bytes cut at record ends: (region, object offset, is the last record without its
    line end). Each region starts at a record boundary and, but the last, ends with a record's
    line feed; a record longer than a chunk is gathered whole."""
    pending: list[bytes] = []  # a record begun and not yet ended
    odd = False  # an odd number of quotes in pending
    position = offset  # object offset of pending's first byte
    iterator = iter(chunks)
    if offset == 0:  # a BOM can come only at the object's start
        head = b""
        for chunk in iterator:
            head += chunk
            if len(head) >= len(BOM):
                break
        if head.startswith(BOM):
            head, position = head[len(BOM) :], len(BOM)
        iterator = _chain_first(head, iterator)
    for chunk in iterator:
        if not chunk:
            continue
        odd_at_end = odd ^ bool(chunk.count(QUOTE) & 1)
        cut, odd_after = _last_record_end(chunk, odd_at_end)
        if cut < 0:
            pending.append(chunk)
            odd = odd_at_end
            continue
        region = b"".join([*pending, memoryview(chunk)[:cut]]) if pending else chunk[:cut]
        yield region, position, False
        position += len(region)
        pending = [chunk[cut:]] if cut < len(chunk) else []
        odd = odd_after
    if odd:
        raise UnterminatedQuote(
            f"the input ends inside a quoted field that starts at byte {position}; "
            "close the quote (a quote inside a quoted field is written twice)"
        )
    if pending:
        yield b"".join(pending), position, True


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _last_record_end(chunk: bytes, odd_at_end: bool) -> tuple[int, bool]:
    """The index just past the chunk's last record-ending line feed (-1: none), and whether an
    odd number of quotes follows it. `odd_at_end`: the parity of the quotes from the last record
    boundary before the chunk to the chunk's end."""
    stop, odd_at_stop = len(chunk), odd_at_end
    while True:
        newline = chunk.rfind(NEWLINE, 0, stop)
        if newline < 0:
            return -1, odd_at_end
        odd_at_newline = odd_at_stop ^ bool(chunk.count(QUOTE, newline, stop) & 1)
        if not odd_at_newline:
            return newline + 1, odd_at_end
        # Inside a quoted field: it was opened by the last quote before the line feed.
        stop = chunk.rfind(QUOTE, 0, newline)
        if stop < 0:
            return -1, odd_at_end
        odd_at_stop = False


class _Cutter:
    """Cuts regions into spans within the limit; keeps the span being gathered."""

    def __init__(self, limit: int, rows_before: int) -> None:
        self.limit = limit
        self.row = rows_before  # rows in the spans already given out
        self.start: int | None = None  # object offset where the open span starts
        self.rows = 0
        self.exact = True
        self.lines = False
        self.end = 0  # object offset just past what the open span holds so far

    def add(self, region: bytes, position: int, *, final: bool) -> Iterator[Span]:
        # The last record without its line end gets one: a byte more for the model.
        size = len(region) + final
        p = 0
        while p < len(region):
            if self.start is None:
                p = _skip_blank_lines(region, p)
                if p >= len(region):
                    return
                self.start, self.rows, self.exact, self.lines = position + p, 0, True, False
            room = self.start + self.limit - position  # the span ends at or before this index
            if size <= room:
                self._take(region, position, p, len(region), final=final)
                return
            end = -1 if final else _last_end_within(region, p, room)
            if end < 0:  # not even the next record fits
                if self.start == position + p:
                    raise RecordTooLarge(self.row + 1, _record_size(region, p, final=final))
                yield self._close(position + p)
                continue
            self._take(region, position, p, end, final=False)
            yield self._close(position + end)
            p = end

    def close_open(self) -> Span | None:
        if self.start is None:
            return None
        return self._close(self.end)

    def _take(self, region: bytes, position: int, first: int, end: int, *, final: bool) -> None:
        ends, blanks, quoted = _counts(region, first, end)
        self.rows += ends - blanks + final
        self.exact = self.exact and not blanks and not final
        self.lines = self.lines or quoted > 0
        self.end = position + end

    def _close(self, end: int) -> Span:
        assert self.start is not None  # noqa: S101 (narrowing)
        span = Span(self.start, end, self.rows, self.exact, self.lines)
        self.row += self.rows
        self.start = None
        return span


def _skip_blank_lines(region: bytes, p: int) -> int:
    """The first record boundary at or after `p` that does not start a blank line."""
    while True:
        if region.startswith(NEWLINE, p):
            p += 1
        elif region.startswith(b"\r\n", p):
            p += 2
        else:
            return p


def _last_end_within(region: bytes, first: int, room: int) -> int:
    """The last record end e with first < e <= room (-1: none); `first` is a record boundary
    and the region ends at one, so the parity there is even."""
    stop = min(room, len(region))
    odd_at_stop: bool | None = None  # unknown until the first line feed is found
    while True:
        newline = region.rfind(NEWLINE, first, stop)
        if newline < 0:
            return -1
        if odd_at_stop is None:  # count from whichever known-even end is nearer
            if newline - first <= len(region) - newline:
                odd_at_newline = bool(region.count(QUOTE, first, newline) & 1)
            else:
                odd_at_newline = bool(region.count(QUOTE, newline) & 1)
        else:
            odd_at_newline = odd_at_stop ^ bool(region.count(QUOTE, newline, stop) & 1)
        if not odd_at_newline:
            return newline + 1
        stop = region.rfind(QUOTE, first, newline)  # the quote that opened this field
        if stop < 0:
            return -1
        odd_at_stop = False


def _record_size(region: bytes, first: int, *, final: bool) -> int:
    """The size of the record at `first` as the model gets it."""
    if final:
        return len(region) - first + 1
    return _first_end(region, first) - first


def _first_end(region: bytes, first: int) -> int:
    """Just past the first record-ending line feed at or after `first`."""
    odd, at = False, first
    while True:
        newline = region.find(NEWLINE, at)
        if newline < 0:
            return len(region)
        odd ^= bool(region.count(QUOTE, at, newline) & 1)
        if not odd:
            return newline + 1
        at = newline + 1


def _counts(region: bytes, first: int, end: int) -> tuple[int, int, int]:
    """(record-ending line feeds, blank lines, quoted line feeds) in region[first:end], which
    starts at a record boundary."""
    part = region if first == 0 and end == len(region) else region[first:end]
    # Only the quotes and line feeds, in order; quotes next to each other enclose no line feed
    # and dropping them in pairs keeps the parity of the rest. Then the line feeds between an
    # odd quote and the next even one are inside quoted fields.
    marks = part.translate(None, _ALL_BUT_MARKS).replace(b'""', b"")
    newlines = marks.count(NEWLINE)
    quoted = sum(map(len, marks.split(QUOTE)[1::2])) if QUOTE in marks else 0
    blanks = int(part.startswith(NEWLINE) or part.startswith(b"\r\n"))
    if _BLANK_LINE.search(part) is None:
        return newlines - quoted, blanks, quoted
    odd, at = False, 0
    for match in _BLANK_AFTER.finditer(part):
        odd ^= bool(part.count(QUOTE, at, match.start()) & 1)
        at = match.start()
        blanks += not odd
    return newlines - quoted, blanks, quoted
