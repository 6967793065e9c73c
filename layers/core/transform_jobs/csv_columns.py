"""Columns of CSV records: reading a header, selecting and reordering cells by name, and writing
cells back as RFC 4180.

Records arrive as whole byte records (csv_records); csv.reader parses one, and cells are written
by `format_row`, not csv.writer: csv.writer leaves a lone carriage return unquoted, which a
reader then takes for a line end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from operator import itemgetter


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

    def apply_many(self, records: Sequence[bytes]) -> bytes:
        """Whole records (none blank) as one block: the wanted cells in order, each row ending
        in CRLF (csv.writer then quotes a lone CR, which it does not with LF).

        Raises BadRecord with the index of the first bad record in `.index`.
        """
        if self.identity:
            block = b"".join(records)
            return block if block.endswith(b"\n") else block + b"\n"
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
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        if len(self.indices) == 1:
            writer.writerows([row[self.indices[0]]] for row in rows)
        else:
            writer.writerows(map(self._pick, rows))
        return out.getvalue().encode("utf-8")

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
