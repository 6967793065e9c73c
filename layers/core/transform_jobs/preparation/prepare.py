"""The Preparing phase (prepare_job): CSV input cut into shards SageMaker can split safely.

Each input file is streamed and cut at true record boundaries; its header is kept aside, and
its rows go into shards of whole records, each within MaxPayloadInMB, under the job's work
area. Rows that pass as they are never cross the network twice: the shards' byte ranges are
found a chunk at a time (shards) and copied inside S3. Columns selected and reordered by
name need every row parsed (csv_records, csv_columns) and written. The transform then runs on
the shards: SplitType Line when no cell spans lines, else None (one shard per request).

Work is resumable: a checkpoint (file, byte offset, shards so far) is taken at shard boundaries
every half minute and when the invocation's time runs short, and a message for the next
step continues it in a new invocation. Shards are cut the same way from the same offset, so a
step done twice writes the same shards; a step counter in the job makes the second one stop.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import queue_gateway, s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.adapters.object_writer import ObjectWriter
from transform_jobs.csv_io import lines, native_columns, shards
from transform_jobs.csv_io.columns import (
    BadRecord,
    ColumnSelection,
    MissingColumns,
    cells,
    is_blank,
)
from transform_jobs.csv_io.records import RecordSplitter, UnterminatedQuote, record_batches
from transform_jobs.jobs import work_area
from transform_jobs.jobs.steps import StepClock, fail
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import Job, PreparationState
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.plan import PlannedObject, PreparationPlan, Shard
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

logger = Logger(child=True)

MB = 1024 * 1024
# SageMaker's own default when MaxPayloadInMB is not given (0 means "unlimited" to SageMaker,
# which only a streaming request could honour; a shard must still be bounded).
DEFAULT_PAYLOAD_MB = 6
# Chunks of an object read ahead by a thread while the current ones are worked on (the
# input here; the input and each shard output in reassembly).
READ_AHEAD_CHUNKS = 4
# Shards copied inside S3 (or, reordered, finished by their last PUT) at once (each is a few
# requests that mostly wait), and how many may wait for a worker before the scan waits for them.
COPY_WORKERS = 4
COPIES_QUEUED = 8
HEADER_PIECE_BYTES = 16 * 1024


class PreparationFailed(Exception):
    """The input cannot be prepared as asked; the message is the job's failure reason."""


class _Superseded(Exception):
    """The job moved on (cancelled, failed) or another invocation took this step."""


def shard_limit_bytes(job: Job) -> int:
    return (job.Request.MaxPayloadInMB or DEFAULT_PAYLOAD_MB) * MB


def start(job_id: str, plan: PreparationPlan, *, header_present: bool, note: str) -> Job | None:
    """Validating → Preparing, with the plan of files to prepare; hands the job to prepare_job."""
    location = work_area.plan(job_id, "start")
    save_plan(location, plan)

    def decide(job: Job) -> JobUpdate | None:
        update = move(job, JobStatus.PREPARING, source="launch", reason=note)
        if update is not None:
            update.job.Preparation = PreparationState(
                HeaderPresent=header_present, PlanKey=location.key
            )
            update.job.Progress.InputObjects = len(plan.Objects)
            update.job.Progress.OutputObjects = 0
            update.job.Progress.RowsRead = 0
            update.job.Progress.ShardsWritten = 0
        return update

    job = job_repository.update_job(job_id, decide)
    if job is not None:
        queue_gateway.send_prepare(job_id, step=0)
    return job


def save_plan(location: S3Location, plan: PreparationPlan) -> None:
    s3_gateway.put_bytes(location, plan.model_dump_json().encode(), content_type="application/json")


def load_plan(key: str) -> PreparationPlan:
    raw = s3_gateway.read_all(S3Location(get_settings().artifacts_bucket, key))
    return PreparationPlan.model_validate_json(raw)


class _Copies:
    """Shards being copied inside S3, or finished by their last PUT, a few at a time, while the
    scan goes on. A checkpoint waits for them: it only ever covers shards that exist. One that
    fails aborts its own upload; its error is raised by the wait."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()

    def submit(self, copy: Callable[[], None]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(COPY_WORKERS, thread_name_prefix="shard-copy")
        while len(self._pending) >= COPIES_QUEUED:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(copy))

    def wait(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Lets the copies under way end (a failed step leaves no upload open)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pending.clear()


@dataclass
class _Work:
    """One invocation's share of the preparation."""

    job: Job
    state: PreparationState
    plan: PreparationPlan
    clock: StepClock
    copies: _Copies = field(default_factory=_Copies)

    @property
    def out_of_time(self) -> bool:
        return self.clock.out_of_time


