"""DataProcessing on JSON and CSV records: InputFilter before the model, JoinSource and
OutputFilter after it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transform_jobs.models import jsonpath_filter
from transform_jobs.models.jsonpath_filter import Indexes, Names, Segment, Slice, Wildcard

CSV = "text/csv"
JSON = frozenset({"application/json", "application/jsonlines"})
_PREVIEW = 80


class DataProcessingError(ValueError):
    """A filter or join failed on a record; the message names the filter, what failed, and the
    record (shortened), and `record` holds it whole."""

    def __init__(self, message: str, record: bytes = b"") -> None:
        super().__init__(message)
        self.record = record

    def __reduce__(self) -> tuple[type[DataProcessingError], tuple[str, bytes]]:
        return type(self), (str(self), self.record)


def _media_type(value: str) -> str:
    return value.split(";", maxsplit=1)[0].strip().lower()


@dataclass(frozen=True, kw_only=True)
class DataProcessing:
    """A job's DataProcessing with the content types it applies to (parameters dropped)."""

    input_filter: str = "$"
    output_filter: str = "$"
    join_source: str = "None"
    content_type: str
    accept: str
    _input_path: tuple[Segment, ...] = field(init=False, repr=False, compare=False)
    _output_path: tuple[Segment, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.join_source not in ("None", "Input"):
            raise DataProcessingError(f"JoinSource {self.join_source!r} is not None or Input")
        for name in ("content_type", "accept"):
            media_type = _media_type(getattr(self, name))
            if media_type != CSV and media_type not in JSON:
                raise DataProcessingError(
                    f"DataProcessing works only on text/csv, application/json and "
                    f"application/jsonlines; the {name} is {media_type or 'unset'!r}"
                )
            object.__setattr__(self, name, media_type)
        for name, expression in (
            ("_input_path", self.input_filter),
            ("_output_path", self.output_filter),
        ):
            try:
                object.__setattr__(self, name, jsonpath_filter.parse(expression))
            except jsonpath_filter.JsonPathError as error:
                raise DataProcessingError(f"JSONPath {expression!r} {error}") from None

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> DataProcessing | None:
        """The request's DataProcessing, or None when it is all defaults (nothing to do)."""
        settings = request.get("DataProcessing") or {}
        # An empty filter is taken as the default "$", as an absent one is.
        input_filter = settings.get("InputFilter") or "$"
        output_filter = settings.get("OutputFilter") or "$"
        join_source = settings.get("JoinSource") or "None"
        if (input_filter, output_filter, join_source) == ("$", "$", "None"):
            return None
        content_type = request["TransformInput"].get("ContentType") or ""
        # The service refuses DataProcessing without Accept; should one get here anyway, the
        # model is taken to answer in the format it is sent.
        accept = (request.get("TransformOutput") or {}).get("Accept") or content_type
        return cls(
            input_filter=input_filter,
            output_filter=output_filter,
            join_source=join_source,
            content_type=content_type,
            accept=accept,
        )

    @property
    def is_identity_input(self) -> bool:
        """The model gets each record exactly as it is in the input."""
        return not self._input_path

    @property
    def joins(self) -> bool:
        return self.join_source == "Input"

    @property
    def is_identity_output(self) -> bool:
        """Each output record is written exactly as the model answered it."""
        return not self.joins and not self._output_path


def filter_input(record: bytes, dp: DataProcessing) -> bytes:
    """What the model receives for one record (one JSON value or one CSV line)."""
    if dp.is_identity_input:
        return record
    media_type = dp.content_type
    value = _parse(record, media_type)
    try:
        selected = _select(value, dp._input_path, media_type == CSV)
    except _PathProblem as problem:
        raise DataProcessingError(
            f"InputFilter {dp.input_filter!r}: {problem}, in record {_preview(record)}", record
        ) from None
    return _serialize(selected, media_type) + _line_ending(record)


def assemble_output(input_record: bytes, output_record: bytes, dp: DataProcessing) -> bytes:
    """The output record to write: the model's answer, joined with the unfiltered input record
    when JoinSource is Input, then OutputFilter. It ends as `output_record` ends."""
    if dp.is_identity_output:
        return output_record
    output = _parse(output_record, dp.accept)
    if dp.joins:
        # The joined record takes the input's format, as SageMaker describes it: JSON joins into
        # the input object, CSV appends to the row. Its docs cover only same-format joins; for
        # mixed ones a CSV line counts as the JSON array of its cells (SageMaker's own wording
        # for CSV joins), and a JSON output's array elements as CSV columns.
        media_type = dp.content_type
        value = _join(_parse(input_record, media_type), output, dp)
        described = f"{_preview(input_record)} joined with output {_preview(output_record)}"
    else:
        value, media_type, described = output, dp.accept, _preview(output_record)
    try:
        selected = _select(value, dp._output_path, media_type == CSV)
    except _PathProblem as problem:
        raise DataProcessingError(
            f"OutputFilter {dp.output_filter!r}: {problem}, in record {described}", output_record
        ) from None
    return _serialize(selected, media_type) + _line_ending(output_record)


def _join(input_value: Any, output: Any, dp: DataProcessing) -> Any:
    if dp.content_type == CSV:
        return [*input_value, *(output if isinstance(output, list) else [output])]
    if isinstance(input_value, dict):
        return {**input_value, "SageMakerOutput": output}
    return {"SageMakerInput": input_value, "SageMakerOutput": output}


def _line_ending(record: bytes) -> bytes:
    if record.endswith(b"\r\n"):
        return b"\r\n"
    return b"\n" if record.endswith(b"\n") else b""


def _preview(record: bytes) -> str:
    text = record.rstrip(b"\r\n").decode("utf-8", errors="replace")
    return repr(text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…")


def _parse(record: bytes, media_type: str) -> Any:
    if media_type == CSV:
        try:
            # One line, RFC 4180 quoting; strict so that an unclosed quote is an error rather
            # than a cell that silently swallows the rest of the line.
            return next(csv.reader([record.decode("utf-8")], strict=True), [])
        except (UnicodeDecodeError, csv.Error) as error:
            raise DataProcessingError(
                f"record {_preview(record)} is not a CSV line: {error}", record
            ) from None
    try:
        return json.loads(record)  # bytes: json detects UTF-8/16/32 and skips a BOM
    except ValueError as error:
        raise DataProcessingError(
            f"record {_preview(record)} is not JSON: {error}", record
        ) from None


def _serialize(value: Any, media_type: str) -> bytes:
    if media_type == CSV:
        cells = value if isinstance(value, list) else [value]
        line = io.StringIO()
        csv.writer(line, lineterminator="").writerow(
            cell if isinstance(cell, str) else _json_text(cell) for cell in cells
        )
        return line.getvalue().encode()
    return _json_text(value).encode()


def _json_text(value: Any) -> str:
    # Compact with non-ASCII kept as is. SageMaker does not document its spacing (JSON readers
    # do not care); numbers go through float, so 1e2 comes back as 100.0.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


class _PathProblem(Exception):
    """What went wrong at one step of a path; `_select` adds the filter and the record."""


def _select(value: Any, path: tuple[Segment, ...], is_csv: bool) -> Any:
    """JSONPath on one record, as node lists: a path stays single-valued (`$.a`, `$[1]`,
    `$['a','b']`) until a wildcard, index list or slice, after which its result is a list."""
    nodes, single, where = [value], True, "$"
    for segment in path:
        at_csv_row = is_csv and where == "$"  # a CSV record's cells are strings below the row
        if isinstance(segment, Names):
            nodes = [_members(node, segment.names, at_csv_row, where) for node in nodes]
            where += (
                f".{segment.names[0]}"
                if len(segment.names) == 1
                else "[" + ",".join(f"'{name}'" for name in segment.names) + "]"
            )
        elif isinstance(segment, Wildcard):
            nodes = [child for node in nodes for child in _children(node, where)]
            single, where = False, where + "[*]"
        else:
            nodes = [
                element for node in nodes for element in _elements(node, segment, at_csv_row, where)
            ]
            single = single and len(segment.parts) == 1 and isinstance(segment.parts[0], int)
            where += "[" + ",".join(_index_text(part) for part in segment.parts) + "]"
    return nodes[0] if single else nodes


def _index_text(part: int | Slice) -> str:
    if isinstance(part, int):
        return str(part)
    return f"{'' if part.start is None else part.start}:{'' if part.stop is None else part.stop}"


def _members(node: Any, names: tuple[str, ...], at_csv_row: bool, where: str) -> Any:
    if at_csv_row:
        raise _PathProblem(f"{names[0]!r} is a member name, but a CSV record has only columns")
    if not isinstance(node, dict):
        raise _PathProblem(f"{names[0]!r} needs an object, but {where} is {_kind(node)}")
    missing = [name for name in names if name not in node]
    if missing:
        raise _PathProblem(f"{missing[0]!r} is not a member of the object at {where}")
    if len(names) == 1:
        return node[names[0]]
    # Several names make a new object with just those members, in the order given.
    return {name: node[name] for name in names}


def _children(node: Any, where: str) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    raise _PathProblem(f"'*' needs an object or array, but {where} is {_kind(node)}")


def _elements(node: Any, segment: Indexes, at_csv_row: bool, where: str) -> list[Any]:
    if not isinstance(node, list):
        raise _PathProblem(f"indexes need an array, but {where} is {_kind(node)}")
    selected: list[Any] = []
    for part in segment.parts:
        if isinstance(part, int):
            if not -len(node) <= part < len(node):
                within = (
                    f"the record of {len(node)} columns"
                    if at_csv_row
                    else f"the array of {len(node)} elements at {where}"
                )
                raise _PathProblem(f"index {part} is outside {within}")
            selected.append(node[part])
        else:
            # Slices clamp to the array, as in JSONPath; negative bounds count from the end.
            selected.extend(node[part.start : part.stop])
    return selected
