"""Record boundaries in CSV bytes, checked against Python's csv module over generated tables
(quotes, commas, line breaks inside cells, empty cells, unicode), fed in chunks of any size."""

from __future__ import annotations

import csv
import io
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.csv_io.records import BOM, RecordSplitter, UnterminatedQuote, record_batches

cells = st.text(
    alphabet=st.sampled_from(["a", "Z", "1", " ", ",", '"', "\n", "\r", "é", "漢", "🙂", ";"]),
    max_size=8,
)
tables = st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=12)


def encode(rows: list[list[str]], line_end: str) -> bytes:
    """RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. (csv.writer
    leaves a lone carriage return unquoted when the line end is LF, so it is not used here.)"""

    def cell(text: str) -> str:
        if any(ch in text for ch in ',"\r\n') or text == "":
            return '"' + text.replace('"', '""') + '"'
        return text

    return "".join(",".join(cell(c) for c in row) + line_end for row in rows).encode()


def split(data: bytes, sizes: list[int], offset: int = 0) -> tuple[list[bytes], RecordSplitter]:
    splitter = RecordSplitter(offset=offset)
    records: list[bytes] = []
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        records += splitter.feed(data[position : position + size])
        position += size
        turn += 1
    records += splitter.finish()
    return records, splitter


@settings(max_examples=examples(300), deadline=None)
@given(
    rows=tables,
    line_end=st.sampled_from(["\n", "\r\n"]),
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6),
    bom=st.booleans(),
    trailing=st.booleans(),
)
def test_records_are_exactly_the_rows(
    rows: list[list[str]], line_end: str, sizes: list[int], bom: bool, trailing: bool
) -> None:
    data = encode(rows, line_end)
    if not trailing:
        data = data[: -len(line_end)]
    records, splitter = split((BOM if bom else b"") + data, sizes)
    assert b"".join(records) == data  # nothing lost, nothing added, the BOM dropped
    assert splitter.bom is bom
    assert splitter.offset == len(data) + (len(BOM) if bom else 0)
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert list(csv.reader(io.StringIO(record.decode(), newline=""))) == [row]
    # Only a line feed inside a field breaks a split on lines (a lone CR does not).
    assert splitter.spans_lines is any("\n" in cell for r in rows for cell in r)


def test_a_checkpoint_is_a_byte_offset() -> None:
    data = b'a,"b\nc"\n1,2\n"x""y",z\n'
    first = RecordSplitter()
    got = first.feed(data[:10])
    assert got == [b'a,"b\nc"\n']
    resumed, _ = split(data[first.offset :], [3], offset=first.offset)
    assert resumed == [b"1,2\n", b'"x""y",z\n']


def test_an_unterminated_quote_is_an_error_that_says_where() -> None:
    splitter = RecordSplitter()
    assert splitter.feed(b'1,2\n3,"open\n') == [b"1,2\n"]
    with pytest.raises(UnterminatedQuote, match="starts at byte 4"):
        splitter.finish()


def test_a_short_object_that_only_looks_like_a_bom_start_is_kept() -> None:
    records, splitter = split(b"\xef\xbb", [1])
    assert records == [b"\xef\xbb"] and not splitter.bom


@settings(max_examples=examples(150), deadline=None)
@given(
    rows=tables,
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6),
    bom=st.booleans(),
)
def test_batches_say_where_they_start_so_any_record_end_is_a_resume_point(
    rows: list[list[str]], sizes: list[int], bom: bool
) -> None:
    data = (BOM if bom else b"") + encode(rows, "\r\n")
    chunks, position, turn = [], 0, 0
    while position < len(data):
        chunks.append(data[position : position + sizes[turn % len(sizes)]])
        position, turn = position + sizes[turn % len(sizes)], turn + 1
    ends = []
    for records, start in record_batches(chunks):
        assert data[start : start + sum(map(len, records))] == b"".join(records)
        ends += list(accumulate(map(len, records), initial=start))[1:]
    # Resuming from any record's end gives exactly the records after it.
    for index, end in enumerate(ends):
        rest = [r for batch, _ in record_batches([data[end:]], offset=end) for r in batch]
        assert len(rest) == len(rows) - index - 1
