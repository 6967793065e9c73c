"""CSV records as lines (each without its line feed), cut from chunks of bytes of any size with
whole-chunk bytes operations.

A chunk is split at every line feed; a line feed inside a quoted field is told apart by the
parity of the quotes (inside a quoted field every quote is doubled), counted per piece with a
C-speed map: the pieces of a record that spans lines lie between two pieces with an odd number of
quotes, and only those records are put back together in Python. The boundaries are those of
csv_records (the per-record splitter): a line feed outside quotes ends a record, a UTF-8 BOM at
the start of the object is dropped, and the last record may lack its line end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import accumulate, chain, compress, count, repeat
from typing import NamedTuple

from transform_jobs.csv_io.records import BOM, UnterminatedQuote

QUOTE = b'"'
NEWLINE = b"\n"
CR = b"\r"


class LineBatch(NamedTuple):
    """Whole records, each without its line feed (a CRLF record keeps its CR)."""

    lines: list[bytes]
    start: int  # the object offset of the first line
    unended: bool  # the only line is the object's last record, which has no line feed
    # Whether a line may hold a CR (False: none does, so every line ends in LF alone). Looked
    # for in the whole chunk at C speed, not line by line.
    crs: bool = True


def line_batches(chunks: Iterable[bytes], *, offset: int = 0) -> Iterator[LineBatch]:
    """The records of the bytes from `offset` (0, or a record boundary) a chunk at a time.

    Raises UnterminatedQuote when the bytes end inside a quoted field."""
    pending: list[bytes] = []  # a record begun and not yet ended
    odd = False  # an odd number of quotes in pending
    stream = iter(chunks)
    if offset == 0:  # only at the object's start can a BOM come
        stream, offset = _without_bom(stream)
    position = offset  # the object offset of the next line
    for chunk in stream:
        if not pending:
            lines, tail = _lines(chunk)
            size = len(chunk) - len(tail)
            crs = CR in chunk
        else:
            end = _first_end(chunk, odd)
            if end < 0:
                pending.append(chunk)
                odd ^= bool(chunk.count(QUOTE) & 1)
                continue
            lines, tail = _lines(chunk[end:])
            first = b"".join([*pending, chunk[: end - 1]])
            lines[:0] = [first]
            size = sum(map(len, pending)) + len(chunk) - len(tail)
            crs = CR in chunk or CR in first
        pending = [tail] if tail else []
        odd = bool(tail.count(QUOTE) & 1)
        if lines:
            yield LineBatch(lines, position, unended=False, crs=crs)
            position += size
    if odd:
        raise UnterminatedQuote(
            f"the input ends inside a quoted field that starts at byte {position}; "
            "close the quote (a quote inside a quoted field is written twice)"
        )
    if pending:
        yield LineBatch([b"".join(pending)], position, unended=True)


def _without_bom(chunks: Iterator[bytes]) -> tuple[Iterator[bytes], int]:
    """The chunks with a leading BOM taken off, and where they then start."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(BOM) or not BOM.startswith(head):
            break
    if head.startswith(BOM):
        return chain([head[len(BOM) :]], chunks), len(BOM)
    return chain([head], chunks), 0


def _lines(data: bytes) -> tuple[list[bytes], bytes]:
    """The records of `data` (which starts at a record boundary) that end in it, and the bytes
    of the one that does not (the tail, from a record boundary)."""
    pieces = data.split(NEWLINE)
    tail = pieces.pop()
    quotes = data.count(QUOTE)
    if not quotes:
        return pieces, tail
    # Fewer quotes than lines (a text column quoted now and then): look at the quoted fields;
    # else (every cell quoted) at the lines.
    spans = _spans_by_fields(data, len(pieces)) if quotes < len(pieces) else _spans_by_lines(pieces)
    if spans and spans[-1][1] >= len(pieces):  # the last record runs into the tail
        first = spans.pop()[0]
        tail = NEWLINE.join([*pieces[first:], tail])
        del pieces[first:]
    if not spans:
        return pieces, tail
    lines: list[bytes] = []
    done = 0
    for first, last in spans:
        lines += pieces[done:first]
        lines.append(NEWLINE.join(pieces[first : last + 1]))
        done = last + 1
    lines += pieces[done:]
    return lines, tail


def _spans_by_lines(pieces: list[bytes]) -> list[tuple[int, int]]:
    """The runs of pieces that make one record (first, last; last == len(pieces): it runs into
    the tail): a record spans from a piece with an odd number of quotes to the next such."""
    quotes = list(map(bytes.count, pieces, repeat(QUOTE)))
    odd = [index for index in compress(count(), quotes) if quotes[index] & 1]
    if len(odd) % 2:
        odd.append(len(pieces))
    return list(zip(odd[::2], odd[1::2], strict=True))


def _spans_by_fields(data: bytes, lines: int) -> list[tuple[int, int]]:
    """The same from the quoted fields: split at quotes, every other part is inside a field (a
    doubled quote leaves an empty part), and one holding line feeds joins the pieces from its
    opening quote's to its closing quote's."""
    parts = data.split(QUOTE)
    feeds = list(map(bytes.count, parts, repeat(NEWLINE)))
    before = list(accumulate(feeds, initial=0))  # line feeds before each part
    inside = range(1, len(parts), 2)
    spans: list[tuple[int, int]] = []
    for part in compress(inside, feeds[1::2]):
        first = before[part]
        last = before[part + 1] if part + 1 < len(parts) else lines  # an open field: the tail's
        if spans and first <= spans[-1][1]:  # another field of the same record
            first = spans.pop()[0]
        spans.append((first, last))
    return spans  # (a field left open with no line feed in it yet opened in the tail)


def _first_end(chunk: bytes, odd: bool) -> int:
    """Just past the line feed that ends the record under way (-1: none in the chunk); `odd`:
    whether it is inside a quoted field where the chunk starts. Line by line, but only until
    that record ends."""
    at = 0
    while True:
        newline = chunk.find(NEWLINE, at)
        if newline < 0:
            return -1
        odd ^= bool(chunk.count(QUOTE, at, newline) & 1)
        if not odd:
            return newline + 1
        at = newline + 1
