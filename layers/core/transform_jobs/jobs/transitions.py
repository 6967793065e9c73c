"""Status changes the service itself makes (launch, cancel, giving up), as pure decisions:
the caller writes what they return with job_repository.update_job."""

from __future__ import annotations

from transform_jobs import clock
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, is_forward
from transform_jobs.models.job_update import HistoryEntry, JobUpdate


def move(
    job: Job, target: JobStatus, *, source: str, reason: str | None = None
) -> JobUpdate | None:
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
    entry = HistoryEntry(status=target, previous=previous, source=source, reason=reason, at=now)
    return JobUpdate(job=job, history=[entry], release_capacity=release)
