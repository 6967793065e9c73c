"""The Preparing phase (prepare_job): CSV input cut into shards SageMaker can split safely.

Each input file is streamed and split at true record boundaries (csv_records); its header is
kept aside, its columns selected and reordered by name, and its rows written into shards of
whole records, each within MaxPayloadInMB, under the job's work area. The transform then runs
on the shards: SplitType Line when no cell spans lines, else None (one shard per request).

Work is resumable: a checkpoint (file, byte offset, shards so far) is taken at shard boundaries
every CHECKPOINT_SECONDS and when the invocation's time runs short, and a message for the next
step continues it in a new invocation. Shards are cut the same way from the same offset, so a
step done twice writes the same shards; a step counter in the job makes the second one stop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from transform_jobs import clock, queue_gateway, repository, s3_gateway, work_area
from transform_jobs.csv_columns import (
    BadRecord,
    ColumnSelection,
    MissingColumns,
    body_and_end,
    cells,
    is_blank,
    spans_lines,
)
from transform_jobs.csv_records import UnterminatedQuote, records_with_ends
from transform_jobs.job_events import move
from transform_jobs.job_status import JobStatus
from transform_jobs.models.job import Job, PreparationState
from transform_jobs.models.plan import PlannedObject, PreparationPlan, Shard
from transform_jobs.object_writer import ObjectWriter
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

logger = Logger(child=True)

MB = 1024 * 1024
# SageMaker's own default when MaxPayloadInMB is not given (0 means "unlimited" to SageMaker,
# which only a streaming request could honour; a shard must still be bounded).
DEFAULT_PAYLOAD_MB = 6
CHECKPOINT_SECONDS = 30.0


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

    def decide(job: Job) -> repository.JobUpdate | None:
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

    job = repository.update_job(job_id, decide)
    if job is not None:
        queue_gateway.send_prepare(job_id, step=0)
    return job


def save_plan(location: S3Location, plan: PreparationPlan) -> None:
    s3_gateway.put_bytes(location, plan.model_dump_json().encode(), content_type="application/json")


def load_plan(key: str) -> PreparationPlan:
    raw = s3_gateway.read_all(S3Location(get_settings().artifacts_bucket, key))
    return PreparationPlan.model_validate_json(raw)


@dataclass
class _Work:
    """One invocation's share of the preparation."""

    job: Job
    state: PreparationState
    plan: PreparationPlan
    deadline: float
    last_checkpoint: float = field(default_factory=time.monotonic)

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline


def prepare(job_id: str, step: int, *, deadline: float) -> JobStatus | None:
    """Prepare until done or until `deadline` (time.monotonic()); returns the job's status."""
    job = repository.get_job(job_id)
    if job is None:
        return None
    state = job.Preparation
    if job.Status is not JobStatus.PREPARING or state is None or state.Done or state.Step != step:
        return job.Status  # a duplicate or stale message, or a job that moved on
    work = _Work(job, state.model_copy(deep=True), load_plan(state.PlanKey), deadline)
    try:
        finished = _run(work)
    except PreparationFailed as failure:
        return _fail(job_id, str(failure))
    except _Superseded:
        current = repository.get_job(job_id)
        return current.Status if current else None
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

    def add(self, record: bytes) -> None:
        self.writer.write(record)
        self.rows += 1
        self.size += len(record)

    def close(self) -> Shard:
        self.writer.close()
        return Shard(Rows=self.rows, FirstRow=self.first_row)


