"""Repairing what events and messages lose (reconcile_jobs, scheduled).

For every non-terminal job without news for a while (found through the sparse ActiveJobs index,
never a scan): a job still waiting for its launcher is handed over again; a launched job is
described in SageMaker, and the answer goes through the same logic as events; its progress is
updated by counting its output objects. A job Preparing or Finalizing gets its current step sent
again (the message may have been lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import queue_gateway, s3_gateway, sagemaker_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs import work_area
from transform_jobs.jobs.queries import is_output_of, output_folder_objects
from transform_jobs.jobs.state_changes import SageMakerReport, apply
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, SageMakerStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.settings import get_settings

logger = Logger(child=True)

_AWAITING_LAUNCH = (JobStatus.SUBMITTED, JobStatus.VALIDATING)
_LAUNCHED = (JobStatus.IN_PROGRESS, JobStatus.STOPPING)


@dataclass
class ReconcileSummary:
    relaunched: int = 0
    described: int = 0
    changed: int = 0


def reconcile() -> ReconcileSummary:
    summary = ReconcileSummary()
    cutoff = clock.now() - timedelta(seconds=get_settings().reconcile_after_seconds)
    for status in _AWAITING_LAUNCH:
        for job in job_repository.active_jobs(status, since_before=cutoff):
            queue_gateway.send_launch(job.JobId)
            summary.relaunched += 1
    for job in job_repository.active_jobs(JobStatus.PREPARING, since_before=cutoff):
        # A preparation step or its hand-back to the launcher was lost: send it again (a step
        # still running is stale by then, as a running step checkpoints every few seconds).
        if job.Preparation is not None and job.Preparation.Done:
            queue_gateway.send_launch(job.JobId)
        elif job.Preparation is not None:
            queue_gateway.send_prepare(job.JobId, step=job.Preparation.Step)
        summary.relaunched += 1
    for job in job_repository.active_jobs(JobStatus.FINALIZING, since_before=cutoff):
        step = job.Finalization.Step if job.Finalization else 0
        queue_gateway.send_finalize(job.JobId, step=step)
        summary.relaunched += 1
    for status in _LAUNCHED:
        for job in job_repository.active_jobs(status, since_before=cutoff):
            summary.described += 1
            if reconcile_launched(job):
                summary.changed += 1
    logger.info("Reconciled jobs", **summary.__dict__)
    return summary


def reconcile_launched(job: Job) -> bool:
    """Describe the job in SageMaker and apply what it says; True if the job's status changed."""
    described = sagemaker_gateway.describe_transform_job(job.SageMakerJobName)
    if described is None:
        report = SageMakerReport(
            job_name=job.SageMakerJobName,
            status=SageMakerStatus.FAILED,
            source="reconcile",
            failure_reason=(
                "SageMaker has no transform job by this name; it was never started or was removed."
            ),
        )
        return apply(report) is not None
    status = SageMakerStatus(described["TransformJobStatus"])
    if job.Status is JobStatus.STOPPING and status is SageMakerStatus.IN_PROGRESS:
        sagemaker_gateway.stop_transform_job(job.SageMakerJobName)
    report = SageMakerReport(
        job_name=job.SageMakerJobName,
        status=status,
        source="reconcile",
        arn=described.get("TransformJobArn"),
        failure_reason=described.get("FailureReason"),
        started_at=described.get("TransformStartTime"),
        ended_at=described.get("TransformEndTime"),
    )
    if apply(report) is not None:
        return True
    _refresh_progress(job)
    return False


def _refresh_progress(job: Job) -> None:
    """Count the job's outputs so far, and note the check so the job rests until the next cutoff."""
    if job.finalizes:  # SageMaker writes into this job's own work area
        folder = work_area.transform_output(job)
        done = sum(1 for entry in s3_gateway.list_objects(folder) if entry.key.endswith(".out"))
    else:
        done = sum(1 for entry in output_folder_objects(job) if is_output_of(job, entry))

    def decide(current: Job) -> JobUpdate | None:
        if current.Status is not job.Status:
            return None
        if job.prepares:
            current.Progress.ShardsDone = done
            if not job.finalizes:
                current.Progress.OutputObjects = done
        else:
            current.Progress.OutputObjects = done
        current.UpdatedAt = clock.now()
        return JobUpdate(job=current)

    job_repository.update_job(job.JobId, decide)
