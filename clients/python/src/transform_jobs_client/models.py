"""The API's request and response models, generated from docs/openapi.json by datamodel-code-generator (`make openapi`); do not edit."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel
from typing_extensions import TypeAliasType

from transform_jobs_client.open_enum import OpenStrEnum


class AssembleWithModel(OpenStrEnum):
    None_ = "None"
    Line = "Line"


class Attempt(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Error: Annotated[str | None, Field(title="Error")] = None
    LatencyMs: Annotated[int, Field(title="Latencyms")]
    StatusCode: Annotated[int | None, Field(title="Statuscode")] = None
    Time: Annotated[AwareDatetime, Field(title="Time")]


class BatchStrategyModel(OpenStrEnum):
    MultiRecord = "MultiRecord"
    SingleRecord = "SingleRecord"


class CompressionTypeModel(OpenStrEnum):
    None_ = "None"
    Gzip = "Gzip"


class KmsKeyIdModel(RootModel[str]):
    root: Annotated[str, Field(max_length=2048, pattern="^[a-zA-Z0-9:/_-]*$", title="Kmskeyid")]


class DataCaptureConfigModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    DestinationS3Uri: Annotated[
        str,
        Field(
            examples=["s3://my-bucket/team-a/input/"],
            max_length=1024,
            title="Destinations3Uri",
        ),
    ]
    GenerateInferenceId: Annotated[bool | None, Field(title="Generateinferenceid")] = None
    KmsKeyId: Annotated[KmsKeyIdModel | None, Field(title="Kmskeyid")] = None


class InputFilterModel(RootModel[str]):
    root: Annotated[str, Field(max_length=63, title="Inputfilter")]


class OutputFilterModel(RootModel[str]):
    root: Annotated[str, Field(max_length=63, title="Outputfilter")]


class DeliveryStatus(OpenStrEnum):
    Pending = "Pending"
    Succeeded = "Succeeded"
    Failed = "Failed"


class EventType(OpenStrEnum):
    """
    What a subscription may ask for. `webhook.test` is sent only by the test route.
    """

    transform_job_started = "transform_job.started"
    transform_job_completed = "transform_job.completed"
    transform_job_failed = "transform_job.failed"
    transform_job_stopped = "transform_job.stopped"
    transform_job_status_changed = "transform_job.status_changed"
    schedule_failed = "schedule.failed"


class ExperimentNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=120,
            pattern="^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$",
            title="Experimentname",
        ),
    ]


class RunNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=120,
            pattern="^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$",
            title="Runname",
        ),
    ]


class TrialComponentDisplayNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=120,
            pattern="^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$",
            title="Trialcomponentdisplayname",
        ),
    ]


class TrialNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=120,
            pattern="^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$",
            title="Trialname",
        ),
    ]


class ExperimentConfigModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    ExperimentName: Annotated[ExperimentNameModel | None, Field(title="Experimentname")] = None
    RunName: Annotated[RunNameModel | None, Field(title="Runname")] = None
    TrialComponentDisplayName: Annotated[
        TrialComponentDisplayNameModel | None,
        Field(title="Trialcomponentdisplayname"),
    ] = None
    TrialName: Annotated[TrialNameModel | None, Field(title="Trialname")] = None


class FieldProblem(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    field: Annotated[str, Field(title="Field")]
    """
    The field at fault, as a path: TransformInput.SplitType, Tags[0].Key
    """
    reason: Annotated[str, Field(title="Reason")]
    """
    What is wrong and how to fix it
    """


class Finding(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    field: Annotated[str, Field(title="Field")]
    """
    The request field to fix, as in a 422's errors
    """
    reason: Annotated[str, Field(title="Reason")]


class HeaderMode(OpenStrEnum):
    Auto = "Auto"
    Present = "Present"
    Absent = "Absent"


class Column(RootModel[str]):
    root: Annotated[str, Field(max_length=256, min_length=1)]


class ColumnsModel(RootModel[list[Column]]):
    root: Annotated[
        list[Column],
        Field(
            examples=[["sepal_length", "sepal_width", "petal_length", "petal_width"]],
            max_length=1000,
            title="Columns",
        ),
    ]
    """
    The column names in the order the model was trained on. With a header, the columns are selected and reordered by name; without one, this only documents.
    """


class OutputColumn(RootModel[str]):
    root: Annotated[str, Field(max_length=256, min_length=1)]


class OutputColumnsModel(RootModel[list[OutputColumn]]):
    root: Annotated[list[OutputColumn], Field(max_length=1000, title="Outputcolumns")]
    """
    Names of the prediction columns in the reassembled header (default prediction, prediction_2, ...).
    """


class InputPreparationModel(BaseModel):
    """
    The service's own CSV preparation (not a SageMaker field): headers, column order, quoted
    newlines, and optional reassembly of the outputs into one file per input file.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Columns: Annotated[
        ColumnsModel | None,
        Field(
            examples=[["sepal_length", "sepal_width", "petal_length", "petal_width"]],
            title="Columns",
        ),
    ] = None
    """
    The column names in the order the model was trained on. With a header, the columns are selected and reordered by name; without one, this only documents.
    """
    Header: HeaderMode | None = HeaderMode.Auto
    """
    Auto: the first row is sniffed (the job's history says what was decided); Present: the first row of every file is a header; Absent: no file has one.
    """
    OutputColumns: Annotated[OutputColumnsModel | None, Field(title="Outputcolumns")] = None
    """
    Names of the prediction columns in the reassembled header (default prediction, prediction_2, ...).
    """
    Reassemble: Annotated[bool | None, Field(title="Reassemble")] = False
    """
    One output file per input file, in input order: the input's header and rows joined with the prediction columns, at <input key relative to the prefix>.out.
    """


