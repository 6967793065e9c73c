"""The Finalizing phase (finalize_job): one output per input file, rows joined with predictions.

For each input file, in input order: its header with the prediction columns' names, then every
data row exactly as it was in the input (all its columns, in its own order), a comma, and the
model's output row for it, read from the shard outputs in order. The file is written to
`<S3OutputPath>/<input key relative to the prefix>.out` as a multipart upload. A shard whose
output has more or fewer rows than the shard fails the job and names the input rows.

Resumable: after each uploaded part (a row boundary) a checkpoint may be taken (input offset,
shard, output offset, upload id and part ETags) and a new invocation continues from it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple, NoReturn

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import queue_gateway, s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.adapters.object_writer import ObjectWriter
from transform_jobs.csv_io.columns import BadRecord, body_and_end, cells, format_row
from transform_jobs.csv_io.lines import line_batches
from transform_jobs.csv_io.records import UnterminatedQuote
from transform_jobs.jobs import work_area
from transform_jobs.jobs.steps import StepClock
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import FinalizationState, Job
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.plan import PlannedObject, PreparationPlan, Shard
from transform_jobs.preparation.prepare import READ_AHEAD_CHUNKS, load_plan
from transform_jobs.s3_location import S3Location

logger = Logger(child=True)


class ReassemblyFailed(Exception):
    """The outputs cannot be joined to the input; the message is the job's failure reason."""


class _Superseded(Exception):
    """The job moved on (cancelled) or another invocation took this step."""


class _OutOfTime(Exception):
    """A checkpoint was taken; a new invocation continues."""


@dataclass
class _Work:
    job: Job
    state: FinalizationState
    plan: PreparationPlan
    clock: StepClock

    @property
    def out_of_time(self) -> bool:
        return self.clock.out_of_time


def prediction_names(job: Job, width: int) -> list[str]:
    """OutputColumns, else prediction, prediction_2, ... for a model answering `width` cells."""
    preparation = job.Request.InputPreparation
    if preparation and preparation.OutputColumns:
        return list(preparation.OutputColumns)
    return ["prediction", *(f"prediction_{n}" for n in range(2, width + 1))]


def finalize(job_id: str, step: int, *, deadline: float) -> JobStatus | None:
    """Reassemble until done or until `deadline` (time.monotonic()); returns the job's status."""
    job = job_repository.get_job(job_id)
    if job is None:
        return None
    state = job.Finalization
    if job.Status is not JobStatus.FINALIZING or job.Preparation is None:
        _abort_left_upload(job)
        return job.Status
    state = state or FinalizationState()
    if state.Step != step:
        return job.Status  # a duplicate or stale message
    work = _Work(
        job, state.model_copy(deep=True), load_plan(job.Preparation.PlanKey), StepClock(deadline)
    )
    try:
        _run(work)
    except ReassemblyFailed as failure:
        return _end(
            job_id, JobStatus.FAILED, str(failure), files=work.state.FilesWritten, step=None
        )
    except _Superseded:
        current = job_repository.get_job(job_id)
        if current is not None:
            _abort_left_upload(current, work.state)
        return current.Status if current else None
    except _OutOfTime:
        queue_gateway.send_finalize(job_id, step=work.state.Step)
        return JobStatus.FINALIZING
    status = _end(
        job_id, JobStatus.COMPLETED, None, files=work.state.FilesWritten, step=work.state.Step
    )
    if status is JobStatus.COMPLETED:
        # The shards and their outputs were only a means; the reassembled files are the result.
        s3_gateway.delete_prefix(work_area.work_prefix(job))
    return status


def _run(work: _Work) -> None:
    objects = work.plan.Objects
    while work.state.ObjectIndex < len(objects):
        item = objects[work.state.ObjectIndex]
        try:
            _reassemble_object(work, item)
        except s3_gateway.UploadGone:
            # The upload was completed (a crash before the checkpoint) or aborted: redo the file.
            logger.info("Upload gone; writing the file again", key=item.Key)
            _restart_object(work.state)
            continue
        work.state.FilesWritten += 1
        work.state.ObjectIndex += 1
        _restart_object(work.state)
        if work.clock.checkpoint_due():
            _checkpoint(work)
            if work.out_of_time:
                raise _OutOfTime


