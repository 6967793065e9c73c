"""Selecting and reordering CSV cells by header name, and writing cells back as RFC 4180."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.csv_io import lines, native_columns
from transform_jobs.csv_io.columns import (
    BadRecord,
    ColumnSelection,
    MissingColumns,
    body_and_end,
    cells,
    format_row,
    is_blank,
    spans_lines,
)
from transform_jobs.csv_io.records import UnterminatedQuote

# pyarrow is imported on a first quote-free block (a third of a second): here, not inside the
# first example of a property test that has a deadline.
native_columns.available()

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


def written_as_csv(selection: ColumnSelection, records: list[bytes]) -> bytes | tuple[int, str]:
    """The slow reference: the block through csv.reader and csv.writer as a whole; a block
    they cannot take gives the first record that is bad on its own (index, message). The same
    columns in the same order pass through as they are."""
    if selection.identity:
        block = b"".join(records)
        return block if block.endswith(b"\n") else block + b"\n"
    try:
        text = b"".join(records).decode("utf-8")
        table = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        whole = len(table) == len(records) and all(len(row) >= selection.width for row in table)
    except (UnicodeDecodeError, csv.Error):
        whole = False
    if not whole:
        for index, record in enumerate(records):
            try:
                selection.apply(record)
            except BadRecord as error:
                return index, str(error)
        return 0, "could not be read as CSV"
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(
        [row[index] for index in selection.indices] for row in table
    )
    return out.getvalue().encode()


def selected(selection: ColumnSelection, records: list[bytes]) -> bytes | tuple[int, str]:
    try:
        return selection.apply_many(records)
    except BadRecord as error:
        return error.index, str(error)


# Mostly plain cells, with every character CSV treats specially and some that are not ASCII.
tricky_cell = st.text(alphabet=st.sampled_from(list('ab7 ,"\r\n\x00é€\ufeff')), max_size=5)
plain_cell = st.text(alphabet=st.sampled_from(list("ab7 .-é\x00")), max_size=5)


@st.composite
def record_lists(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    """A header width and records as a splitter hands them over: rows written by csv.writer
    (some quoted), rows joined raw (stray quotes, lone CRs), rows with more or fewer cells,
    blank lines, bytes that are not UTF-8, LF and CRLF ends, the last row without its end."""
    width = draw(st.integers(1, 5))
    records: list[bytes] = []
    for _ in range(draw(st.integers(0, 25))):
        cells_in_row = draw(st.sampled_from([width] * 8 + [width + 1, max(1, width - 1)]))
        kind = draw(st.sampled_from(["plain"] * 6 + ["csv", "quote-all", "raw", "odd"]))
        cell_strategy = plain_cell if kind == "plain" else tricky_cell
        row = draw(st.lists(cell_strategy, min_size=cells_in_row, max_size=cells_in_row))
        end = draw(st.sampled_from(["\n", "\r\n"]))
        if kind in ("csv", "quote-all"):
            out = io.StringIO(newline="")
            if kind == "quote-all":
                csv.writer(out, lineterminator=end, quoting=csv.QUOTE_ALL).writerow(row)
            else:
                csv.writer(out, lineterminator=end).writerow(row)
            record = out.getvalue().encode()
        else:
            record = (",".join(row) + end).encode()
        if kind == "odd":
            record = draw(st.sampled_from([b"\n", b"\r\n", b"1,\xff,3\n", record.rstrip(b"\r\n")]))
        records.append(record)
    if records and draw(st.booleans()):
        records[-1] = records[-1].rstrip(b"\r\n") or records[-1]  # the file's last row
    return width, records


@settings(max_examples=examples(600), deadline=None)
@given(record_lists(), st.data())
def test_a_block_reads_as_csv_reader_and_csv_writer_make_it(
    case: tuple[int, list[bytes]], data: st.DataObject
) -> None:
    width, records = case
    header = [f"c{n}" for n in range(width)]
    wanted = data.draw(st.lists(st.sampled_from(header), min_size=1, max_size=width + 1))
    selection = ColumnSelection(header, wanted)
    assert selected(selection, records) == written_as_csv(selection, records)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.lists(plain_cell, min_size=4, max_size=4), min_size=1, max_size=40),
    st.sampled_from(["\n", "\r\n"]),
    st.lists(st.integers(0, 3), min_size=1, max_size=5),
)
def test_plain_rows_are_cut_at_commas_in_any_column_order(
    table: list[list[str]], end: str, picks: list[int]
) -> None:
    records = [(",".join(row) + end).encode() for row in table]
    selection = ColumnSelection(["a", "b", "c", "d"], ["abcd"[pick] for pick in picks])
    assert selected(selection, records) == written_as_csv(selection, records)


def test_quoted_rows_keep_their_place_among_plain_ones() -> None:
    selection = ColumnSelection(["a", "b", "c"], ["c", "a"])
    records = [b"1,2,3\r\n", b'4,"x\r\ny",",5"\r\n', b"7,8,9\r\n", b'"a""b",,\r\n', b"x,y,z"]
    assert selection.apply_many(records) == (b'3,1\r\n",5",4\r\n9,7\r\n,"a""b"\r\nz,x\r\n')


def test_one_column_writes_an_empty_cell_quoted_as_csv_writer_does() -> None:
    selection = ColumnSelection(["a", "b"], ["b"])
    assert selection.apply_many([b"1,\n", b"2,x\n"]) == b'""\r\nx\r\n'


def test_a_row_with_more_cells_than_the_header_keeps_the_wanted_ones() -> None:
    selection = ColumnSelection(["a", "b"], ["b", "a"])
    assert selection.apply_many([b"1,2\n", b"3,4,5\n", b"6,7\n"]) == b"2,1\r\n4,3\r\n7,6\r\n"


def test_a_bad_quoted_record_is_named_by_its_position_in_the_block() -> None:
    selection = ColumnSelection(["a", "b"], ["b"])
    with pytest.raises(BadRecord) as caught:
        selection.apply_many([b"1,2\n", b'"3",4\n', b"5,6\n", b'"7"\n', b"8,9\n"])
    assert caught.value.index == 3
    assert "has 1 cells where the header has 2" in str(caught.value)


def test_bytes_that_are_not_utf8_in_a_plain_row_are_named() -> None:
    selection = ColumnSelection(["a", "b"], ["b"])
    with pytest.raises(BadRecord) as caught:
        selection.apply_many([b"1,2\n", b"3,4\n", b"5,\xff\n"])
    assert caught.value.index == 2
    assert "not UTF-8" in str(caught.value)


def test_records_that_are_not_whole_lines_read_as_the_block_they_make() -> None:
    # Joined, '"a"' and 'b' make '"a"b', which is not CSV; each alone is.
    selection = ColumnSelection(["x", "y"], ["y"])
    with pytest.raises(BadRecord, match="could not be read as CSV"):
        selection.apply_many([b'"a",1', b"b,2\n"])


@pytest.mark.parametrize(
    ("width", "wanted", "records"),
    [
        # A stray quote in a record opens a field that a later record's quote closes.
        (1, [0, 0], [b"bb\r\n", b'7b7","b\n', b"ab b\r\n", b'"\na \xef\xbb\xbf"\r\n', b'""\r\n']),
        # A record holding a blank line after its row.
        (4, [1, 1, 0, 0], [b'b7,  .b,"\n77","\r 7"\n', b'77,"\xc3\xa9b""",  a7,",a"\n',
                           b',7",b a ,\n\n', b"a,,, .7b\n"]),
    ],
)  # fmt: skip
def test_records_with_quotes_that_do_not_read_alone_read_as_the_whole_block_does(
    width: int, wanted: list[int], records: list[bytes]
) -> None:
    records = records + [b",".join([b"1"] * width) + b"\n"] * len(records)  # mostly plain
    header = [f"c{n}" for n in range(width)]
    selection = ColumnSelection(header, [header[n] for n in wanted])
    assert selected(selection, records) == written_as_csv(selection, records)


