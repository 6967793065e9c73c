"""Checks a job must pass before SageMaker is asked to spend money on it.

Each failure is a PreflightFailed whose message says what is wrong and what to do; the job ends
Failed with that reason.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from dataclasses import dataclass

from transform_jobs.adapters import s3_gateway, sagemaker_gateway
from transform_jobs.csv_io import header
from transform_jobs.csv_io.columns import BadRecord, ColumnSelection, MissingColumns, cells
from transform_jobs.csv_io.records import RecordSplitter, UnterminatedQuote
from transform_jobs.jobs.steps import StepClock
from transform_jobs.jobs.work_area import relative_name
from transform_jobs.models.request import (
    CompressionType,
    HeaderMode,
    InputPreparation,
    JobRequest,
    S3DataType,
    SplitType,
)
from transform_jobs.models.team import Team
from transform_jobs.s3_location import S3Location, overlap, within_any

SNIFF_BYTES = 64 * 1024
MANIFEST_MAX_BYTES = 8 * 1024 * 1024
MAX_COUNTED_OBJECTS = 100_000
# Listed in every invocation however slow S3 answers (one page), so a listing always advances.
MIN_LISTED_PER_STEP = 1000
MB = 1024 * 1024


URI_FIELD = "TransformInput.DataSource.S3DataSource.S3Uri"


class PreflightFailed(Exception):
    """The job cannot run as asked; the message is the job's failure reason, and `field` the
    part of the request to fix."""

    def __init__(self, reason: str, *, field: str = URI_FIELD) -> None:
        super().__init__(reason)
        self.field = field


class ListingUnfinished(Exception):
    """The invocation's time ran out while listing the input: the objects listed so far, to
    continue after the last of them in another invocation."""

    def __init__(self, objects: list[s3_gateway.S3Object]) -> None:
        super().__init__(f"{len(objects)} input objects listed so far")
        self.objects = objects


@dataclass(frozen=True)
class HeaderDecision:
    """For a job with InputPreparation: whether files start with a header, and why."""

    present: bool
    note: str


@dataclass(frozen=True)
class PreflightResult:
    input_objects: int
    # The manifest exactly as checked, to be pinned where the team cannot change it.
    verified_manifest: bytes | None = None
    # The objects found, each with its key relative to the input prefix (or manifest prefix).
    objects: tuple[tuple[s3_gateway.S3Object, str], ...] = ()
    header: HeaderDecision | None = None


@dataclass(frozen=True)
class _Input:
    objects: list[s3_gateway.S3Object]
    count: int
    manifest: bytes | None = None
    # The key prefix output names are relative to.
    relative_to: str = ""


def run(
    team: Team,
    request: JobRequest,
    *,
    clock: StepClock | None = None,
    listed: list[s3_gateway.S3Object] | None = None,
) -> PreflightResult:
    """The checks, continuing an input listing from the objects `listed` before. With a
    `clock`, ListingUnfinished when it runs out before the listing is done."""
    check_model(request.ModelName)
    found = _list_input(team, request, clock=clock, listed=listed or [])
    if not found.objects:
        raise PreflightFailed(
            f"The input {request.TransformInput.DataSource.S3DataSource.S3Uri} holds no objects. "
            "Upload the input first, or point S3Uri at the prefix that holds it."
        )
    named = tuple((entry, relative_name(entry.key, found.relative_to)) for entry in found.objects)
    if request.InputPreparation is not None:
        if found.count >= MAX_COUNTED_OBJECTS:
            raise PreflightFailed(
                f"The input holds {MAX_COUNTED_OBJECTS:,} objects or more; InputPreparation "
                "prepares at most that many per job. Split the input into several jobs.",
                field="InputPreparation",
            )
        header = _decide_header(request.InputPreparation, found.objects[0])
        return PreflightResult(found.count, found.manifest, named, header)
    _check_payload_fits(request, found.objects)
    _check_csv_header(request, found.objects[0])
    return PreflightResult(found.count, found.manifest, named)


def check_model(name: str) -> None:
    if sagemaker_gateway.describe_model(name) is None:
        raise PreflightFailed(
            f"Model {name!r} does not exist in SageMaker in this account and region. Create it "
            "(CreateModel) or fix ModelName.",
            field="ModelName",
        )


def _list_input(
    team: Team, request: JobRequest, *, clock: StepClock | None, listed: list[s3_gateway.S3Object]
) -> _Input:
    source = request.TransformInput.DataSource.S3DataSource
    location = S3Location.parse(source.S3Uri)
    try:
        if source.S3DataType is S3DataType.MANIFEST_FILE:
            return _manifest_objects(team, request, location)
        objects = list(listed)
        after = objects[-1].key if objects else None
        this_step = 0
        for entry in s3_gateway.list_objects(location, start_after=after):
            if entry.key.endswith("/") and entry.size == 0:
                continue  # a console "folder" marker, which SageMaker skips too
            objects.append(entry)
            if len(objects) == MAX_COUNTED_OBJECTS:
                break  # enough to launch; the count caps there
            this_step += 1
            if clock is not None and this_step >= MIN_LISTED_PER_STEP and clock.out_of_time:
                raise ListingUnfinished(objects)
        return _Input(objects, len(objects), relative_to=location.key)
    except s3_gateway.ObjectMissing as error:
        raise PreflightFailed(
            f"{error}. Check the bucket and prefix, and that the service may read it."
        ) from None


def _manifest_objects(team: Team, request: JobRequest, manifest: S3Location) -> _Input:
    raw = s3_gateway.read_bytes(manifest, limit=MANIFEST_MAX_BYTES + 1)
    if len(raw) > MANIFEST_MAX_BYTES:
        raise PreflightFailed(f"The manifest {manifest.uri} is larger than 8 MB; split the job.")
    try:
        entries = json.loads(raw)
        prefix = S3Location.parse(entries[0]["prefix"])
        paths = [str(path) for path in entries[1:]]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise PreflightFailed(
            f"The manifest {manifest.uri} is not a SageMaker manifest ({error}). It must be a JSON "
            'array: first {"prefix": "s3://bucket/prefix/"}, then object paths relative to it.'
        ) from None
    output = S3Location.parse(request.TransformOutput.S3OutputPath)
    if not within_any(prefix, team.InputPrefixes, folder=False):
        raise PreflightFailed(
            f"The manifest's prefix {prefix.uri} is outside the team's input prefixes; "
            "list only objects under them."
        )
    if overlap(prefix, output):
        raise PreflightFailed(
            f"The manifest's prefix {prefix.uri} overlaps the output {output.uri}; keep them apart."
        )
    for path in paths:
        if path.startswith("/") or ".." in path.split("/") or "\\" in path:
            raise PreflightFailed(
                f"The manifest entry {path!r} is not a plain relative path "
                "(no '..', no leading '/')."
            )
    # Sizes are unknown without a HEAD per entry; the payload check skips them (size -1).
    objects = [s3_gateway.S3Object(prefix.bucket, prefix.key + path, -1) for path in paths]
    verified = json.dumps([{"prefix": prefix.uri}, *paths]).encode()
    return _Input(objects, len(objects), verified, relative_to=prefix.key)


def _check_payload_fits(request: JobRequest, objects: list[s3_gateway.S3Object]) -> None:
    """With SplitType None an object is one request: it must fit MaxPayloadInMB (when set)."""
    limit = request.MaxPayloadInMB
    if (
        not limit
        or request.TransformInput.SplitType is not SplitType.NONE
        or request.TransformInput.CompressionType is CompressionType.GZIP
    ):
        return
    too_big = next((entry for entry in objects if entry.size > limit * MB), None)
    if too_big is not None:
        raise PreflightFailed(
            f"s3://{too_big.bucket}/{too_big.key} is {too_big.size / MB:.1f} MB, but with "
            "SplitType "
            f"None each object is one request and MaxPayloadInMB is {limit}. Set SplitType to Line "
            "(or RecordIO/TFRecord) so records are batched, or raise MaxPayloadInMB (at most 100).",
            field="MaxPayloadInMB",
        )


def _decide_header(preparation: InputPreparation, first: s3_gateway.S3Object) -> HeaderDecision:
    """Header Auto sniffs the first file; with a header, the wanted columns must be in it."""
    location = S3Location(first.bucket, first.key)
    if preparation.Header is HeaderMode.ABSENT:
        return HeaderDecision(
            False, "Preparing the CSV input; it has no header row (Header Absent)."
        )
    records = _first_records(_read_sample(location))
    first_record = records[0] if records else b""
    if preparation.Header is HeaderMode.AUTO:
        if not header.looks_like_header(b"".join(records[:2]).decode("utf-8", "replace")):
            return HeaderDecision(
                False,
                f"Preparing the CSV input; the first row of {location.uri} does not look like a "
                "header (Header Auto), so every row is data. Set Header to Present if it is one.",
            )
        note = (
            f"Preparing the CSV input; the first row of {location.uri} looks like a header "
            "(Header Auto), so the first row of every file is taken as its header."
        )
    else:
        note = (
            "Preparing the CSV input; the first row of every file is its header (Header Present)."
        )
    if preparation.Columns and first_record:
        try:
            ColumnSelection(cells(first_record), preparation.Columns)
        except MissingColumns as missing:
            raise PreflightFailed(
                f"The header of {location.uri} {missing}. Fix InputPreparation.Columns to name "
                "the header's columns in the order the model was trained on.",
                field="InputPreparation.Columns",
            ) from None
        except BadRecord as error:
            raise PreflightFailed(
                f"The header row of {location.uri} {error}.", field="InputPreparation.Header"
            ) from None
    return HeaderDecision(True, note)


def _first_records(sample: bytes) -> list[bytes]:
    """Whole records at the start of a sample (quoted line breaks kept inside their record)."""
    splitter = RecordSplitter()
    records = splitter.feed(sample)
    if len(sample) < SNIFF_BYTES:  # the whole object: its last row may lack a line end
        with contextlib.suppress(UnterminatedQuote):
            records += splitter.finish()
    return records


def _read_sample(location: S3Location) -> bytes:
    try:
        return s3_gateway.read_bytes(location, limit=SNIFF_BYTES)
    except s3_gateway.ObjectMissing as error:
        raise PreflightFailed(
            f"{error}. Check that the object exists and that the service may read it "
            "(and decrypt it, if it is encrypted with a KMS key)."
        ) from None


def _check_csv_header(request: JobRequest, first: s3_gateway.S3Object) -> None:
    content_type = (request.TransformInput.ContentType or "").split(";")[0].strip().lower()
    if content_type != "text/csv" or request.TransformInput.SplitType is not SplitType.LINE:
        return
    location = S3Location(first.bucket, first.key)
    sample = _read_sample(location)
    if request.TransformInput.CompressionType is CompressionType.GZIP:
        try:
            sample = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(sample, SNIFF_BYTES)
        except zlib.error:
            raise PreflightFailed(
                f"{location.uri} is not gzip data, but CompressionType is Gzip. Set "
                "CompressionType to None, or compress the input with gzip.",
                field="TransformInput.CompressionType",
            ) from None
    text = sample.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if len(lines) > 2:
        text = "\n".join(lines[:2])
    if header.looks_like_header(text):
        raise PreflightFailed(
            f"The first line of {location.uri} looks like a header row: {lines[0][:200]!r}. "
            "SageMaker splits CSV blindly and would send it to the model as a record. Remove the "
            "header row (keep the columns in the order the model was trained on) and submit again."
        )
