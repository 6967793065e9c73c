"""Queued steps of a job (launch, preparation, reassembly): how long one invocation may work,
when it checkpoints, and how a step's SQS message is run and given up on."""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.messages import LaunchRecord, StepRecord
from transform_jobs.settings import get_settings

logger = Logger(child=True)

QueuedJob = LaunchRecord | StepRecord

# Left for the last shard or part in flight, the checkpoint and the next step's message.
SAFETY_MARGIN_S = 120.0
# A running step checkpoints this often, so a crash loses little and the job shows progress.
CHECKPOINT_SECONDS = 30.0


def deadline(context: LambdaContext) -> float:
    """A time.monotonic() after which the step checkpoints and continues in a new invocation."""
    remaining = context.get_remaining_time_in_millis() / 1000
    budget = max(remaining - SAFETY_MARGIN_S, remaining / 2)
    if get_settings().work_slice_seconds:
        budget = min(budget, get_settings().work_slice_seconds)
    return time.monotonic() + budget


class StepClock:
    """One invocation's time: whether it must stop, and whether a checkpoint is due."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.last_checkpoint = time.monotonic()

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def checkpoint_due(self) -> bool:
        return self.out_of_time or time.monotonic() - self.last_checkpoint >= CHECKPOINT_SECONDS

    def checkpointed(self) -> None:
        self.last_checkpoint = time.monotonic()


def run_step(
    record: QueuedJob,
    context: LambdaContext,
    work: Callable[[float], JobStatus | None],
    give_up: Callable[[str, Exception], JobStatus],
    *,
    max_receives: int,
) -> JobStatus | None:
    """Runs one queued step of a job: `work(deadline)`. An unexpected error goes back to SQS for
    a retry, except on the message's last receive (the queue's maxReceiveCount, after which it
    would go to the dead-letter queue): then the job fails with it instead."""
    job_id = record.body.JobId
    try:
        status = work(deadline(context))
    except Exception as error:
        if record.receive_count < max_receives:
            raise  # SQS delivers it again after the visibility timeout
        logger.exception("Last attempt of the step failed; failing the job", job_id=job_id)
        status = give_up(job_id, error)
    logger.info("Step done", job_id=job_id, status=status)
    return status


def fail(job_id: str, reason: str, *, source: str) -> JobStatus:
    """Ends the job Failed with `reason` (unless it already ended); returns its status."""
    job = job_repository.update_job(
        job_id, lambda job: move(job, JobStatus.FAILED, source=source, reason=reason)
    )
    job = job or job_repository.get_job(job_id)
    return job.Status if job else JobStatus.FAILED
