"""Column selection for blocks of quote-free rows in C++: pyarrow's CSV reader and its string
kernels, where Python would make a bytes object for every cell.

Only for blocks that columns.ColumnSelection has already checked: no quote anywhere (a row with
quotes stands in as a placeholder, and the caller's csv.writer line for it is put in its place),
every line ending in LF (or CRLF throughout), no lone CR, UTF-8. In such a block a cell is what lies
between two commas, so the reader runs with quoting and escapes off and every column as raw
binary (no type inference, no null values): what it returns are the very bytes a split on
commas would give. A row with more or fewer cells than the header stops the reader, and the
caller's slower paths then say how the block reads.

pyarrow is optional: prepare_job's layer ships it, and without it (`available()` is False) the
caller splits rows in Python, which gives the same bytes at a third of the speed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from transform_jobs.csv_io.records import BOM

# The reader drops a UTF-8 BOM at the start of its input (here a cell's first bytes) and reads
# an empty line as a row of empty cells (a split finds one cell in it): such blocks stay in Python.
_UNREADABLE_STARTS = (b"\xef\xbb\xbf", b"\n", b"\r\n")


@functools.cache
def _arrow() -> tuple[ModuleType, ModuleType, ModuleType] | None:
    """pyarrow, its CSV reader and its compute functions, imported on first use (about 0.1 s,
    which no other path should pay); None when it is not installed."""
    try:
        import pyarrow  # noqa: PLC0415 (lazy on purpose: see above)
        import pyarrow.compute  # noqa: PLC0415
        import pyarrow.csv  # noqa: PLC0415
    except ImportError:
        return None
    return pyarrow, pyarrow.csv, pyarrow.compute


def available() -> bool:
    return _arrow() is not None


def select(
    block: bytes,
    rows: int,
    width: int,
    indices: Sequence[int],
    written: Sequence[tuple[int, bytes]] = (),
) -> bytes | None:
    """The wanted cells of each of the `rows` rows of `block` in the order of `indices`, joined
    by commas, each row ending in CRLF; a lone empty cell (one column wanted) written `""` as
    csv.writer writes it. `written`: (row index, ascending; its output line) for rows the caller
    wrote itself (rows with quotes, which stand in the block as placeholders). None when a row
    is not `width` cells, or pyarrow is missing."""
    if block.startswith(_UNREADABLE_STARTS) or b"\n\n" in block or b"\n\r\n" in block:
        return None
    arrow = _arrow()
    if arrow is None:
        return None
    pa, csv, compute = arrow
    names = [f"c{index}" for index in range(width)]
    binary = pa.binary()
    try:
        table = csv.read_csv(
            pa.py_buffer(block),
            read_options=csv.ReadOptions(
                column_names=names,
                # One block, parsed in this thread: the caller hands over a chunk's rows at a
                # time, and the reader's threads cost more than they gain on a block that size.
                block_size=len(block) + 1,
                use_threads=False,
            ),
            parse_options=csv.ParseOptions(
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, binary),
                include_columns=sorted({names[index] for index in indices}),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # the caller checked; binary columns are not decoded
            ),
        )
    except pa.ArrowInvalid:
        return None  # a row with more or fewer cells (the message names it; the caller too)
    if table.num_rows != rows:
        return None
    columns = [table.column(names[index]) for index in indices]
    if len(columns) == 1:
        column = columns[0]
        empty = compute.equal(compute.binary_length(column), 0)
        columns = [compute.if_else(empty, pa.scalar(b'""', binary), column)]
    joined = compute.binary_join_element_wise(*columns, pa.scalar(b",", binary))
    # Joined with an empty last "column" by CRLF: each row then ends in CRLF.
    lines = compute.binary_join_element_wise(
        joined, pa.scalar(b"", binary), pa.scalar(b"\r\n", binary)
    )
    if written:
        flags = bytearray(rows)
        for index, _ in written:
            flags[index] = 1
        as_bytes = pa.Array.from_buffers(pa.uint8(), rows, [None, pa.py_buffer(flags)])
        replacements = pa.array([line for _, line in written], binary)
        lines = compute.replace_with_mask(lines, compute.not_equal(as_bytes, 0), replacements)
    return b"".join(_values_bytes(pa, chunk) for chunk in lines.chunks)


def _values_bytes(pa: Any, chunk: Any) -> bytes:
    """The bytes of a binary array's values, end to end: the span of its data buffer between
    its first and last offsets (values are laid out one after another)."""
    if not len(chunk):
        return b""
    _, offsets, data = chunk.buffers()
    bounds = pa.Array.from_buffers(pa.int32(), len(chunk) + 1, [None, offsets], chunk.offset)
    values: bytes = data[bounds[0].as_py() : bounds[-1].as_py()].to_pybytes()
    return values


# ------------------------------------------------------------------ whole regions of records

# Where a quoted field may begin (just after these) and end (just before these): a field that
# starts with its quote and ends with it, as RFC 4180 writes it. csv.reader reads any other
# quote its own way (literally inside a plain field; an error after a closing quote in strict
# mode), so such regions stay with it.
_BEFORE_OPENING = (b",", b"\n")
_AFTER_CLOSING = (b",", b"\n", b"\r\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
# What csv.writer quotes a cell for (its line end being CRLF).
_NEED_QUOTES = (b",", b'"', b"\r", b"\n")


def select_region(region: bytes, width: int, indices: Sequence[int]) -> tuple[bytes, int] | None:
    """A whole region of records (from a record boundary to a record end, or the object's end)
    as the model gets it: each row's wanted cells in order, written as csv.writer writes them,
    CRLF; blank lines dropped. Returns it and its row count, or None where csv.reader must say
    how the region reads: a quote not at a field's edges, a lone CR, bytes that are not UTF-8,
    a row with more or fewer cells than `width`, or no pyarrow."""
    if not region or region.startswith(BOM):
        return None  # the reader would drop a BOM that is a cell's first bytes
    if not region.isascii():
        try:
            region.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not _well_quoted(region):
        return None
    arrow = _arrow()
    if arrow is None:
        return None
    pa, csv, compute = arrow
    names = [f"c{index}" for index in range(width)]
    binary = pa.binary()
    try:
        table = csv.read_csv(
            pa.py_buffer(region),
            read_options=csv.ReadOptions(
                column_names=names, block_size=len(region) + 1, use_threads=False
            ),
            parse_options=csv.ParseOptions(
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, binary),
                include_columns=sorted({names[index] for index in indices}),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    rows = table.num_rows  # blank lines are none: the reader skips them, as the sharder does
    if not rows:
        return b"", 0
    quote = pa.scalar(b'"', binary)
    columns = []
    for index in indices:
        column = table.column(names[index])
        # A look at the column's bytes first: most columns hold no character that needs quotes,
        # and the regular expression per cell costs as much as reading the region.
        values = b"".join(_values_bytes(pa, chunk) for chunk in column.chunks)
        if any(special in values for special in _NEED_QUOTES):
            needs_quotes = compute.match_substring_regex(column, '[,"\r\n]')
            escaped = compute.replace_substring(column, '"', '""')
            quoted = compute.binary_join_element_wise(quote, escaped, quote, pa.scalar(b"", binary))
            column = compute.if_else(needs_quotes, quoted, column)
        columns.append(column)
    if len(columns) == 1:
        column = columns[0]
        empty = compute.equal(compute.binary_length(column), 0)
        columns = [compute.if_else(empty, pa.scalar(b'""', binary), column)]
    joined = compute.binary_join_element_wise(*columns, pa.scalar(b",", binary))
    lines = compute.binary_join_element_wise(
        joined, pa.scalar(b"", binary), pa.scalar(b"\r\n", binary)
    )
    return b"".join(_values_bytes(pa, chunk) for chunk in lines.chunks), rows


def _well_quoted(region: bytes) -> bool:
    """Whether every quote in the region opens a field at its start, closes it at its end or is
    doubled inside it, and every CR ends a line with its LF (a CR inside a quoted field too,
    which costs such a region the fast path, not its correctness). Split at quotes, the parts
    at even places are outside quoted fields, those at odd places inside; an empty even part
    between two odd ones is a doubled quote."""
    if _LONE_CR.search(region):
        return False
    if b'"' not in region:
        return True
    parts = region.split(b'"')
    if len(parts) % 2 == 0:
        return False  # ends inside a quoted field
    first, *middle, last = parts[0::2]
    if first and not first.endswith(_BEFORE_OPENING):
        return False
    if last and not last.startswith(_AFTER_CLOSING):
        return False
    return all(
        not part or (part.startswith(_AFTER_CLOSING) and part.endswith(_BEFORE_OPENING))
        for part in middle
    )
