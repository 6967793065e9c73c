"""Column selection in C++: pyarrow's CSV reader and its string kernels, where Python would make
a bytes object for every cell.

Two entry points, both for bytes that columns.ColumnSelection or the sharder has checked or that
are checked here first, so that the reader reads them exactly as csv.reader does:

- `select`: a block of quote-free rows (a row with quotes stands in as a placeholder, and the
  caller's csv.writer line for it is put in its place), every line ending in LF (or CRLF
  throughout), no lone CR, UTF-8. A cell is what lies between two commas, so the reader runs
  with quoting off.
- `select_region`: a whole region of records with quoted fields, read with quoting on, when
  every quote is at a field's edge or doubled inside it (checked here); the cells that
  csv.writer would quote are quoted again.

Every column is read as raw binary (no type inference, no null values), so what the reader
returns are the cells' very bytes. A row with more or fewer cells than the header stops the
reader, and the caller's slower paths then say how the bytes read.

pyarrow is optional: prepare_job's layer ships it, and without it (`available()` is False) the
caller works in Python, which gives the same bytes more slowly.
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
# Where a quoted field may begin (just after these) and end (just before these): a field that
# starts with its quote and ends with it, as RFC 4180 writes it. csv.reader reads any other
# quote its own way (literally inside a plain field; an error after a closing quote in strict
# mode, where pyarrow goes on), so such regions stay with it.
_BEFORE_OPENING = (b",", b"\n")
_AFTER_CLOSING = (b",", b"\n", b"\r\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
# What csv.writer quotes a cell for (its line end being CRLF).
_NEED_QUOTES = (b",", b'"', b"\r", b"\n")
_NEEDS_QUOTES_PATTERN = '[,"\\r\\n]'


@functools.cache
def _arrow() -> tuple[ModuleType, ModuleType, ModuleType] | None:
    """pyarrow, its CSV reader and its compute functions' C++ entry point, imported on first
    use (about 0.12 s, which no other path should pay); None when it is not installed.

    `pyarrow._compute.call_function` is what pyarrow.compute's wrappers call; importing
    pyarrow.compute itself generates some 300 of them with their docstrings, 40 ms of every
    cold start that uses this module."""
    try:
        import pyarrow  # noqa: PLC0415 (lazy on purpose: see above)
        import pyarrow._compute  # noqa: PLC0415
        import pyarrow.csv  # noqa: PLC0415
    except ImportError:
        return None
    return pyarrow, pyarrow.csv, pyarrow._compute


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
    table = _read(arrow, block, width, indices, quoted=False)
    if table is None or table.num_rows != rows:
        return None
    pa, _, compute = arrow
    lines = _lines(arrow, [table.column(f"c{index}") for index in indices])
    if written:
        flags = bytearray(rows)
        for index, _ in written:
            flags[index] = 1
        mask = compute.call_function(
            "not_equal", [pa.Array.from_buffers(pa.uint8(), rows, [None, pa.py_buffer(flags)]), 0]
        )
        replacements = pa.array([line for _, line in written], pa.binary())
        lines = compute.call_function("replace_with_mask", [lines, mask, replacements])
    return _values(pa, lines)


class Prepared:
    """A region's rows as the model gets them (`data`, `rows` of them), and where each ends."""

    def __init__(self, data: bytes, rows: int, lines: Any = None, pa: Any = None) -> None:
        self.data, self.rows, self._lines, self._pa = data, rows, lines, pa

    def row_ends(self) -> list[int]:
        """The offset in `data` just past each row (the lines' offsets, less the first)."""
        if self._lines is None:
            return []
        pa, array = self._pa, self._lines.combine_chunks()
        offsets = pa.Array.from_buffers(
            pa.int32(), len(array) + 1, [None, array.buffers()[1]], array.offset
        ).to_pylist()
        return [end - offsets[0] for end in offsets[1:]]