class InputSummary(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Bytes: Annotated[int | None, Field(title="Bytes")]
    """
    Their total size; null for a manifest, whose entries are not listed
    """
    Objects: Annotated[int, Field(title="Objects")]
    """
    Input objects found (listed, or named by the manifest)
    """


class JobProgress(BaseModel):
    """
    Input objects found at launch, and output objects written so far; for a job with
    InputPreparation, also the rows read and the shards written and transformed.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    InputObjects: Annotated[int | None, Field(title="Inputobjects")] = None
    OutputObjects: Annotated[int | None, Field(title="Outputobjects")] = None
    RowsRead: Annotated[int | None, Field(title="Rowsread")] = None
    ShardsDone: Annotated[int | None, Field(title="Shardsdone")] = None
    ShardsWritten: Annotated[int | None, Field(title="Shardswritten")] = None


EnvironmentAdditionalProperty = TypeAliasType(
    "EnvironmentAdditionalProperty", Annotated[str, Field(max_length=10240)]
)


class MaxConcurrentTransformsModel(RootModel[int]):
    root: Annotated[int, Field(ge=0, title="Maxconcurrenttransforms")]


class MaxPayloadInMBModel(RootModel[int]):
    root: Annotated[int, Field(ge=0, title="Maxpayloadinmb")]


class TransformJobNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=63,
            min_length=1,
            pattern="^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$",
            title="Transformjobname",
        ),
    ]


class JobStatus(OpenStrEnum):
    Submitted = "Submitted"
    Validating = "Validating"
    Preparing = "Preparing"
    Queued = "Queued"
    InProgress = "InProgress"
    Finalizing = "Finalizing"
    Stopping = "Stopping"
    Completed = "Completed"
    Failed = "Failed"
    Stopped = "Stopped"


class JobValidation(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Errors: Annotated[list[Finding], Field(title="Errors")]
    """
    What stops the job, each naming its field and fix
    """
    Input: InputSummary | None = None
    """
    The input as the checks found it (absent when they did not get there)
    """
    Valid: Annotated[bool, Field(title="Valid")]
    """
    True when POST /v1/jobs would accept the request and launch it
    """
    Warnings: Annotated[list[Finding], Field(title="Warnings")]
    """
    What the job would run with but you may not want
    """


class JoinSourceModel(OpenStrEnum):
    Input = "Input"
    None_ = "None"


class InvocationsMaxRetriesModel(RootModel[int]):
    root: Annotated[int, Field(ge=0, le=3, title="Invocationsmaxretries")]


class InvocationsTimeoutInSecondsModel(RootModel[int]):
    root: Annotated[int, Field(ge=1, le=3600, title="Invocationstimeoutinseconds")]


class ModelClientConfigModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    InvocationsMaxRetries: Annotated[
        InvocationsMaxRetriesModel | None,
        Field(title="Invocationsmaxretries"),
    ] = None
    InvocationsTimeoutInSeconds: Annotated[
        InvocationsTimeoutInSecondsModel | None,
        Field(title="Invocationstimeoutinseconds"),
    ] = None


class OutputObject(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Key: Annotated[str, Field(title="Key")]
    LastModified: Annotated[AwareDatetime, Field(title="Lastmodified")]
    S3Uri: Annotated[str, Field(title="S3Uri")]
    Size: Annotated[int, Field(title="Size")]
    Url: Annotated[str, Field(title="Url")]
    """
    A presigned GET URL
    """
    UrlExpiresAt: Annotated[AwareDatetime, Field(title="Urlexpiresat")]


class ProblemDocument(BaseModel):
    """
    RFC 9457 members are lower-case by the standard; `errors` lists the fields at fault.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    detail: Annotated[str, Field(title="Detail")]
    errors: Annotated[list[FieldProblem] | None, Field(title="Errors")] = None
    instance: Annotated[str | None, Field(title="Instance")] = None
    status: Annotated[int, Field(title="Status")]
    title: Annotated[str, Field(title="Title")]
    type: Annotated[str | None, Field(title="Type")] = "about:blank"


class ModelNameModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=63,
            min_length=1,
            pattern="^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$",
            title="Modelname",
        ),
    ]


