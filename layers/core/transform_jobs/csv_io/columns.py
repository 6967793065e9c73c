"""Columns of CSV records: reading a header, selecting and reordering cells by name, and writing
cells back as RFC 4180.

Records arrive as whole byte records (csv_records); csv.reader parses one, and cells are written
by `format_row`, not csv.writer: csv.writer leaves a lone carriage return unquoted, which a
reader then takes for a line end.

A block of records is reordered with bytes operations where no row holds a quote: such a row's
cells are what splitting it on commas gives, and none needs quoting on the way out. A block
with no quote at all goes to pyarrow's reader in C++ (native_columns) where it is installed,
else is split here. Rows with quotes go through csv.reader and csv.writer, and any block these
rules do not cover (a lone carriage return, a row with more or fewer cells, bytes that are not
UTF-8) goes through them whole, which also names the first bad row.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from operator import itemgetter

from transform_jobs.csv_io import native_columns


class BadRecord(ValueError):
    """A record that is not UTF-8 CSV (`index`: its position in a block, when known)."""

    index = 0


def body_and_end(record: bytes) -> tuple[bytes, bytes]:
    """The record without its line end, and the line end (CRLF, LF, or none for a last row)."""
    if record.endswith(b"\r\n"):
        return record[:-2], b"\r\n"
    if record.endswith(b"\n"):
        return record[:-1], b"\n"
    return record, b""


BLANK_LINES = (b"\n", b"\r\n")


def is_blank(record: bytes) -> bool:
    """An empty line, LF or CRLF: no cells at all (skipped on the way in and on the way back;
    the batch code finds them with `in BLANK_LINES` tests, so the rule must stay exactly this)."""
    return record in BLANK_LINES


def cells(record: bytes) -> list[str]:
    """The cells of one whole record."""
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRecord(f"is not UTF-8 (byte {error.start} of the row)") from None
    try:
        rows = list(csv.reader([text.rstrip("\r\n")], strict=True))
    except csv.Error as error:
        raise BadRecord(f"is not valid CSV ({error})") from None
    return rows[0] if rows else []


def _quoted(cell: str) -> str:
    if any(special in cell for special in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def format_row(row: Sequence[str], end: bytes = b"\n") -> bytes:
    return ",".join(_quoted(cell) for cell in row).encode("utf-8") + end


def spans_lines(record_body: bytes) -> bool:
    """A record whose cells hold a line feed: a split on lines (SageMaker's, at LF) would cut it."""
    return b"\n" in record_body


class MissingColumns(ValueError):
    def __init__(self, missing: Sequence[str], header: Sequence[str]) -> None:
        self.missing = list(missing)
        self.header = list(header)
        super().__init__(
            f"has no column {', '.join(repr(name) for name in missing)} "
            f"(its columns are {', '.join(repr(name) for name in header[:50])})"
        )


class ColumnSelection:
    """Picks and orders cells by the names a model was trained on."""

    def __init__(self, header: Sequence[str], wanted: Sequence[str]) -> None:
        positions = {name.strip(): index for index, name in reversed(list(enumerate(header)))}
        missing = [name for name in wanted if name.strip() not in positions]
        if missing:
            raise MissingColumns(missing, header)
        self.indices = [positions[name.strip()] for name in wanted]
        self.width = len(header)
        # Same columns in the same order: records pass through as bytes, untouched.
        self.identity = self.indices == list(range(self.width))
        self._pick = itemgetter(*self.indices)
        # What stands in for a quoted row while the others are split (same cell count, so the
        # block keeps its shape); its own output is put in its place afterwards.
        self._fillers = {end: b",".join([b"-"] * self.width) + end for end in (b"\n", b"\r\n")}

    def apply_many(self, records: Sequence[bytes]) -> bytes:
        """Whole records (none blank) as one block: the wanted cells in order, each row ending
        in CRLF (csv.writer then quotes a lone CR, which it does not with LF).

        Raises BadRecord with the index of the first bad record in `.index`.
        """
        if self.identity:
            block = b"".join(records)
            return block if block.endswith(b"\n") else block + b"\n"
        if not records:
            return b""
        split = self._split_many(records)
        return split if split is not None else "".join(self._written(records)).encode("utf-8")

    def _split_many(self, records: Sequence[bytes]) -> bytes | None:
        """The block with bytes operations where rows hold no quote (None: it needs csv.reader
        throughout)."""
        block = b"".join(records)
        quoted = _quoted_records(records, block) if b'"' in block else []
        if quoted is None:
            return None
        if quoted:
            with_fillers = self._with_fillers(records, quoted)
            if with_fillers is None:
                return None  # not a whole line: csv.reader says how the block reads
            block = with_fillers
        plain_block = self._plain_lines(block, len(records))
        if plain_block is None:
            return None
        block, end = plain_block
        written: list[str] = []
        if quoted:
            written = self._written_apart([records[index] for index in quoted]) or []
            if not written:
                return None  # the whole block through csv.reader says how it reads
        native = native_columns.select(
            block,
            len(records),
            self.width,
            self.indices,
            [(index, line.encode("utf-8")) for index, line in zip(quoted, written, strict=True)],
        )
        if native is not None:
            return native
        columns = self._columns(block, end, len(records))
        if columns is None:
            return None
        if len(columns) == 1:
            # csv.writer quotes a lone empty cell: unquoted, the row would read as a blank line.
            lines: Iterable[bytes] = (
                [cell or b'""' for cell in columns[0]] if b"" in columns[0] else columns[0]
            )
        else:
            lines = map(b",".join, zip(*columns, strict=True))
        if quoted:
            lines = list(lines)
            for index, line in zip(quoted, written, strict=True):
                lines[index] = line[:-2].encode("utf-8")  # the join below puts its CRLF back
        return b"\r\n".join(lines) + b"\r\n"

    def _with_fillers(self, records: Sequence[bytes], quoted: list[int]) -> bytes | None:
        """The block with a filler in place of each quoted record; None when one of them is
        not a whole line."""
        plain, last = list(records), len(records) - 1
        for index in quoted:
            record = plain[index]
            if record.endswith(b"\r\n"):
                plain[index] = self._fillers[b"\r\n"]
            elif record.endswith(b"\n") or index == last:
                plain[index] = self._fillers[b"\n"]
            else:
                return None
        return b"".join(plain)

    def _plain_lines(self, block: bytes, rows: int) -> tuple[bytes, bytes] | None:
        """A block of quote-free rows with one line end throughout, the last row's included,
        and that end (LF, or CRLF); None when the block is not `rows` plain UTF-8 lines."""
        lf = block.count(b"\n")
        unterminated = not block.endswith(b"\n")  # the file's last row
        if lf + unterminated != rows:
            return None
        end = b"\n"
        cr = block.count(b"\r")
        if cr:
            crlf = block.count(b"\r\n")
            if crlf != cr:
                return None  # a lone CR, which csv.reader takes for a line end
            if crlf == lf:
                end = b"\r\n"
            else:
                block = block.replace(b"\r\n", b"\n")  # LF and CRLF mixed
        if unterminated:
            block += end
        if self.width == 1 and (block.startswith(end) or end + end in block):
            return None  # a blank line has no cells, not one empty cell
        if not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return block, end

    def _columns(self, block: bytes, end: bytes, rows: int) -> list[list[bytes]] | None:
        """The wanted columns of a block from _plain_lines, each cut at every comma; None when
        a row is not `width` cells."""
        # Every line end becomes a cell of its own, so each row is `width` cells and that
        # marker: the markers at their places prove every row has exactly `width` cells.
        stride = self.width + 1
        flat = block.replace(end, b",\n,").split(b",")
        if len(flat) != rows * stride + 1 or flat[self.width :: stride].count(b"\n") != rows:
            return None
        flat.pop()  # the empty piece after the last line end
        return [flat[index::stride] for index in self.indices]

    def _written_apart(self, records: Sequence[bytes]) -> list[str] | None:
        """As `_written`, when each record reads as exactly one row of `width` cells or more,
        ending where the record ends (csv.reader's count of lines read says where each row
        ended); None otherwise, as then the rows run across records."""
        try:
            text = b"".join(records).decode("utf-8")
        except UnicodeDecodeError:
            return None
        ends = accumulate(map(len, map(bytes.splitlines, records)))  # lines as csv.reader reads
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows: list[list[str]] = []
        try:
            for end, row in zip(ends, reader, strict=False):  # the count is checked below
                if reader.line_num != end or len(row) < self.width:
                    return None
                rows.append(row)
            if len(rows) != len(records) or next(reader, None) is not None:
                return None
        except csv.Error:
            return None
        return self._write(rows)

    def _written(self, records: Sequence[bytes]) -> list[str]:
        """Each record parsed by csv.reader and its wanted cells written by csv.writer (CRLF)."""
        try:
            text = b"".join(records).decode("utf-8")
        except UnicodeDecodeError:
            raise self._first_bad(records) from None
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error:
            raise self._first_bad(records) from None
        if len(rows) != len(records) or any(len(row) < self.width for row in rows):
            raise self._first_bad(records)
        return self._write(rows)

    def _write(self, rows: Iterable[list[str]]) -> list[str]:
        """The wanted cells of each row as csv.writer writes them (one string a row, CRLF)."""
        sink = _Lines()
        writer = csv.writer(sink, lineterminator="\r\n")
        if len(self.indices) == 1:
            writer.writerows([row[self.indices[0]]] for row in rows)
        else:
            writer.writerows(map(self._pick, rows))
        return sink.lines

    def _first_bad(self, records: Sequence[bytes]) -> BadRecord:
        for index, record in enumerate(records):
            try:
                self.apply(record)
            except BadRecord as error:
                error.index = index
                return error
        return BadRecord("could not be read as CSV")

    def apply(self, record: bytes) -> bytes:
        """The record with only the wanted cells, in the wanted order, ending in CRLF."""
        if self.identity:
            return record
        row = cells(record)
        if len(row) < self.width:
            raise BadRecord(f"has {len(row)} cells where the header has {self.width}")
        return format_row([row[index] for index in self.indices], b"\r\n")


class _Lines:
    """A file for csv.writer that keeps each row it writes apart."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


def _quoted_records(records: Sequence[bytes], block: bytes) -> list[int] | None:
    """The indices of the records holding a quote (`block` is them joined); None when more
    than half do, as then csv.reader over the whole block is the cheaper way."""
    ends = list(accumulate(map(len, records)))
    found: list[int] = []
    at = block.find(b'"')
    while at >= 0:
        index = bisect_right(ends, at)
        found.append(index)
        if len(found) * 2 > len(records):
            return None
        at = block.find(b'"', ends[index])
    return found
