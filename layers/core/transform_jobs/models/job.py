"""The job as stored in DynamoDB and as the API shows it (one resource model for every route)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from transform_jobs.clock import UtcTime
from transform_jobs.job_status import JobStatus
from transform_jobs.models.request import JobRequest


class JobProgress(BaseModel):
    """Input objects found at launch, and output objects written so far."""

    InputObjects: int | None = None
    OutputObjects: int | None = None


class Job(BaseModel):
    """The stored job (the repository maps it to and from the table's item)."""

    model_config = ConfigDict(validate_assignment=True)

    JobId: str
    TeamId: str
    Status: JobStatus
    StatusReason: str | None = None
    CreatedAt: UtcTime
    UpdatedAt: UtcTime
    StartedAt: UtcTime | None = None
    EndedAt: UtcTime | None = None
    SageMakerJobName: str
    SageMakerJobArn: str | None = None
    Progress: JobProgress = Field(default_factory=JobProgress)
    Request: JobRequest
    PinnedManifestUri: str | None = None
    CancelRequested: bool = False
    HoldsCapacity: bool = False
    SeenEventIds: list[str] = Field(default_factory=list)

    @property
    def finalizes(self) -> bool:
        """Whether a phase follows SageMaker's completion (none yet in this version)."""
        return False


class JobResource(BaseModel):
    """A job as every route (and every webhook) shows it."""

    JobId: str
    Status: JobStatus
    StatusReason: str | None = None
    CreatedAt: UtcTime
    UpdatedAt: UtcTime
    StartedAt: UtcTime | None = None
    EndedAt: UtcTime | None = None
    TransformJobName: str | None = Field(description="The team's own label for the job.")
    SageMakerJobName: str
    SageMakerJobArn: str | None = None
    Progress: JobProgress
    Request: JobRequest

    @classmethod
    def of(cls, job: Job) -> JobResource:
        return cls(
            JobId=job.JobId,
            Status=job.Status,
            StatusReason=job.StatusReason,
            CreatedAt=job.CreatedAt,
            UpdatedAt=job.UpdatedAt,
            StartedAt=job.StartedAt,
            EndedAt=job.EndedAt,
            TransformJobName=job.Request.TransformJobName,
            SageMakerJobName=job.SageMakerJobName,
            SageMakerJobArn=job.SageMakerJobArn,
            Progress=job.Progress,
            Request=job.Request,
        )


class JobPage(BaseModel):
    Jobs: list[JobResource]
    NextToken: str | None = None


class JobEvent(BaseModel):
    """One entry of a job's history: an applied status change, or a note."""

    EventId: str
    Time: UtcTime
    Status: JobStatus
    PreviousStatus: JobStatus | None = None
    Reason: str | None = None
    Source: str = Field(description="api, launch, sagemaker or reconcile")


class JobEventList(BaseModel):
    Events: list[JobEvent]


class OutputObject(BaseModel):
    Key: str
    S3Uri: str
    Size: int
    LastModified: UtcTime
    Url: str = Field(description="A presigned GET URL")
    UrlExpiresAt: UtcTime


class OutputList(BaseModel):
    Outputs: list[OutputObject]
    NextToken: str | None = None
