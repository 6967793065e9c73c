"""The job's life: its statuses, which moves are forward, and how SageMaker's map onto them.

Submitted → Validating → [Preparing] → [Queued] → InProgress → [Finalizing] → Completed
                                                            ↘ Stopping → Stopped
any non-terminal status → Failed. Terminal statuses never change.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    SUBMITTED = "Submitted"
    VALIDATING = "Validating"
    PREPARING = "Preparing"
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    FINALIZING = "Finalizing"
    STOPPING = "Stopping"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_launched(self) -> bool:
        """A SageMaker job may exist (so a cancel must stop it)."""
        return self in (JobStatus.IN_PROGRESS, JobStatus.FINALIZING, JobStatus.STOPPING)


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED})
ACTIVE = tuple(status for status in JobStatus if status not in TERMINAL)

# Position along the happy path; a move is forward only if it goes to a higher rank.
_RANK = {
    JobStatus.SUBMITTED: 0,
    JobStatus.VALIDATING: 1,
    JobStatus.PREPARING: 2,
    JobStatus.QUEUED: 3,
    JobStatus.IN_PROGRESS: 4,
    JobStatus.FINALIZING: 5,
    JobStatus.STOPPING: 6,
    JobStatus.COMPLETED: 7,
    JobStatus.FAILED: 7,
    JobStatus.STOPPED: 7,
}


def predecessors(target: JobStatus) -> tuple[JobStatus, ...]:
    """The statuses from which a move to `target` is forward: every non-terminal status of a
    lower rank (terminal statuses share the top rank, so the first one reached stays).

    Checked before every status write (which is itself conditional on the version read), so a
    late or duplicated report can never move a job back, and a job's reports applied in any
    order end in the same status.
    """
    return tuple(status for status in ACTIVE if _RANK[status] < _RANK[target])


def is_forward(current: JobStatus, target: JobStatus) -> bool:
    return current in predecessors(target)


class SageMakerStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


# SageMaker creates a transform job InProgress, and a job ends Stopped only by way of Stopping.
_SAGEMAKER_PASSES_THROUGH = {
    SageMakerStatus.IN_PROGRESS: (),
    SageMakerStatus.COMPLETED: (SageMakerStatus.IN_PROGRESS,),
    SageMakerStatus.FAILED: (SageMakerStatus.IN_PROGRESS,),
    SageMakerStatus.STOPPING: (SageMakerStatus.IN_PROGRESS,),
    SageMakerStatus.STOPPED: (SageMakerStatus.IN_PROGRESS, SageMakerStatus.STOPPING),
}


def passed_through(status: SageMakerStatus) -> tuple[SageMakerStatus, ...]:
    """The statuses a SageMaker transform job had before it reports `status`, oldest first."""
    return _SAGEMAKER_PASSES_THROUGH[status]


def from_sagemaker(status: SageMakerStatus, *, finalizes: bool) -> JobStatus:
    """The job status a SageMaker status means for a job of these phases.

    SageMaker's Completed is the job's Completed, unless the job has a phase after the transform
    (reassembly of prepared input), in which case it enters Finalizing.
    """
    if status is SageMakerStatus.COMPLETED:
        return JobStatus.FINALIZING if finalizes else JobStatus.COMPLETED
    return JobStatus(status.value)
