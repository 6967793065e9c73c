"""Selecting and reordering CSV cells by header name, and writing cells back as RFC 4180."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transform_jobs.csv_columns import (
    BadRecord,
    ColumnSelection,
    MissingColumns,
    body_and_end,
    cells,
    format_row,
    is_blank,
    spans_lines,
)

cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)


@given(st.lists(cell, min_size=1, max_size=6))
def test_a_formatted_row_reads_back_as_the_same_cells(row: list[str]) -> None:
    if row == [""]:
        return  # a lone empty cell is a blank line: no cells at all
    written = format_row(row)
    assert cells(written) == row
    assert list(csv.reader(io.StringIO(written.decode(), newline=""))) == [row]


def test_a_lone_carriage_return_is_quoted_unlike_csv_writer() -> None:
    assert format_row(["a\rb", "c"]) == b'"a\rb",c\n'


def test_selection_reorders_by_name_and_drops_the_rest() -> None:
    selection = ColumnSelection(["id", "petal", "note", "sepal"], ["sepal", "petal"])
    assert selection.apply(b'1,0.2,"a, b",5.1\r\n') == b"5.1,0.2\r\n"
    assert not selection.identity


def test_the_same_columns_in_the_same_order_pass_through_untouched() -> None:
    selection = ColumnSelection(["a", "b"], ["a", "b"])
    record = b'"1",  2\r\n'
    assert selection.apply(record) is record


def test_names_are_matched_without_surrounding_spaces() -> None:
    assert ColumnSelection([" a", "b "], ["b", "a"]).indices == [1, 0]


def test_missing_columns_are_named_with_the_header_that_was_found() -> None:
    with pytest.raises(MissingColumns) as caught:
        ColumnSelection(["a", "b"], ["a", "x", "y"])
    assert caught.value.missing == ["x", "y"]
    assert "has no column 'x', 'y' (its columns are 'a', 'b')" in str(caught.value)


def test_a_short_row_or_bad_bytes_are_bad_records() -> None:
    selection = ColumnSelection(["a", "b", "c"], ["c"])
    with pytest.raises(BadRecord, match="has 2 cells where the header has 3"):
        selection.apply(b"1,2\n")
    with pytest.raises(BadRecord, match="not UTF-8"):
        selection.apply(b"1,\xff,3\n")


def test_line_ends_blanks_and_spanning_records() -> None:
    assert body_and_end(b"a,b\r\n") == (b"a,b", b"\r\n")
    assert body_and_end(b"a,b\n") == (b"a,b", b"\n")
    assert body_and_end(b"a,b") == (b"a,b", b"")
    assert is_blank(b"\r\n") and not is_blank(b",\n")
    assert spans_lines(b'1,"a\nb"') and not spans_lines(b"1,2")


@given(st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=8))
def test_a_block_of_records_is_selected_as_each_record_would_be(table: list[list[str]]) -> None:
    records = [format_row(row) for row in table]
    selection = ColumnSelection(["a", "b", "c"], ["c", "a"])
    block = selection.apply_many(records)
    assert block == b"".join(selection.apply(record) for record in records)
    assert list(csv.reader(io.StringIO(block.decode(), newline=""))) == [
        [row[2], row[0]] for row in table
    ]


def test_a_bad_record_in_a_block_is_named_by_its_position() -> None:
    selection = ColumnSelection(["a", "b"], ["b"])
    with pytest.raises(BadRecord) as caught:
        selection.apply_many([b"1,2\n", b"3,4\n", b"5\n", b"6,7\n"])
    assert caught.value.index == 2
    assert "has 1 cells where the header has 2" in str(caught.value)