class RotatedSecret(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    PreviousSecretExpiresAt: Annotated[AwareDatetime, Field(title="Previoussecretexpiresat")]
    """
    Until then deliveries carry signatures by both secrets.
    """
    Secret: Annotated[str, Field(title="Secret")]
    """
    The new signing secret; shown only now.
    """
    WebhookId: Annotated[str, Field(title="Webhookid")]


class RunRequest(BaseModel):
    """
    POST /v1/schedules/{scheduleId}/run: the time to run for (default: now).
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    ScheduledTime: Annotated[AwareDatetime | None, Field(title="Scheduledtime")] = None
    """
    The time the run stands for (its placeholders); default now, to the second.
    """


class S3DataTypeModel(OpenStrEnum):
    S3Prefix = "S3Prefix"
    ManifestFile = "ManifestFile"
    AugmentedManifestFile = "AugmentedManifestFile"


class ScheduleCreate(BaseModel):
    """
    POST /v1/schedules.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Enabled: Annotated[bool | None, Field(title="Enabled")] = True
    EndAt: Annotated[AwareDatetime | None, Field(title="Endat")] = None
    """
    No run after this time.
    """
    Job: Annotated[dict[str, Any], Field(title="Job")]
    """
    A job request as for POST /v1/jobs. TransformJobName, TransformInput.DataSource.S3DataSource.S3Uri, TransformOutput.S3OutputPath and DataCaptureConfig.DestinationS3Uri may hold {ScheduledTime:<strftime>} placeholders (e.g. {ScheduledTime:%Y-%m-%d}), written for each run in the schedule's Timezone.
    """
    Name: Annotated[str, Field(pattern="^[0-9A-Za-z_.-]{1,64}$", title="Name")]
    """
    Letters, digits, _ . - (up to 64); unique in the team, and it stays.
    """
    ScheduleExpression: Annotated[
        str, Field(max_length=256, min_length=1, title="Scheduleexpression")
    ]
    """
    rate(<n> minutes|hours|days) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>), as EventBridge Scheduler writes them.
    """
    StartAt: Annotated[AwareDatetime | None, Field(title="Startat")] = None
    """
    No run before this time.
    """
    Timezone: Annotated[str | None, Field(max_length=64, min_length=1, title="Timezone")] = "UTC"
    """
    IANA time zone of cron and of placeholders.
    """


class ScheduleFailure(BaseModel):
    """
    The last due time for which no job could be made, and why (also sent as schedule.failed).
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    FailedAt: Annotated[AwareDatetime, Field(title="Failedat")]
    Reason: Annotated[str, Field(title="Reason")]
    ScheduledTime: Annotated[AwareDatetime, Field(title="Scheduledtime")]


class ScheduleRun(BaseModel):
    """
    The last job a schedule started.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    JobId: Annotated[str, Field(title="Jobid")]
    ScheduledTime: Annotated[AwareDatetime, Field(title="Scheduledtime")]
    Skipped: Annotated[int | None, Field(title="Skipped")] = 0
    """
    Earlier due times missed while the service was down, not run (the latest missed time runs once on recovery).
    """
    StartedAt: Annotated[AwareDatetime, Field(title="Startedat")]


class ScheduleUpdate(BaseModel):
    """
    PATCH /v1/schedules/{scheduleId}: any of the fields but Name (a schedule's name stays, as
    in EventBridge Scheduler); a field left out keeps its value. StartAt and EndAt may be null,
    which clears them.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Enabled: Annotated[bool | None, Field(title="Enabled")] = None
    EndAt: Annotated[AwareDatetime | None, Field(title="Endat")] = None
    Job: Annotated[dict[str, Any] | None, Field(title="Job")] = None
    ScheduleExpression: Annotated[
        str | None, Field(max_length=256, min_length=1, title="Scheduleexpression")
    ] = None
    StartAt: Annotated[AwareDatetime | None, Field(title="Startat")] = None
    Timezone: Annotated[str | None, Field(max_length=64, min_length=1, title="Timezone")] = None


class SplitTypeModel(OpenStrEnum):
    None_ = "None"
    Line = "Line"
    RecordIO = "RecordIO"
    TFRecord = "TFRecord"


class Tag(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Key: Annotated[str, Field(max_length=128, min_length=1, title="Key")]
    Value: Annotated[str, Field(max_length=256, title="Value")]


class TestResult(BaseModel):
    """
    POST /v1/webhooks/{webhookId}/test: what the receiver answered, now.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Delivered: Annotated[bool, Field(title="Delivered")]
    Error: Annotated[str | None, Field(title="Error")] = None
    LatencyMs: Annotated[int, Field(title="Latencyms")]
    StatusCode: Annotated[int | None, Field(title="Statuscode")] = None


class ContentTypeModel(RootModel[str]):
    root: Annotated[str, Field(examples=["text/csv"], max_length=256, title="Contenttype")]


class AcceptModel(RootModel[str]):
    root: Annotated[str, Field(max_length=256, title="Accept")]


class TransformOutputModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Accept: Annotated[AcceptModel | None, Field(title="Accept")] = None
    AssembleWith: Annotated[AssembleWithModel | None, Field()] = AssembleWithModel.None_
    KmsKeyId: Annotated[KmsKeyIdModel | None, Field(title="Kmskeyid")] = None
    S3OutputPath: Annotated[
        str,
        Field(
            examples=["s3://my-bucket/team-a/input/"],
            max_length=1024,
            title="S3Outputpath",
        ),
    ]


class TransformAmiVersionModel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            max_length=63,
            min_length=1,
            pattern="^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$",
            title="Transformamiversion",
        ),
    ]