def _restart_object(state: FinalizationState) -> None:
    state.InputOffset = state.ShardIndex = state.OutputOffset = state.ShardRowsDone = 0
    state.Upload = None


def _reassemble_object(work: _Work, item: PlannedObject) -> None:
    state, job = work.state, work.job
    resumed = state.Upload.model_copy(deep=True) if state.Upload else None
    writer = ObjectWriter(work_area.reassembled_output(job, item.Relative), resume=resumed)
    location = S3Location(item.Bucket, item.Key)
    originals = _Rows(location, state.InputOffset, skip_header=item.Header is not None)
    try:
        with contextlib.closing(originals):
            for index in range(state.ShardIndex, len(item.Shards)):
                _join_shard(work, item, index, originals, writer)
                state.ShardIndex, state.OutputOffset, state.ShardRowsDone = index + 1, 0, 0
            if state.InputOffset == 0 and not item.Shards:
                writer.write(_header(job, item, None))  # a file with a header and no rows
        writer.close()
    except (ReassemblyFailed, s3_gateway.UploadGone):
        writer.abort()
        raise
    except _Superseded:
        if resumed is None:
            writer.abort()  # our own upload; one resumed from a checkpoint may be another's
        raise
    except UnterminatedQuote as error:
        writer.abort()
        raise ReassemblyFailed(
            f"{item.uri} or an output for it is not valid CSV: {error}."
        ) from None
    except s3_gateway.ObjectMissing as error:
        writer.abort()
        raise ReassemblyFailed(
            f"{error}: the input or a shard's output is gone; submit the job again."
        ) from None


class _Taken(NamedTuple):
    """Rows taken, each without its line feed (csv_lines)."""

    lines: list[bytes]
    unended: bool  # the last is the object's last row, which has no line end
    crs: bool = True  # a row may hold a CR (False: none does, so every one ends in LF)


class _Rows:
    """The data rows of a CSV object from an offset, taken many at a time; `end` is the object
    offset just past the last row taken (blank lines, and the header at the start, skipped)."""

    def __init__(self, location: S3Location, offset: int, *, skip_header: bool = False) -> None:
        self.location = location
        self._stream = s3_gateway.stream(location, offset=offset, read_ahead=READ_AHEAD_CHUNKS)
        self._batches = line_batches(self._stream, offset=offset)
        self._lines: list[bytes] = []
        self._next = 0
        self._unended = False  # the lines are the object's last row, without its line end
        self._crs = True  # whether the lines may hold a CR
        self._skip_header = skip_header and offset == 0
        self.end = offset

    def close(self) -> None:
        """Stops reading (and the thread that reads ahead)."""
        self._stream.close()

    def _pending(self) -> bool:
        """Moves to the next row to take (past blanks and the header); False at the end."""
        while True:
            if self._next == len(self._lines):
                batch = next(self._batches, None)
                if batch is None:
                    return False
                self._lines, self._next = batch.lines, 0
                self._unended, self._crs = batch.unended, batch.crs
                self.end = batch.start
            blank = not self._unended and self._lines[self._next] in _BLANK
            if not blank and not self._skip_header:
                return True
            self._skip_header = self._skip_header and blank
            self._taken(self._lines[self._next : self._next + 1])

    def _taken(self, run: list[bytes]) -> None:
        self.end += sum(map(len, run)) + len(run) - self._unended
        self._next += len(run)

    def peek(self) -> bytes | None:
        """The next row as a record (with its line feed, if it has one)."""
        if not self._pending():
            return None
        line = self._lines[self._next]
        return line if self._unended else line + b"\n"

    def take(self, count: int) -> _Taken:
        taken: list[bytes] = []
        crs = False
        while len(taken) < count and self._pending():
            run = self._lines[self._next : self._next + count - len(taken)]
            blank = -1 if self._unended else _first_blank(run)
            if blank > 0:
                del run[blank:]  # up to the blank line; the next take skips it
            taken += run
            crs = crs or self._crs
            self._taken(run)
        unended = self._unended and self._next == len(self._lines) and bool(taken)
        return _Taken(taken, unended, crs)

    def remaining(self) -> int:
        count = 0
        while self._pending():
            count += len(self.take(len(self._lines) - self._next).lines)
        return count


