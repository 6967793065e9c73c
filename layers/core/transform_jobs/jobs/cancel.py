"""Cancelling a job: repeatable; only Completed and Failed jobs refuse.

Before launch, and while the service reassembles outputs after SageMaker finished, the job goes
straight to Stopped. After launch the intent is recorded, the job moves
to Stopping and SageMaker is asked to stop; SageMaker's Stopped event ends it. If StopTransformJob
fails, the job stays Stopping and reconcile_jobs asks again.
"""

from __future__ import annotations

from transform_jobs.adapters import sagemaker_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.errors import Conflict
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate


def cancel(job: Job) -> Job:
    """Cancel the team's job (already looked up and scoped); returns the job as it now is."""
    launched_before = job.Status.is_launched
    updated = job_repository.update_job(job.JobId, _decide)
    current = updated or job_repository.get_job(job.JobId) or job
    if current.Status is not JobStatus.STOPPING:
        return current
    if (
        not launched_before
        and sagemaker_gateway.describe_transform_job(current.SageMakerJobName) is None
    ):
        # A launch held a slot but SageMaker has no job: nothing to stop. Should the launcher
        # still create it, it finds the job cancelled and stops what it started.
        return job_repository.update_job(current.JobId, _stopped_before_start) or current
    sagemaker_gateway.stop_transform_job(current.SageMakerJobName)
    return current


def _stopped_before_start(job: Job) -> JobUpdate | None:
    if job.Status is not JobStatus.STOPPING:
        return None
    return move(job, JobStatus.STOPPED, source="api", reason="Cancelled by the team before launch.")


def _decide(job: Job) -> JobUpdate | None:
    if job.Status in (JobStatus.COMPLETED, JobStatus.FAILED):
        raise Conflict(
            f"Job {job.JobId} already ended {job.Status.value}; there is nothing to cancel."
        )
    if job.Status in (JobStatus.STOPPED, JobStatus.STOPPING):
        return None  # cancelling again changes nothing
    job.CancelRequested = True
    if job.Status is JobStatus.FINALIZING:
        # SageMaker has finished; only the service's reassembly is left, and it stops here.
        return move(
            job,
            JobStatus.STOPPED,
            source="api",
            reason="Cancelled by the team while the outputs were being reassembled.",
        )
    if job.Status.is_launched or job.HoldsCapacity:
        # Launched, or a launch may have reached SageMaker: stop through SageMaker.
        return move(job, JobStatus.STOPPING, source="api", reason="Cancel requested by the team.")
    return move(job, JobStatus.STOPPED, source="api", reason="Cancelled by the team before launch.")