# ---------------------------------------------------------------- pyarrow's reader (native_columns)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda width: st.tuples(
            st.just(width),
            st.lists(
                st.lists(
                    st.text(alphabet=st.sampled_from(list("ab7 .-é\x00\ufeff\t")), max_size=5),
                    min_size=width,
                    max_size=width,
                ),
                min_size=1,
                max_size=30,
            ),
            st.lists(st.integers(0, width - 1), min_size=1, max_size=width + 1),
        )
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_pyarrow_selects_plain_rows_byte_for_byte_as_the_split_in_python_does(
    case: tuple[int, list[list[str]], list[int]], end: str
) -> None:
    width, table, picks = case
    block = "".join(",".join(row) + end for row in table).encode()
    selection = ColumnSelection([f"c{n}" for n in range(width)], [f"c{n}" for n in picks])
    plain = selection._plain_lines(block, len(table))
    if plain is None:  # a blank line (a lone empty cell): not a plain block after all
        assert width == 1 and [""] in table
        return
    columns = selection._columns(*plain, len(table))
    assert columns is not None
    in_python = b"".join(
        b",".join(cell or (b'""' if len(picks) == 1 else b"") for cell in row) + b"\r\n"
        for row in zip(*columns, strict=True)
    )
    native = native_columns.select(plain[0], len(table), width, selection.indices)
    # The reader drops a BOM that starts its input: such a block is left to Python.
    assert native == (None if plain[0].startswith("\ufeff".encode()) else in_python)