def prepare(job_id: str, step: int, *, deadline: float) -> JobStatus | None:
    """Prepare until done or until `deadline` (time.monotonic()); returns the job's status."""
    job = job_repository.get_job(job_id)
    if job is None:
        return None
    state = job.Preparation
    if job.Status is not JobStatus.PREPARING or state is None or state.Done or state.Step != step:
        return job.Status  # a duplicate or stale message, or a job that moved on
    work = _Work(job, state.model_copy(deep=True), load_plan(state.PlanKey), StepClock(deadline))
    try:
        finished = _run(work)
    except PreparationFailed as failure:
        return _fail(job_id, str(failure))
    except s3_gateway.ObjectMissing as error:  # an input gone while its shards were copied
        return _fail(
            job_id, f"{error}. The input changed after the job was checked; submit it again."
        )
    except _Superseded:
        current = job_repository.get_job(job_id)
        return current.Status if current else None
    finally:
        work.copies.close()
    if finished:
        queue_gateway.send_launch(job_id)
    else:
        queue_gateway.send_prepare(job_id, step=work.state.Step)
    return JobStatus.PREPARING


def _run(work: _Work) -> bool:
    """True when every file is prepared; False when time ran out (a checkpoint was taken)."""
    objects = work.plan.Objects
    while work.state.ObjectIndex < len(objects):
        if not _prepare_object(work, objects[work.state.ObjectIndex]):
            return False
        work.state.ObjectIndex += 1
        work.state.Offset = 0
        if work.out_of_time:
            _checkpoint(work)
            return False
    work.state.Done = True
    _checkpoint(work)
    return True


class _ShardBuilder:
    def __init__(self, location: S3Location, first_row: int) -> None:
        self.writer = ObjectWriter(location)
        self.first_row = first_row
        self.rows = 0
        self.size = 0

    def add(self, block: bytes, rows: int) -> None:
        self.writer.write(block)
        self.rows += rows
        self.size += len(block)

    def close(self, copies: _Copies) -> Shard:
        """The shard as the plan names it; its object is finished by a worker (a checkpoint
        waits for it), so the scan goes on while S3 takes the last part."""
        copies.submit(self._finish)
        return Shard(Rows=self.rows, FirstRow=self.first_row)

    def _finish(self) -> None:
        try:
            self.writer.close()
        except Exception:
            with contextlib.suppress(Exception):
                self.writer.abort()  # nothing left half-written
            raise