class VolumeKmsKeyIdModel(RootModel[str]):
    root: Annotated[
        str,
        Field(max_length=2048, pattern="^[a-zA-Z0-9:/_-]*$", title="Volumekmskeyid"),
    ]


class TransformResourcesModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    InstanceCount: Annotated[int, Field(ge=1, title="Instancecount")]
    InstanceType: Annotated[str, Field(examples=["ml.m5.xlarge"], title="Instancetype")]
    TransformAmiVersion: Annotated[
        TransformAmiVersionModel | None,
        Field(title="Transformamiversion"),
    ] = None
    VolumeKmsKeyId: Annotated[VolumeKmsKeyIdModel | None, Field(title="Volumekmskeyid")] = None


class Webhook(BaseModel):
    """
    A subscription as the API shows it (never with its secret).
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    CreatedAt: Annotated[AwareDatetime, Field(title="Createdat")]
    Description: Annotated[str | None, Field(title="Description")] = None
    DisabledReason: Annotated[str | None, Field(title="Disabledreason")] = None
    Enabled: Annotated[bool | None, Field(title="Enabled")] = True
    EventTypes: Annotated[list[EventType], Field(title="Eventtypes")]
    LastSuccessAt: Annotated[AwareDatetime | None, Field(title="Lastsuccessat")] = None
    SecretRotatedAt: Annotated[AwareDatetime | None, Field(title="Secretrotatedat")] = None
    UpdatedAt: Annotated[AwareDatetime, Field(title="Updatedat")]
    Url: Annotated[str, Field(title="Url")]
    WebhookId: Annotated[str, Field(title="Webhookid")]


class DescriptionModel(RootModel[str]):
    root: Annotated[str, Field(max_length=256, title="Description")]


class WebhookCreate(BaseModel):
    """
    POST /v1/webhooks.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Description: Annotated[DescriptionModel | None, Field(title="Description")] = None
    EventTypes: Annotated[list[EventType], Field(max_length=6, min_length=1, title="Eventtypes")]
    Url: Annotated[str, Field(max_length=2048, pattern="^https?://", title="Url")]
    """
    An https:// URL that answers 2xx quickly.
    """


