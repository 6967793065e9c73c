"""What a decision does to a job: its new state and the history entries of its status changes.

The job's rules (jobs.transitions, jobs.state_changes) return these; job_repository writes one
with the job, conditional on the version it read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from transform_jobs import clock
from transform_jobs.models.job import Job, JobResource
from transform_jobs.models.job_status import JobStatus


@dataclass
class HistoryEntry:
    status: JobStatus
    previous: JobStatus | None
    source: str
    reason: str | None = None
    at: datetime = field(default_factory=clock.now)
    # The job as GET showed it right after this change, for an update that takes several steps
    # (None: the job as the update writes it).
    snapshot: JobResource | None = None

    def shown(self, written: Job) -> JobResource:
        """The job as GET showed it right after this change, `written` being the job as the
        update that carries this entry writes it (the webhook payload's data)."""
        return self.snapshot or JobResource.of(written)


@dataclass
class JobUpdate:
    """What a decision does to a job: its new state, and the history entries of its changes,
    oldest first (usually one, or none for a change that is not a status change)."""

    job: Job
    history: list[HistoryEntry] = field(default_factory=list)
    release_capacity: bool = False