class _Sharder:
    """Cuts one file's records into shards of whole records within the payload limit.

    Works a batch of records at a time: sizes are summed and cut points found with C-speed
    builtins (accumulate, bisect), and each run of records that goes into a shard is prepared
    as one block, so the per-row Python work stays small.
    """

    def __init__(self, work: _Work, item: PlannedObject, selection: ColumnSelection | None):
        self.work, self.item, self.selection = work, item, selection
        self.limit = shard_limit_bytes(work.job)
        self.shard: _ShardBuilder | None = None
        self.row = item.Rows
        # Prepared bytes per input byte, as last seen: reordering drops columns (fewer bytes)
        # or re-quotes cells (more). Only an estimate for the cut; every block is measured.
        self.ratio = 1.0

    def add_region(self, region: bytes, start: int, native: native_columns.Prepared | None) -> bool:
        """A region of whole records from object offset `start`, and its rows as
        native_columns.select_region prepared them in C++ (None: it could not); False as for
        `add`.

        The prepared rows go into the shard under way while they fit, and the shard is cut after
        the last that fits, as the per-record path cuts it. A region the reader must leave to
        csv.reader, or one with blank lines that a shard would end on, goes record by record."""
        shard = self.shard or self._new_shard()
        if native is None:
            return self.add(_records(region, start), start)
        if shard.size + len(native.data) <= self.limit:
            self._take(shard, native.data, native.rows)
            return True
        records = _records(region, start)
        if len(records) != native.rows:  # blank lines: which shard keeps them is the records'
            return self.add(records, start)
        ends = list(accumulate(map(len, records), initial=start))  # ends[n]: after n rows
        row_ends = native.row_ends()
        done, taken = 0, 0  # rows, and their bytes, in shards so far
        while done < native.rows:
            shard = self.shard or self._new_shard()
            fit = bisect_right(row_ends, taken + self.limit - shard.size, lo=done)
            if fit == done:  # not even one more row fits
                if shard.rows == 0:
                    self._too_big(row_ends[done] - taken)
                if not self._close(ends[done]):
                    return False
                continue
            self._take(shard, native.data[taken : row_ends[fit - 1]], fit - done)
            done, taken = fit, row_ends[fit - 1]
        return True

    def _take(self, shard: _ShardBuilder, block: bytes, rows: int) -> None:
        if rows:
            shard.add(block, rows)
            self.row += rows
            if not self.work.state.SpansLines and block.count(b"\n") > rows:
                self.work.state.SpansLines = True  # a cell holds a line feed

    def add(self, records: list[bytes], start: int) -> bool:
        """False when time ran out at a shard boundary (the checkpoint is taken)."""
        ends = list(accumulate(map(len, records), initial=start))[1:]
        blank = b"\n" in records or b"\r\n" in records
        # +1: the file's last row may lack its line end.
        costs = [0 if blank and is_blank(r) else len(r) + 1 for r in records]
        totals = list(accumulate(costs))
        first, count = 0, len(records)
        while first < count:
            shard = self.shard or self._new_shard()
            before = totals[first - 1] if first else 0
            budget = (self.limit - shard.size) / self.ratio
            cut = max(first + 1, bisect_right(totals, before + budget, lo=first))
            block, rows = self._prepared(records[first:cut], blank)
            while shard.size + len(block) > self.limit and cut - first > 1:
                cut = first + (cut - first) // 2  # the rows grew more than estimated
                block, rows = self._prepared(records[first:cut], blank)
            if shard.size + len(block) > self.limit:  # not even one more row fits
                if shard.rows == 0:
                    self._too_big(len(block))
                if not self._close(ends[first - 1] if first else start):
                    return False
                continue
            if rows:
                shard.add(block, rows)
                self.row += rows
                self.ratio = max(0.05, len(block) / max(1, totals[cut - 1] - before))
            first = cut
        return True

    def _new_shard(self) -> _ShardBuilder:
        index = len(self.item.Shards)
        self.shard = _ShardBuilder(
            work_area.shard(self.work.job, self.item.Relative, index), first_row=self.row + 1
        )
        return self.shard

    def _prepared(self, run: list[bytes], blank: bool) -> tuple[bytes, int]:
        """The run as the model gets it (blank lines dropped), and how many rows it holds."""
        if blank:
            run = [record for record in run if not is_blank(record)]
        if not run:
            return b"", 0
        try:
            block = self.selection.apply_many(run) if self.selection else b"".join(run)
        except BadRecord as error:
            raise PreparationFailed(
                f"Data row {self.row + error.index + 1} of {self.item.uri} {error}. Fix the row "
                "and submit again."
            ) from None
        if not block.endswith(b"\n"):
            block += b"\n"  # the file's last row, without a line end
        if not self.work.state.SpansLines and block.count(b"\n") > len(run):
            self.work.state.SpansLines = True  # a cell holds a line feed
        return block, len(run)

    def _too_big(self, size: int) -> None:
        raise PreparationFailed(
            f"Data row {self.row + 1} of {self.item.uri} is {size / MB:.1f} MB as the model gets "
            f"it, larger than MaxPayloadInMB ({self.limit // MB} MB), so no request can hold "
            "it. Raise MaxPayloadInMB (at most 100) or shorten the row."
        )

    def _close(self, end: int) -> bool:
        """Closes the full shard; the checkpoint moves to `end`. False when time is up."""
        assert self.shard is not None  # noqa: S101 (narrowing)
        state = self.work.state
        self.item.Shards.append(self.shard.close(self.work.copies))
        self.item.Rows = self.row
        state.Offset, state.ShardsWritten = end, state.ShardsWritten + 1
        self.shard = None
        if self.work.clock.checkpoint_due():
            _checkpoint(self.work)
            if self.work.out_of_time:
                return False
        return True

    def finish(self) -> None:
        if self.shard is not None and self.shard.rows:
            self.item.Shards.append(self.shard.close(self.work.copies))
            self.work.state.ShardsWritten += 1
        self.item.Rows = self.row


def _records(region: bytes, start: int) -> list[bytes]:
    """The region's records, each with its line feed (the object's last one may have none)."""
    records: list[bytes] = []
    for batch in lines.line_batches([region], offset=start):
        records += batch.lines if batch.unended else [line + b"\n" for line in batch.lines]
    return records