class WebhookPage(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    NextToken: Annotated[str | None, Field(title="Nexttoken")] = None
    Webhooks: Annotated[list[Webhook], Field(title="Webhooks")]


class WebhookUpdate(BaseModel):
    """
    PATCH /v1/webhooks/{webhookId}: any of the fields; Enabled true re-enables.

    A field left out keeps its value; only Description may be null (which clears it).
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Description: Annotated[DescriptionModel | None, Field(title="Description")] = None
    Enabled: Annotated[bool | None, Field(title="Enabled")] = None
    EventTypes: Annotated[
        list[EventType] | None, Field(max_length=6, min_length=1, title="Eventtypes")
    ] = None
    Url: Annotated[str | None, Field(max_length=2048, pattern="^https?://", title="Url")] = None


class WebhookWithSecret(BaseModel):
    """
    The answer to a create: the only time the secret is shown.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    CreatedAt: Annotated[AwareDatetime, Field(title="Createdat")]
    Description: Annotated[str | None, Field(title="Description")] = None
    DisabledReason: Annotated[str | None, Field(title="Disabledreason")] = None
    Enabled: Annotated[bool | None, Field(title="Enabled")] = True
    EventTypes: Annotated[list[EventType], Field(title="Eventtypes")]
    LastSuccessAt: Annotated[AwareDatetime | None, Field(title="Lastsuccessat")] = None
    Secret: Annotated[str, Field(title="Secret")]
    """
    whsec_...: store it now; it is never shown again.
    """
    SecretRotatedAt: Annotated[AwareDatetime | None, Field(title="Secretrotatedat")] = None
    UpdatedAt: Annotated[AwareDatetime, Field(title="Updatedat")]
    Url: Annotated[str, Field(title="Url")]
    WebhookId: Annotated[str, Field(title="Webhookid")]


class FieldOutputOverride(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    S3OutputPath: Annotated[
        str,
        Field(
            examples=["s3://my-bucket/team-a/input/"],
            max_length=1024,
            title="S3Outputpath",
        ),
    ]


class DataProcessingModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    InputFilter: Annotated[InputFilterModel | None, Field(title="Inputfilter")] = None
    JoinSource: Annotated[JoinSourceModel | None, Field()] = None
    OutputFilter: Annotated[OutputFilterModel | None, Field(title="Outputfilter")] = None


class Delivery(BaseModel):
    """
    One event for one subscription, with every attempt to deliver it.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Attempts: Annotated[list[Attempt] | None, Field(title="Attempts")] = None
    CreatedAt: Annotated[AwareDatetime, Field(title="Createdat")]
    DeliveryId: Annotated[str, Field(title="Deliveryid")]
    """
    Also the webhook-id header: the receiver's dedup key.
    """
    EventType: Annotated[str, Field(title="Eventtype")]
    JobId: Annotated[str | None, Field(title="Jobid")] = None
    NextAttemptAt: Annotated[AwareDatetime | None, Field(title="Nextattemptat")] = None
    ScheduleId: Annotated[str | None, Field(title="Scheduleid")] = None
    """
    For a schedule.failed event.
    """
    Status: DeliveryStatus
    WebhookId: Annotated[str, Field(title="Webhookid")]


class DeliveryPage(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Deliveries: Annotated[list[Delivery], Field(title="Deliveries")]
    NextToken: Annotated[str | None, Field(title="Nexttoken")] = None


class JobEvent(BaseModel):
    """
    One entry of a job's history: an applied status change, or a note.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    EventId: Annotated[str, Field(title="Eventid")]
    PreviousStatus: JobStatus | None = None
    Reason: Annotated[str | None, Field(title="Reason")] = None
    Source: Annotated[str, Field(title="Source")]
    """
    api, launch, sagemaker or reconcile
    """
    Status: JobStatus
    Time: Annotated[AwareDatetime, Field(title="Time")]


class JobEventList(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Events: Annotated[list[JobEvent], Field(title="Events")]


class OutputList(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    NextToken: Annotated[str | None, Field(title="Nexttoken")] = None
    Outputs: Annotated[list[OutputObject], Field(title="Outputs")]


class RerunOverrides(BaseModel):
    """
    What a rerun may change of the original request; everything else is the original's.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    Environment: Annotated[
        dict[str, EnvironmentAdditionalProperty] | None, Field(title="Environment")
    ] = None
    """
    Replaces the original's Environment as a whole
    """
    ModelName: Annotated[ModelNameModel | None, Field(title="Modelname")] = None
    TransformJobName: Annotated[
        TransformJobNameModel | None,
        Field(title="Transformjobname"),
    ] = None
    TransformOutput: FieldOutputOverride | None = None
    """
    Where the outputs go; default <original S3OutputPath>/reruns/<new job id>/
    """
    TransformResources: Annotated[TransformResourcesModel | None, Field()] = None


class S3DataSourceModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    S3DataType: Annotated[S3DataTypeModel, Field()]
    S3Uri: Annotated[
        str,
        Field(examples=["s3://my-bucket/team-a/input/"], max_length=1024, title="S3Uri"),
    ]


class Schedule(BaseModel):
    """
    A schedule as the API shows it.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    CreatedAt: Annotated[AwareDatetime, Field(title="Createdat")]
    Enabled: Annotated[bool, Field(title="Enabled")]
    EndAt: Annotated[AwareDatetime | None, Field(title="Endat")] = None
    Job: Annotated[dict[str, Any], Field(title="Job")]
    LastFailure: ScheduleFailure | None = None
    LastRun: ScheduleRun | None = None
    Name: Annotated[str, Field(title="Name")]
    NextRunAt: Annotated[AwareDatetime | None, Field(title="Nextrunat")] = None
    """
    The next due time; null when disabled or past EndAt.
    """
    ScheduleExpression: Annotated[str, Field(title="Scheduleexpression")]
    ScheduleId: Annotated[str, Field(title="Scheduleid")]
    StartAt: Annotated[AwareDatetime | None, Field(title="Startat")] = None
    Timezone: Annotated[str, Field(title="Timezone")]
    UpdatedAt: Annotated[AwareDatetime, Field(title="Updatedat")]


class SchedulePage(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    NextToken: Annotated[str | None, Field(title="Nexttoken")] = None
    Schedules: Annotated[list[Schedule], Field(title="Schedules")]


class DataSourceModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    S3DataSource: Annotated[S3DataSourceModel, Field()]


class TransformInputModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    CompressionType: Annotated[CompressionTypeModel | None, Field()] = CompressionTypeModel.None_
    ContentType: Annotated[
        ContentTypeModel | None,
        Field(examples=["text/csv"], title="Contenttype"),
    ] = None
    DataSource: Annotated[DataSourceModel, Field()]
    SplitType: Annotated[SplitTypeModel | None, Field()] = SplitTypeModel.None_


class JobRequest(BaseModel):
    """
    POST /v1/jobs: SageMaker's CreateTransformJob request, with TransformJobName optional.

    The service always names the SageMaker job itself (`tj-<stage>-<job id>`); TransformJobName
    is the team's own label for the job.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    BatchStrategy: Annotated[BatchStrategyModel | None, Field()] = None
    DataCaptureConfig: Annotated[DataCaptureConfigModel | None, Field()] = None
    DataProcessing: Annotated[DataProcessingModel | None, Field()] = None
    Environment: Annotated[
        dict[str, EnvironmentAdditionalProperty] | None, Field(title="Environment")
    ] = None
    ExperimentConfig: Annotated[ExperimentConfigModel | None, Field()] = None
    InputPreparation: Annotated[InputPreparationModel | None, Field()] = None
    """
    The service's CSV preparation (header-aware and quote-aware sharding, column reordering, reassembly). Not sent to SageMaker.
    """
    MaxConcurrentTransforms: Annotated[
        MaxConcurrentTransformsModel | None,
        Field(title="Maxconcurrenttransforms"),
    ] = None
    MaxPayloadInMB: Annotated[MaxPayloadInMBModel | None, Field(title="Maxpayloadinmb")] = None
    ModelClientConfig: Annotated[ModelClientConfigModel | None, Field()] = None
    ModelName: Annotated[
        str,
        Field(
            max_length=63,
            min_length=1,
            pattern="^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$",
            title="Modelname",
        ),
    ]
    Tags: Annotated[list[Tag] | None, Field(title="Tags")] = None
    TransformInput: Annotated[TransformInputModel, Field()]
    TransformJobName: Annotated[
        TransformJobNameModel | None,
        Field(title="Transformjobname"),
    ] = None
    TransformOutput: Annotated[TransformOutputModel, Field()]
    TransformResources: Annotated[TransformResourcesModel, Field()]


class JobResource(BaseModel):
    """
    A job as every route (and every webhook) shows it.
    """

    model_config = ConfigDict(
        extra="ignore",
    )
    CreatedAt: Annotated[AwareDatetime, Field(title="Createdat")]
    EndedAt: Annotated[AwareDatetime | None, Field(title="Endedat")] = None
    JobId: Annotated[str, Field(title="Jobid")]
    Progress: JobProgress
    Request: JobRequest
    RerunOf: Annotated[str | None, Field(title="Rerunof")] = None
    """
    The job this one runs again, when it is a rerun.
    """
    SageMakerJobArn: Annotated[str | None, Field(title="Sagemakerjobarn")] = None
    SageMakerJobName: Annotated[str, Field(title="Sagemakerjobname")]
    ScheduleId: Annotated[str | None, Field(title="Scheduleid")] = None
    """
    The schedule that started the job, when one did.
    """
    ScheduledTime: Annotated[AwareDatetime | None, Field(title="Scheduledtime")] = None
    """
    The due time of the schedule's run that this job is.
    """
    StartedAt: Annotated[AwareDatetime | None, Field(title="Startedat")] = None
    Status: JobStatus
    StatusReason: Annotated[str | None, Field(title="Statusreason")] = None
    TransformJobName: Annotated[str | None, Field(title="Transformjobname")]
    """
    The team's own label for the job.
    """
    UpdatedAt: Annotated[AwareDatetime, Field(title="Updatedat")]


class JobPage(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
    )
    Jobs: Annotated[list[JobResource], Field(title="Jobs")]
    NextToken: Annotated[str | None, Field(title="Nexttoken")] = None