# A record that is an empty line (LF or CRLF alone), without its line feed: no row at all.
_BLANK = (b"", b"\r")


def _first_blank(lines: list[bytes]) -> int:
    """The index of the first blank line among `lines` (-1: none)."""
    return min((lines.index(blank) for blank in _BLANK if blank in lines), default=-1)


_COMMA = [b","]

# Rows joined per write: large enough that the per-block work is small beside the rows', small
# enough that a block is far below a part.
BLOCK_ROWS = 20_000


def _joined(rows: _Taken, answers: _Taken) -> bytes:
    """Each input row as it was, a comma, its answer without its line end; the row's own line
    end (LF for a last row without one). A valid CSV row ends in a quote or an unquoted cell,
    so stripping CRs takes only its line end.

    Rows with the same line end throughout (LF, or CRLF) are joined by whole-list operations;
    any other block row by row."""
    lines, replies = rows.lines, answers.lines
    if len(lines) != len(replies):
        raise ValueError(f"{len(lines)} rows but {len(replies)} answers")
    if not lines:
        return b""
    if rows.unended:  # the file's last row: its line end is whatever follows its last cell
        body = lines[-1].rstrip(b"\r")
        last = body + b"," + replies[-1].rstrip(b"\r") + (lines[-1][len(body) :] or b"\n")
        earlier = _Taken(lines[:-1], False, rows.crs), _Taken(replies[:-1], False, answers.crs)
        return _joined(*earlier) + last
    # Without a CR anywhere in their chunks (found at C speed as they were read), rows and
    # answers need no look at their line ends.
    answer_bodies = list(map(bytes.rstrip, replies, repeat(b"\r"))) if answers.crs else replies
    if not rows.crs or not any(map(bytes.endswith, lines, repeat(b"\r"))):
        return _interleaved(lines, answer_bodies, b"\n")
    bodies = list(map(bytes.rstrip, lines, repeat(b"\r")))
    if all(map(bytes.endswith, lines, repeat(b"\r"))) and not any(
        map(bytes.endswith, lines, repeat(b"\r\r"))
    ):
        return _interleaved(bodies, answer_bodies, b"\r\n")
    return b"".join(
        body + b"," + answer + line[len(body) :] + b"\n"
        for line, body, answer in zip(lines, bodies, answer_bodies, strict=True)
    )


def _interleaved(bodies: list[bytes], answers: list[bytes], end: bytes) -> bytes:
    """Each body, a comma, its answer, `end`: one join of a list laid out by slice assignments,
    which makes no object per row (a third of the time of joining each pair first)."""
    parts = [end] * (4 * len(bodies))
    parts[0::4], parts[1::4], parts[2::4] = bodies, _COMMA * len(bodies), answers
    return b"".join(parts)


def _join_shard(
    work: _Work, item: PlannedObject, index: int, originals: _Rows, writer: ObjectWriter
) -> None:
    """Writes one shard's rows joined with its predictions, from the checkpoint on."""
    output = work_area.shard_output(work.job, item.Relative, index)
    with contextlib.closing(_Rows(output, work.state.OutputOffset)) as predictions:
        if work.state.InputOffset == 0 and index == 0:
            writer.write(_header(work.job, item, predictions.peek()))
        _join_rows(work, item, item.Shards[index], (originals, predictions), writer)