def _prepare_object(work: _Work, item: PlannedObject) -> bool:
    """Shards one file from the checkpoint on; False when time ran out at a shard boundary."""
    location = S3Location(item.Bucket, item.Key)
    if work.state.Offset == 0:
        item.Header, item.Rows, item.Shards = None, 0, []
    try:
        with contextlib.closing(
            s3_gateway.stream(location, offset=work.state.Offset, read_ahead=READ_AHEAD_CHUNKS)
        ) as stream:
            chunks: Iterator[bytes] = stream
            if work.state.HeaderPresent and work.state.Offset == 0:
                item.Header, chunks = _take_header(work, chunks)
            selection = _selection(work, item)
            if selection is None or selection.identity:
                return _shard_as_is(work, item, location, chunks)
            sharder = _Sharder(work, item, selection)
            regions = shards.regions(chunks, work.state.Offset)
            with contextlib.closing(_selected_ahead(regions, selection)) as selected:
                for region, start, native in selected:
                    if not sharder.add_region(region, start, native):
                        return False
            sharder.finish()
            return True
    except UnterminatedQuote as error:
        raise PreparationFailed(
            f"{item.uri} is not valid CSV: {error}. Fix the file and submit again."
        ) from None
    except s3_gateway.ObjectMissing as error:
        raise PreparationFailed(
            f"{error}. The input changed after the job was checked; submit it again."
        ) from None


# Regions whose columns are selected at once, each by a thread of its own: the C++ reader and
# kernels let go of the GIL, so one region is parsed while another is checked in Python and the
# scan cuts the next (a seventh less time at 100 MB on two cores: 1.54 s to 1.32 s).
SELECTING_AHEAD = 2


def _selected_ahead(
    regions: Iterator[tuple[bytes, int, bool]], selection: ColumnSelection
) -> Generator[tuple[bytes, int, native_columns.Prepared | None], None, None]:
    """Each region with its rows prepared in C++ (native_columns.select_region), in order, the
    next ones already under way."""
    under_way: deque[tuple[bytes, int, Future[native_columns.Prepared | None]]] = deque()
    with ThreadPoolExecutor(SELECTING_AHEAD, thread_name_prefix="select") as pool:
        try:
            for region, start, _ in regions:
                selected = pool.submit(
                    native_columns.select_region, region, selection.width, selection.indices
                )
                under_way.append((region, start, selected))
                if len(under_way) > SELECTING_AHEAD:
                    yield _finished(under_way.popleft())
            while under_way:
                yield _finished(under_way.popleft())
        finally:
            for _, _, selected in under_way:
                selected.cancel()  # stopped early (out of time, or an error): the rest is moot


def _finished(
    item: tuple[bytes, int, Future[native_columns.Prepared | None]],
) -> tuple[bytes, int, native_columns.Prepared | None]:
    region, start, selected = item
    return region, start, selected.result()


def _shard_as_is(
    work: _Work, item: PlannedObject, location: S3Location, chunks: Iterator[bytes]
) -> bool:
    """Rows that pass as they are: the shards' byte ranges are found a chunk at a time, and
    each shard whose bytes are exactly a range of the input is copied inside S3 (the rest,
    with blank lines inside or a last row without its line end, is read again and written)."""
    state, limit = work.state, shard_limit_bytes(work.job)
    try:
        for span in shards.spans(chunks, offset=state.Offset, limit=limit, rows_before=item.Rows):
            target = work_area.shard(work.job, item.Relative, len(item.Shards))
            if span.exact:
                work.copies.submit(_copy(location, span, target))
            else:
                _write_span(location, span, target)
            item.Shards.append(Shard(Rows=span.rows, FirstRow=item.Rows + 1))
            item.Rows += span.rows
            state.SpansLines = state.SpansLines or span.spans_lines
            state.Offset, state.ShardsWritten = span.end, state.ShardsWritten + 1
            if work.clock.checkpoint_due():
                _checkpoint(work)
                if work.out_of_time:
                    return False
    except shards.RecordTooLarge as error:
        raise PreparationFailed(
            f"Data row {error.row} of {item.uri} is {error.size / MB:.1f} MB as the model gets "
            f"it, larger than MaxPayloadInMB ({limit // MB} MB), so no request can hold it. "
            "Raise MaxPayloadInMB (at most 100) or shorten the row."
        ) from None
    return True  # copies still under way are waited for by the next checkpoint