def test_plain_rows_go_to_pyarrow_and_a_bad_block_back_to_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes | None] = []
    select = native_columns.select

    def recording(*args: object) -> bytes | None:
        calls.append(result := select(*args))  # type: ignore[arg-type]
        return result

    monkeypatch.setattr(native_columns, "select", recording)
    selection = ColumnSelection(["a", "b", "c"], ["c", "a"])
    assert selection.apply_many([b"1,2,3\n", b"4,5,6"]) == b"3,1\r\n6,4\r\n"
    assert calls == [b"3,1\r\n6,4\r\n"]
    with pytest.raises(BadRecord, match="has 2 cells where the header has 3"):
        selection.apply_many([b"1,2,3\n", b"4,5\n"])
    assert calls[1:] == [None]  # the reader refused the short row; csv.reader named it
    # A row with quotes is csv.reader's and csv.writer's; the plain rows around it the reader's.
    assert selection.apply_many([b'"1,",2,3\n', b"4,5,6\n"]) == b'3,"1,"\r\n6,4\r\n'
    assert calls[2:] == [b'3,"1,"\r\n6,4\r\n']
    assert selection.apply_many([b'"x\ny",2,3\n', b"4,5,6\n"]) == b'3,"x\ny"\r\n6,4\r\n'


def test_pyarrow_is_there_where_prepare_job_runs() -> None:
    # The arrow layer (template.yaml) and the dev requirements both hold it: without it every
    # reordering falls back to Python, three times slower, and nothing else would notice.
    assert native_columns.available()


def records_of(region: bytes) -> list[bytes]:
    """The region's records as the splitter cuts them, blank lines left out."""
    found: list[bytes] = []
    for batch in lines.line_batches([region]):
        found += batch.lines if batch.unended else [line + b"\n" for line in batch.lines]
    return [record for record in found if not is_blank(record)]


@settings(max_examples=examples(600), deadline=None)
@given(record_lists(), st.data())
def test_a_region_through_pyarrow_reads_as_its_records_through_csv_reader(
    case: tuple[int, list[bytes]], data: st.DataObject
) -> None:
    width, records = case
    region = b"".join(records)
    try:
        expected_records = records_of(region)
    except UnterminatedQuote:
        assume(False)
    header = [f"c{n}" for n in range(width)]
    wanted = data.draw(st.lists(st.sampled_from(header), min_size=1, max_size=width + 1))
    selection = ColumnSelection(header, wanted)
    assume(not selection.identity)  # those rows pass as they are, never through a selection
    native = native_columns.select_region(region, width, selection.indices)
    if native is not None:
        expected = selected(selection, expected_records) if expected_records else b""
        assert (native.data, native.rows) == (expected, len(expected_records))
        ends = native.row_ends()
        assert len(ends) == native.rows and (not ends or ends[-1] == len(native.data))
        starts = [0, *ends][:-1]
        assert [native.data[a:b] for a, b in zip(starts, ends, strict=True)] == [
            selected(selection, [record]) for record in expected_records
        ]


# No CR: csv.writer leaves a lone CR unquoted when its line end is LF, and csv.reader then takes
# it for a line end.
written_cell = st.text(alphabet=st.sampled_from(list('ab7 ,"\n\x00é€\ufeff')), max_size=5)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda width: st.lists(st.lists(written_cell, min_size=width, max_size=width), max_size=20)
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.data(),
)
def test_rows_csv_writer_wrote_go_through_pyarrow(
    table: list[list[str]], end: str, unended: bool, data: st.DataObject
) -> None:
    assume(table and all(row != [""] for row in table))  # a lone empty cell is a blank line
    width = len(table[0])
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=end).writerows(table)
    region = out.getvalue().encode()
    if unended:
        region = region[: -len(end)]
    assume(not region.startswith("\ufeff".encode()))
    header = [f"c{n}" for n in range(width)]
    wanted = data.draw(st.lists(st.sampled_from(header), min_size=1, max_size=width + 1))
    selection = ColumnSelection(header, wanted)
    assume(not selection.identity)
    native = native_columns.select_region(region, width, selection.indices)
    assert native is not None, "the fast path refused what csv.writer wrote"
    assert (native.data, native.rows) == (selected(selection, records_of(region)), len(table))


@pytest.mark.parametrize(
    "region",
    [
        b'1,"a"b\n',  # text after a closing quote: csv.reader (strict) refuses, pyarrow joins
        b'1,"a" \n',
        b'"a"x,1\n2,3\n',
        b'"a"x,"1"\n',  # the same between two quoted fields
        b'1,2\n"a"\r,1\n',  # a lone CR after a closing quote ends a line for csv.reader alone
        b"1,a\rb\n",  # a lone CR outside quotes
        b"1,a\r\r\n",  # the same, before what pyarrow skips as an empty line
        b'1,"a"\r',
        b'1,a"b\n',  # a quote inside a plain cell: both read it as it is, but no check says so
    ],
)
def test_quotes_pyarrow_would_read_otherwise_stay_with_csv_reader(region: bytes) -> None:
    assert native_columns.select_region(region, 2, [1, 0]) is None
