"""The job as stored in DynamoDB and as the API shows it (one resource model for every route)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from transform_jobs.clock import UtcTime
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.request import JobRequest


class JobProgress(BaseModel):
    """Input objects found at launch, and output objects written so far; for a job with
    InputPreparation, also the rows read and the shards written and transformed."""

    InputObjects: int | None = None
    OutputObjects: int | None = None
    RowsRead: int | None = None
    ShardsWritten: int | None = None
    ShardsDone: int | None = None


class MultipartState(BaseModel):
    """A multipart upload in flight: enough to add parts and complete it in a later invocation."""

    Key: str
    UploadId: str
    ETags: list[str] = Field(default_factory=list)


class PreparationState(BaseModel):
    """Where CSV preparation stands: a checkpoint at a shard boundary (never shown to teams).

    Step advances with every checkpoint; a prepare message for another step is a duplicate.
    """

    Step: int = 0
    HeaderPresent: bool
    PlanKey: str
    ObjectIndex: int = 0
    Offset: int = 0
    ShardsWritten: int = 0
    RowsRead: int = 0
    SpansLines: bool = False
    Done: bool = False


class ListingState(BaseModel):
    """An input listing that continues in another launch invocation: the objects listed so far
    are in the artifacts bucket under Key (never shown to teams). Step advances with every
    checkpoint, so of two invocations continuing the same one only one records its next step."""

    Step: int
    Key: str
    Objects: int


class FinalizationState(BaseModel):
    """Where reassembly stands: a checkpoint after an uploaded part (or a finished file)."""

    Step: int = 0
    ObjectIndex: int = 0
    InputOffset: int = 0
    ShardIndex: int = 0
    OutputOffset: int = 0
    ShardRowsDone: int = 0
    Upload: MultipartState | None = None
    FilesWritten: int = 0


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
    RerunOf: str | None = None  # the job this one runs again (POST /v1/jobs/{jobId}/rerun)
    ScheduleId: str | None = None  # the schedule that started it, for the run at ScheduledTime
    ScheduledTime: UtcTime | None = None
    PinnedManifestUri: str | None = None
    CancelRequested: bool = False
    HoldsCapacity: bool = False
    SeenEventIds: list[str] = Field(default_factory=list)
    Preparation: PreparationState | None = None
    Finalization: FinalizationState | None = None
    Listing: ListingState | None = None

    @property
    def prepares(self) -> bool:
        """Whether the job has a Preparing phase (the service shards its CSV input)."""
        return self.Request.InputPreparation is not None

    @property
    def finalizes(self) -> bool:
        """Whether a phase follows SageMaker's completion: reassembly of prepared output."""
        preparation = self.Request.InputPreparation
        return preparation is not None and preparation.Reassemble


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
    RerunOf: str | None = Field(
        default=None, description="The job this one runs again, when it is a rerun."
    )
    ScheduleId: str | None = Field(
        default=None, description="The schedule that started the job, when one did."
    )
    ScheduledTime: UtcTime | None = Field(
        default=None, description="The due time of the schedule's run that this job is."
    )

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
            RerunOf=job.RerunOf,
            ScheduleId=job.ScheduleId,
            ScheduledTime=job.ScheduledTime,
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