def _copy(location: S3Location, span: shards.Span, target: S3Location) -> Callable[[], None]:
    def copy() -> None:
        s3_gateway.copy_range(location, span.start, span.end, target, content_type="text/csv")

    return copy


def _write_span(location: S3Location, span: shards.Span, target: S3Location) -> None:
    """The shard of a span whose bytes are not the shard as they are: blank lines dropped, and
    a line end after a last row without one."""
    writer = ObjectWriter(target)
    last = b""
    chunks = s3_gateway.stream(location, offset=span.start, end=span.end)
    for records, _ in record_batches(chunks, offset=span.start):
        block = b"".join(record for record in records if not is_blank(record))
        if block:
            writer.write(block)
            last = block
    if not last.endswith(b"\n"):
        writer.write(b"\n")
    writer.close()


def _take_header(work: _Work, chunks: Iterator[bytes]) -> tuple[bytes | None, Iterator[bytes]]:
    """The file's first non-blank record, and the bytes after it; the checkpoint offset moves
    past it, so a resumed step never reads it as data."""
    splitter = RecordSplitter()
    seen = bytearray()  # the object's bytes so far (the header is near their start)
    for chunk in chunks:
        # In small pieces: the splitter returns every record of what it is fed, one by one.
        for at in range(0, len(chunk), HEADER_PIECE_BYTES):
            piece = chunk[at : at + HEADER_PIECE_BYTES]
            seen += piece
            records = splitter.feed(piece)
            end = splitter.offset - sum(map(len, records))
            for record in records:
                end += len(record)
                if not is_blank(record):
                    work.state.Offset = end
                    rest = bytes(seen[end:]) + chunk[at + HEADER_PIECE_BYTES :]
                    return record, _then(rest, chunks)
            work.state.Offset = end
    for record in splitter.finish():  # a header without a line end, and nothing after it
        work.state.Offset = splitter.offset
        if not is_blank(record):
            return record, iter(())
    return None, iter(())


def _then(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _selection(work: _Work, item: PlannedObject) -> ColumnSelection | None:
    """The wanted columns mapped onto the file's header (None: rows pass as they are)."""
    if not work.state.HeaderPresent:
        return None
    wanted = work.job.Request.InputPreparation and work.job.Request.InputPreparation.Columns
    if item.Header is None or not wanted:
        return None
    try:
        return ColumnSelection(cells(item.Header), wanted)
    except BadRecord as error:
        raise PreparationFailed(f"The header row of {item.uri} {error}.") from None
    except MissingColumns as missing:
        raise PreparationFailed(
            f"The header of {item.uri} {missing}. Fix InputPreparation.Columns, or the file's "
            "header."
        ) from None


def _checkpoint(work: _Work) -> None:
    """Saves the plan so far, then advances the job's step; raises _Superseded if another
    invocation or a status change got there first."""
    work.copies.wait()  # the plan names shards: they must all be there
    state = work.state
    version = f"{state.ObjectIndex}-{state.Offset}" + ("-done" if state.Done else "")
    location = work_area.plan(work.job.JobId, version)
    save_plan(location, work.plan)
    step = state.Step
    saved = state.model_copy(deep=True, update={"Step": step + 1, "PlanKey": location.key})
    rows = sum(item.Rows for item in work.plan.Objects[: state.ObjectIndex + 1])

    def decide(job: Job) -> JobUpdate | None:
        if job.Status is not JobStatus.PREPARING or job.Preparation is None:
            return None
        if job.Preparation.Step != step:
            return None
        job.Preparation = saved
        job.Progress.RowsRead = rows
        job.Progress.ShardsWritten = saved.ShardsWritten
        job.UpdatedAt = clock.now()
        return JobUpdate(job=job)

    if job_repository.update_job(work.job.JobId, decide) is None:
        raise _Superseded
    state.Step, state.PlanKey = saved.Step, saved.PlanKey
    work.clock.checkpointed()


def give_up(job_id: str, error: Exception) -> JobStatus:
    """A step kept failing unexpectedly: end the job with the error rather than retry forever."""
    return _fail(
        job_id,
        f"Preparing the input failed repeatedly (last error: {error}). Check that the service "
        "may read the input and write under the output prefix, then submit the job again.",
    )


def _fail(job_id: str, reason: str) -> JobStatus:
    return fail(job_id, reason, source="prepare")
