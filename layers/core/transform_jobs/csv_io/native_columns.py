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
from collections.abc import Sequence
from types import ModuleType
from typing import Any

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
