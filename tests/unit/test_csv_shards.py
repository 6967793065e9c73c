"""Shard cut points found a chunk at a time, checked against a slow reference built on the
per-record splitter (csv_records) and against csv.reader, over generated CSV: quotes, doubled
quotes, CRLF and LF, quoted line breaks, blank lines, a BOM, a last row without its line end,
rows with extra cells, bytes that are not UTF-8, fed in chunks of any size."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.csv_io.columns import is_blank
from transform_jobs.csv_io.records import BOM, UnterminatedQuote, record_batches
from transform_jobs.csv_io.shards import RecordTooLarge, Span, spans

cell_text = st.lists(
    st.sampled_from(["a", "Z", "1", " ", ",", '"', "\n", "\r\n", "é", ";"]), max_size=6
).map("".join)
raw_bytes = st.sampled_from([b"\xff", b"\xe9", b"\x00", b"\xc3("])  # not UTF-8


def quoted(text: str) -> str:
    if text == "" or any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """Rows of 1-4 cells (so some rows have extra cells), each ended by LF or CRLF, with blank
    lines between some, sometimes a BOM, sometimes no line end after the last row."""
    parts: list[bytes] = [BOM] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 14))):
        if draw(st.integers(0, 5)) == 0:
            parts.append(draw(st.sampled_from([b"\n", b"\r\n"])))  # a blank line
            continue
        cells = [quoted(text) for text in draw(st.lists(cell_text, min_size=1, max_size=4))]
        row = ",".join(cells).encode()
        if draw(st.integers(0, 6)) == 0:
            row += draw(raw_bytes)
        parts.append(row + draw(st.sampled_from([b"\n", b"\r\n"])))
    data = b"".join(parts)
    if draw(st.booleans()) and data.endswith(b"\n"):
        data = data[: -2 if data.endswith(b"\r\n") else -1]
    return data


def reference(data: bytes, limit: int, offset: int = 0, rows_before: int = 0) -> list[Span]:
    """The same cuts, record by record: a shard starts at a record that is not blank and takes
    records while its bytes (plus a line end for a last row without one) fit the limit."""
    found: list[Span] = []
    position, start, row = offset, None, rows_before
    if offset == 0 and data.startswith(BOM):
        position = len(BOM)
    rows, exact, lines = 0, True, False
    for records, _ in record_batches([data[offset:]], offset=offset):
        for record in records:
            end = position + len(record)
            extra = 0 if record.endswith(b"\n") else 1
            if start is not None and end - start + extra > limit:
                found.append(Span(start, position, rows, exact, lines))
                row, start = row + rows, None
            if start is None:
                if is_blank(record):
                    position = end
                    continue
                start, rows, exact, lines = position, 0, True, False
                if len(record) + extra > limit:
                    raise RecordTooLarge(row + 1, len(record) + extra)
            if is_blank(record):
                exact = False
            else:
                rows += 1
                lines = lines or b"\n" in record[: len(record) - 1 + extra]
                exact = exact and not extra
            position = end
    if start is not None:
        found.append(Span(start, position, rows, exact, lines))
    return found


def chunked(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        yield data[position : position + size]
        position, turn = position + size, turn + 1


def outcome(make: object) -> object:
    try:
        return make()  # type: ignore[operator]
    except UnterminatedQuote:
        return "unterminated"
    except RecordTooLarge as error:
        return ("too large", error.row, error.size)


@settings(max_examples=examples(400), deadline=None)
@given(
    data=csv_bytes(),
    limit=st.integers(1, 60),
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=5),
)
def test_spans_are_the_reference_cuts_whatever_the_chunks(
    data: bytes, limit: int, sizes: list[int]
) -> None:
    expected = outcome(lambda: reference(data, limit))
    assert outcome(lambda: list(spans(chunked(data, sizes), offset=0, limit=limit))) == expected


@settings(max_examples=examples(300), deadline=None)
@given(data=csv_bytes(), limit=st.integers(4, 60), sizes=st.lists(st.integers(1, 30), min_size=1))
def test_a_span_is_exact_only_when_its_bytes_are_the_shard(
    data: bytes, limit: int, sizes: list[int]
) -> None:
    try:
        found = list(spans(chunked(data, sizes), offset=0, limit=limit))
    except (UnterminatedQuote, RecordTooLarge):
        return
    for span in found:
        records = [
            r for batch, _ in record_batches([data[span.start : span.end]], offset=1) for r in batch
        ]
        shard = b"".join(r for r in records if not is_blank(r))
        shard += b"" if shard.endswith(b"\n") else b"\n"
        assert len(shard) <= limit
        assert span.rows == len([r for r in records if not is_blank(r)])
        assert span.exact is (shard == data[span.start : span.end])


@settings(max_examples=examples(200), deadline=None)
@given(data=csv_bytes(), limit=st.integers(1, 60), sizes=st.lists(st.integers(1, 30), min_size=1))
def test_resuming_at_any_span_end_cuts_the_same_spans(
    data: bytes, limit: int, sizes: list[int]
) -> None:
    try:
        found = list(spans(chunked(data, sizes), offset=0, limit=limit))
    except (UnterminatedQuote, RecordTooLarge):
        return
    rows = 0
    for index, span in enumerate(found):
        rows += span.rows
        rest = spans(
            chunked(data[span.end :], sizes), offset=span.end, limit=limit, rows_before=rows
        )
        assert list(rest) == found[index + 1 :]


@settings(max_examples=examples(200), deadline=None)
@given(
    table=st.lists(st.lists(cell_text, min_size=1, max_size=4), max_size=12),
    line_end=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    limit=st.integers(30, 200),
    sizes=st.lists(st.integers(1, 30), min_size=1),
)
def test_rows_and_bytes_are_what_csv_reader_reads(
    table: list[list[str]], line_end: str, bom: bool, limit: int, sizes: list[int]
) -> None:
    text = "".join(",".join(quoted(cell) for cell in row) + line_end for row in table)
    data = (BOM if bom else b"") + text.encode()
    try:
        found = list(spans(chunked(data, sizes), offset=0, limit=limit))
    except RecordTooLarge:
        return
    # A row of one empty cell is written as "" (quoted), so no row here is a blank line.
    assert sum(span.rows for span in found) == len(table)
    assert b"".join(data[span.start : span.end] for span in found) == text.encode()
    read = [
        row
        for span in found
        for row in csv.reader(io.StringIO(data[span.start : span.end].decode(), newline=""))
    ]
    assert read == table
    assert all(span.exact for span in found)


def test_blank_lines_are_skipped_between_shards_and_make_a_shard_inexact_inside() -> None:
    data = b'\r\n\na,b\n\n"x\n\ny",z\r\n\r\nlast'
    found = list(spans([data], offset=0, limit=100))
    assert found == [Span(start=3, end=len(data), rows=3, exact=False, spans_lines=True)]
    # Cut small: a blank line that fits stays in its shard (inexact); one that does not is
    # skipped before the next shard, which is then exact. A last row without its line end is
    # inexact too (the shard gets one).
    found = list(spans([data], offset=0, limit=10))
    assert [(s.start, s.end, s.rows, s.exact) for s in found] == [
        (3, 8, 1, False),
        (8, 18, 1, True),
        (20, 24, 1, False),
    ]


def test_a_record_larger_than_the_limit_says_which_and_how_large() -> None:
    with pytest.raises(RecordTooLarge) as raised:
        list(spans([b'1,2\n"3\n4",5\n'], offset=0, limit=6, rows_before=10))
    assert (raised.value.row, raised.value.size) == (12, 8)


def test_an_unterminated_quote_says_where_the_record_starts() -> None:
    with pytest.raises(UnterminatedQuote, match="starts at byte 4"):
        list(spans([b'1,2\n3,"open\n', b"more"], offset=0, limit=100))
