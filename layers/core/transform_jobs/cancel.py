"""Cancelling a job: repeatable; only Completed and Failed jobs refuse.

Before launch the job goes straight to Stopped. After launch the intent is recorded, the job moves
to Stopping and SageMaker is asked to stop; SageMaker's Stopped event ends it. If StopTransformJob
fails, the job stays Stopping and reconcile_jobs asks again.
"""

from __future__ import annotations

from transform_jobs import repository, sagemaker_gateway
from transform_jobs.job_events import move
from transform_jobs.job_status import JobStatus
from transform_jobs.models.job import Job
from transform_jobs.problems import Conflict


def cancel(job: Job) -> Job:
    """Cancel the team's job (already looked up and scoped); returns the job as it now is."""
    updated = repository.update_job(job.JobId, _decide)
    current = updated or repository.get_job(job.JobId) or job
    if current.Status is JobStatus.STOPPING:
        sagemaker_gateway.stop_transform_job(current.SageMakerJobName)
    return current


def _decide(job: Job) -> repository.JobUpdate | None:
    if job.Status in (JobStatus.COMPLETED, JobStatus.FAILED):
        raise Conflict(
            f"Job {job.JobId} already ended {job.Status.value}; there is nothing to cancel."
        )
    if job.Status in (JobStatus.STOPPED, JobStatus.STOPPING):
        return None  # cancelling again changes nothing
    job.CancelRequested = True
    if job.Status.is_launched:
        return move(job, JobStatus.STOPPING, source="api", reason="Cancel requested by the team.")
    return move(job, JobStatus.STOPPED, source="api", reason="Cancelled by the team before launch.")