def _prepare_object(work: _Work, item: PlannedObject) -> bool:
    """Shards one file from the checkpoint on; False when time ran out at a shard boundary."""
    state, job = work.state, work.job
    limit = shard_limit_bytes(job)
    location = S3Location(item.Bucket, item.Key)
    if state.Offset == 0:
        item.Header, item.Rows, item.Shards = None, 0, []
    try:
        records = records_with_ends(
            s3_gateway.stream(location, offset=state.Offset), offset=state.Offset
        )
        selection = _selection(work, item, records)
        row = item.Rows
        shard: _ShardBuilder | None = None
        end_of_shard = state.Offset
        for record, end in records:
            if is_blank(record):
                if shard is None:
                    end_of_shard = end
                continue
            row += 1
            prepared = _prepared_record(work, record, selection, item, row)
            if shard is not None and shard.size + len(prepared) > limit:
                item.Shards.append(shard.close())
                item.Rows = row - 1
                state.Offset, state.ShardsWritten = end_of_shard, state.ShardsWritten + 1
                shard = None
                if work.out_of_time or _checkpoint_due(work):
                    _checkpoint(work)
                    if work.out_of_time:
                        return False
            if shard is None:
                shard = _ShardBuilder(
                    work_area.shard(job, item.Relative, len(item.Shards)), first_row=row
                )
            shard.add(prepared)
            end_of_shard = end
        if shard is not None:
            item.Shards.append(shard.close())
            state.ShardsWritten += 1
        item.Rows = row
        return True
    except UnterminatedQuote as error:
        raise PreparationFailed(
            f"{item.uri} is not valid CSV: {error}. Fix the file and submit again."
        ) from None
    except s3_gateway.ObjectMissing as error:
        raise PreparationFailed(
            f"{error}. The input changed after the job was checked; submit it again."
        ) from None


def _selection(
    work: _Work, item: PlannedObject, records: Iterator[tuple[bytes, int]]
) -> ColumnSelection | None:
    """Takes the header (at the start of a file) and maps the wanted columns onto it."""
    if not work.state.HeaderPresent:
        return None
    if work.state.Offset == 0:
        for record, end in records:
            work.state.Offset = end
            if not is_blank(record):
                item.Header = record
                break
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


def _prepared_record(
    work: _Work, record: bytes, selection: ColumnSelection | None, item: PlannedObject, row: int
) -> bytes:
    """The row as the model gets it: the wanted columns in order, ending in a line feed."""
    try:
        prepared = selection.apply(record) if selection else record
    except BadRecord as error:
        raise PreparationFailed(
            f"Data row {row} of {item.uri} {error}. Fix the row and submit again."
        ) from None
    body, end = body_and_end(prepared)
    if not work.state.SpansLines and spans_lines(body):
        work.state.SpansLines = True
    limit = shard_limit_bytes(work.job)
    if len(body) + 1 > limit:
        raise PreparationFailed(
            f"Data row {row} of {item.uri} is {len(body) / MB:.1f} MB, larger than "
            f"MaxPayloadInMB ({limit // MB} MB), so no request can hold it. Raise "
            "MaxPayloadInMB (at most 100) or shorten the row."
        )
    return prepared if end else body + b"\n"


def _checkpoint_due(work: _Work) -> bool:
    return time.monotonic() - work.last_checkpoint >= CHECKPOINT_SECONDS


def _checkpoint(work: _Work) -> None:
    """Saves the plan so far, then advances the job's step; raises _Superseded if another
    invocation or a status change got there first."""
    state = work.state
    version = f"{state.ObjectIndex}-{state.Offset}" + ("-done" if state.Done else "")
    location = work_area.plan(work.job.JobId, version)
    save_plan(location, work.plan)
    step = state.Step
    saved = state.model_copy(deep=True, update={"Step": step + 1, "PlanKey": location.key})
    rows = sum(item.Rows for item in work.plan.Objects[: state.ObjectIndex + 1])

    def decide(job: Job) -> repository.JobUpdate | None:
        if job.Status is not JobStatus.PREPARING or job.Preparation is None:
            return None
        if job.Preparation.Step != step:
            return None
        job.Preparation = saved
        job.Progress.RowsRead = rows
        job.Progress.ShardsWritten = saved.ShardsWritten
        job.UpdatedAt = clock.now()
        return repository.JobUpdate(job=job)

    if repository.update_job(work.job.JobId, decide) is None:
        raise _Superseded
    state.Step, state.PlanKey = saved.Step, saved.PlanKey
    work.last_checkpoint = time.monotonic()


def _fail(job_id: str, reason: str) -> JobStatus:
    job = repository.update_job(
        job_id, lambda job: move(job, JobStatus.FAILED, source="prepare", reason=reason)
    )
    job = job or repository.get_job(job_id)
    return job.Status if job else JobStatus.FAILED