def select_region(region: bytes, width: int, indices: Sequence[int]) -> Prepared | None:
    """A whole region of records (from a record boundary to a record end, or the object's end)
    as the model gets it: each row's wanted cells in order, written as csv.writer writes them,
    CRLF; blank lines dropped. Returns it and its row count, or None where csv.reader must say
    how the region reads: a quote not at a field's edges, a CR not ending a line, bytes that are
    not UTF-8, a row with more or fewer cells than `width`, or no pyarrow."""
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
    table = _read(arrow, region, width, indices, quoted=True)
    if table is None:
        return None
    rows = table.num_rows  # blank lines are none: the reader skips them, as the sharder does
    if not rows:
        return Prepared(b"", 0)
    pa, _, compute = arrow
    quote, nothing = pa.scalar(b'"', pa.binary()), pa.scalar(b"", pa.binary())
    columns = []
    for index in indices:
        column = table.column(f"c{index}")
        # A look at the column's bytes first: most columns hold no character that needs quotes,
        # and the regular expression per cell costs as much as reading the region.
        if any(special in _values(pa, column) for special in _NEED_QUOTES):
            needs_quotes = compute.call_function(
                "match_substring_regex",
                [column],
                compute.MatchSubstringOptions(_NEEDS_QUOTES_PATTERN),
            ).combine_chunks()
            # Quoted where needed only: a few cells of a text column, as a rule.
            cells = compute.call_function("filter", [column, needs_quotes])
            escaped = compute.call_function(
                "replace_substring", [cells], compute.ReplaceSubstringOptions('"', '""')
            )
            quoted = compute.call_function(
                "binary_join_element_wise", [quote, escaped, quote, nothing]
            )
            column = compute.call_function(
                "replace_with_mask", [column, needs_quotes, quoted.combine_chunks()]
            )
        columns.append(column)
    lines = _lines(arrow, columns)
    return Prepared(_values(pa, lines), rows, lines, pa)


def _read(
    arrow: tuple[Any, Any, Any], data: bytes, width: int, indices: Sequence[int], *, quoted: bool
) -> Any:
    """The wanted columns (named c0, c1, ...) of `data` as raw binary; None when a row is not
    `width` cells."""
    pa, csv, _ = arrow
    names = [f"c{index}" for index in range(width)]
    try:
        return csv.read_csv(
            pa.py_buffer(data),
            read_options=csv.ReadOptions(
                column_names=names,
                # One block, parsed in this thread: the caller hands over a chunk's rows at a
                # time, and the reader's threads cost more than they gain on a block that size.
                block_size=len(data) + 1,
                use_threads=False,
            ),
            parse_options=csv.ParseOptions(
                quote_char='"' if quoted else False,
                double_quote=quoted,
                escape_char=False,
                newlines_in_values=quoted,
                ignore_empty_lines=quoted,
            ),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.binary()),
                include_columns=sorted({names[index] for index in indices}),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # checked before; binary columns are not decoded
            ),
        )
    except pa.ArrowInvalid:
        return None  # a row with more or fewer cells (the message names it; the caller too)


def _lines(arrow: tuple[Any, Any, Any], columns: list[Any]) -> Any:
    """Each row's cells joined by commas and ended by CRLF; a lone empty cell (one column)
    written `""`, as csv.writer writes it (unquoted, the row would read as a blank line)."""
    pa, _, compute = arrow
    binary = pa.binary()
    if len(columns) == 1:
        empty = compute.call_function(
            "equal", [compute.call_function("binary_length", [columns[0]]), 0]
        )
        columns = [compute.call_function("if_else", [empty, pa.scalar(b'""', binary), columns[0]])]
    joined = compute.call_function("binary_join_element_wise", [*columns, pa.scalar(b",", binary)])
    # Joined with an empty last "column" by CRLF: each row then ends in CRLF.
    return compute.call_function(
        "binary_join_element_wise", [joined, pa.scalar(b"", binary), pa.scalar(b"\r\n", binary)]
    )


def _values(pa: Any, array: Any) -> bytes:
    """The bytes of a binary (chunked) array's values, end to end: in each chunk, the span of
    its data buffer between its first and last offsets (values are laid out one after another)."""
    pieces = []
    for chunk in getattr(array, "chunks", [array]):
        if not len(chunk):
            continue
        _, offsets, data = chunk.buffers()
        bounds = pa.Array.from_buffers(pa.int32(), len(chunk) + 1, [None, offsets], chunk.offset)
        pieces.append(data[bounds[0].as_py() : bounds[-1].as_py()].to_pybytes())
    return b"".join(pieces)


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
