"""Status changes the service itself makes (launch, cancel), as small pure decisions."""

from __future__ import annotations

from transform_jobs import clock
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, is_forward


def move(
    job: Job, target: JobStatus, *, source: str, reason: str | None = None
) -> job_repository.JobUpdate | None:
    """Move the job forward to `target` with a history entry; None if that is not forward."""
    if not is_forward(job.Status, target):
        return None
    previous = job.Status
    now = clock.now()
    job.Status = target
    job.StatusReason = reason
    job.UpdatedAt = now
    release = False
    if target.is_terminal:
        job.EndedAt = now
        release, job.HoldsCapacity = job.HoldsCapacity, False
    entry = job_repository.HistoryEntry(
        status=target, previous=previous, source=source, reason=reason, at=now
    )
    return job_repository.JobUpdate(job=job, history=[entry], release_capacity=release)


def fail(job_id: str, reason: str, *, source: str) -> JobStatus:
    """Ends the job Failed with `reason` (unless it already ended); returns its status."""
    job = job_repository.update_job(
        job_id, lambda job: move(job, JobStatus.FAILED, source=source, reason=reason)
    )
    job = job or job_repository.get_job(job_id)
    return job.Status if job else JobStatus.FAILED