def _join_rows(
    work: _Work,
    item: PlannedObject,
    shard: Shard,
    sources: tuple[_Rows, _Rows],
    writer: ObjectWriter,
) -> None:
    state, (originals, predictions) = work.state, sources
    while state.ShardRowsDone < shard.Rows:
        rows = originals.take(min(BLOCK_ROWS, shard.Rows - state.ShardRowsDone))
        if not rows.lines:
            raise ReassemblyFailed(
                f"{item.uri} has fewer rows than when it was prepared (it changed while the job "
                "ran); submit the job again."
            )
        answers = predictions.take(len(rows.lines))
        if len(answers.lines) < len(rows.lines):
            answered = state.ShardRowsDone + len(answers.lines)
            _count_mismatch(item, shard, answered, predictions.location)
        part_sent = writer.write(_joined(rows, answers))
        state.InputOffset, state.OutputOffset = originals.end, predictions.end
        state.ShardRowsDone += len(rows.lines)
        if part_sent and (work.clock.checkpoint_due()):
            state.Upload = writer.upload
            _checkpoint(work)
            if work.out_of_time:
                raise _OutOfTime
    extra = predictions.remaining()
    if extra:
        _count_mismatch(item, shard, shard.Rows + extra, predictions.location)


def _header(job: Job, item: PlannedObject, first: bytes | None) -> bytes:
    if item.Header is None:
        return b""
    try:
        width = len(cells(first)) if first else 1
    except BadRecord as error:
        raise ReassemblyFailed(f"The model's first output row for {item.uri} {error}.") from None
    body, end = body_and_end(item.Header)
    return body + b"," + format_row(prediction_names(job, width), end or b"\n")


def _count_mismatch(
    item: PlannedObject, shard: Shard, answered: int, output: S3Location
) -> NoReturn:
    first_row, rows = shard.FirstRow, shard.Rows
    raise ReassemblyFailed(
        f"The model answered {answered} rows for the {rows} data rows {first_row}–"
        f"{first_row + rows - 1} of {item.uri} (output {output.uri}); every row needs exactly "
        "one output line (a CSV line; quote cells that hold line breaks). Fix the model's "
        "output_fn and submit again."
    )


def _checkpoint(work: _Work) -> None:
    state = work.state
    step = state.Step
    saved = state.model_copy(deep=True, update={"Step": step + 1})

    def decide(job: Job) -> JobUpdate | None:
        current = job.Finalization or FinalizationState()
        if job.Status is not JobStatus.FINALIZING or current.Step != step:
            return None
        job.Finalization = saved
        job.Progress.OutputObjects = saved.FilesWritten
        job.UpdatedAt = clock.now()
        return JobUpdate(job=job)

    if job_repository.update_job(work.job.JobId, decide) is None:
        raise _Superseded
    state.Step = saved.Step
    work.clock.checkpointed()


def give_up(job_id: str, error: Exception) -> JobStatus:
    """A step kept failing unexpectedly: end the job with the error rather than retry forever."""
    return _end(
        job_id,
        JobStatus.FAILED,
        f"Reassembling the outputs failed repeatedly (last error: {error}). The shards' outputs "
        "are kept in the job's work area; submit the job again, and if it keeps failing, contact "
        "the service's operators.",
        files=None,
        step=None,
    )


def _abort_left_upload(job: Job, state: FinalizationState | None = None) -> None:
    """A job that ended (cancelled, failed) leaves no half-written upload behind."""
    upload = (state or job.Finalization or FinalizationState()).Upload
    if job.Status.is_terminal and upload is not None:
        bucket = work_area.output_folder(job).bucket
        s3_gateway.abort_upload(S3Location(bucket, upload.Key), upload.UploadId)


def _end(
    job_id: str, status: JobStatus, reason: str | None, *, files: int | None, step: int | None
) -> JobStatus:
    """Ends the job; with `step`, only if no other invocation has moved past this one."""

    def decide(job: Job) -> JobUpdate | None:
        current = job.Finalization or FinalizationState()
        if step is not None and current.Step != step:
            return None
        update = move(job, status, source="finalize", reason=reason)
        if update is not None and files is not None:
            update.job.Progress.OutputObjects = files
        return update

    job = job_repository.update_job(job_id, decide) or job_repository.get_job(job_id)
    return job.Status if job else status
