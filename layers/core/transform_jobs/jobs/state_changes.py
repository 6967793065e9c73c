"""Applying what SageMaker reports (events and reconcile) to the job, forward only, once per event.

EventBridge delivers at least once and in any order. A report is applied only if it moves the job
forward (job_status.predecessors), and an event id already applied is a no-op. A report that
overtook those of statuses SageMaker passed through first moves the job through them as well.
Every status the job takes writes a history item, in order, in the same transaction as the job
(job_repository.update_job).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from aws_lambda_powertools import Logger

from transform_jobs.adapters import queue_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.identifiers import is_job_id
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import FinalizationState, Job, JobResource
from transform_jobs.models.job_status import (
    JobStatus,
    SageMakerStatus,
    from_sagemaker,
    is_forward,
    passed_through,
)
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.sagemaker_event import TransformJobStateChange
from transform_jobs.settings import get_settings

logger = Logger(child=True)


@dataclass(frozen=True)
class SageMakerReport:
    """One observation of a SageMaker transform job (an event's detail, or a Describe)."""

    job_name: str
    status: SageMakerStatus
    source: str
    event_id: str | None = None
    arn: str | None = None
    failure_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @classmethod
    def of_event(cls, event: TransformJobStateChange) -> SageMakerReport:
        """What a "Transform Job State Change" event says, its id making redeliveries no-ops."""
        detail = event.detail
        return cls(
            job_name=detail.TransformJobName,
            status=detail.TransformJobStatus,
            source="sagemaker",
            event_id=event.id,
            arn=detail.TransformJobArn,
            failure_reason=detail.FailureReason,
            started_at=detail.TransformStartTime,
            ended_at=detail.TransformEndTime,
        )


def job_id_of(job_name: str) -> str | None:
    """The job id inside a SageMaker job name the service gave, or None for any other name."""
    prefix = get_settings().job_name_prefix
    if not job_name.startswith(prefix):
        return None
    job_id = job_name[len(prefix) :]
    return job_id if is_job_id(job_id) else None


def apply(report: SageMakerReport) -> Job | None:
    """Apply a report; returns the job if it changed, None if it was a no-op or not ours."""
    job_id = job_id_of(report.job_name)
    if job_id is None:
        logger.warning(
            "Ignoring a report for a job the service did not name", job_name=report.job_name
        )
        return None
    found: list[Job] = []

    def decide_found(job: Job) -> JobUpdate | None:
        found.append(job)  # update_job decides only on a job it read
        return decide(job, report)

    # Duplicates and late reports are no-ops: knowing from the read itself that the job exists
    # spares them a second read.
    changed = job_repository.update_job(job_id, decide_found)
    if changed is None and not found:
        logger.warning("Ignoring a report for an unknown job", job_name=report.job_name)
    if changed is not None and changed.Status is JobStatus.FINALIZING:
        queue_gateway.send_finalize(job_id, step=0)
    return changed


def decide(job: Job, report: SageMakerReport) -> JobUpdate | None:
    """The change a report makes to a job, or None (duplicate, stale, or not forward).

    A report may arrive before those of statuses SageMaker passed through on its way (Stopped
    before Stopping; Completed before the InProgress a job whose launch went unrecorded still
    waits for). The job then takes those steps too, in the same update, each with the history
    entry its own report would have written: the job and its history end the same whatever the
    order of delivery, and the late reports find nothing left to do.
    """
    if report.event_id and report.event_id in job.SeenEventIds:
        return None
    if not is_forward(job.Status, _target(job, report)):
        return None
    steps = [*(_implied(report, status) for status in passed_through(report.status)), report]
    update = JobUpdate(job=job)
    for step in steps:
        taken = _take(job, step)
        if taken is None:
            continue  # the job is past this status already
        for entry in taken.history:
            # Later steps change the job further; the webhook for this one shows it as it was.
            entry.snapshot = JobResource.of(job).model_copy(deep=True)
        update.history.extend(taken.history)
        update.release_capacity = update.release_capacity or taken.release_capacity
    return update


def _target(job: Job, report: SageMakerReport) -> JobStatus:
    target = from_sagemaker(report.status, finalizes=job.finalizes)
    if target is JobStatus.FINALIZING and job.CancelRequested:
        # SageMaker finished just as the team cancelled: honour the cancel (Finalizing ranks
        # below Stopping, so the job would otherwise wait in Stopping for good).
        return JobStatus.STOPPED
    return target


def _implied(report: SageMakerReport, status: SageMakerStatus) -> SageMakerReport:
    """The report SageMaker sent (or will send) for an earlier `status` of the same job: the same
    job and times so far, but no end, no failure, and no event id to remember."""
    return replace(report, status=status, event_id=None, failure_reason=None, ended_at=None)


def _take(job: Job, report: SageMakerReport) -> JobUpdate | None:
    """Move the job to the status `report` means, with what the report tells; None if that is
    not forward."""
    target = _target(job, report)
    update = move(job, target, source=report.source, reason=_reason(job, report, target))
    if update is None:
        return None
    changed = update.job
    changed.SageMakerJobArn = report.arn or changed.SageMakerJobArn
    if report.started_at and not changed.StartedAt:
        changed.StartedAt = report.started_at
    if report.event_id:
        changed.SeenEventIds = [*changed.SeenEventIds, report.event_id]
    if target.is_terminal and report.ended_at:
        changed.EndedAt = report.ended_at
    if target is JobStatus.FINALIZING:
        # SageMaker's part is done: its slot is free while the service reassembles.
        changed.Finalization = FinalizationState()
        update.release_capacity, changed.HoldsCapacity = changed.HoldsCapacity, False
    if report.status is SageMakerStatus.COMPLETED:
        _all_transformed(changed)
    return update


def _all_transformed(job: Job) -> None:
    progress = job.Progress
    if job.prepares:
        progress.ShardsDone = progress.ShardsWritten
        if not job.finalizes:
            progress.OutputObjects = progress.ShardsWritten  # one output per shard
    elif progress.InputObjects is not None:
        progress.OutputObjects = progress.InputObjects


def _reason(job: Job, report: SageMakerReport, target: JobStatus) -> str | None:
    if report.status is SageMakerStatus.FAILED:
        return f"SageMaker: {report.failure_reason or 'the transform job failed (no reason given)'}"
    if report.status is SageMakerStatus.STOPPED:
        return (
            "Stopped on the team's request."
            if job.CancelRequested
            else "Stopped outside the service."
        )
    if report.status is SageMakerStatus.COMPLETED and target is JobStatus.STOPPED:
        return (
            "Stopped on the team's request; SageMaker had finished, and its outputs were not "
            "reassembled."
        )
    if report.status is SageMakerStatus.STOPPING and not job.CancelRequested:
        return "SageMaker is stopping the job (stopped outside the service)."
    return job.StatusReason if target is JobStatus.STOPPING else None
