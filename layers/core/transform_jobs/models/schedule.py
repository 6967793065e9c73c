"""Schedules: recurring jobs, as the API takes them, shows them and the table stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from transform_jobs.clock import UtcTime, to_iso
from transform_jobs.models.partial import not_null, not_nullable

# The range cron's year field covers: a time outside it could never be scheduled, and keeping
# to it keeps date arithmetic clear of datetime's limits.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, tzinfo=UTC)
NAME_PATTERN = r"^[0-9A-Za-z_.-]{1,64}$"


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("must lie between 1970 and 2199")
    return moment.astimezone(UTC).replace(microsecond=0)  # schedules keep time to the second


# An input time: with an offset or Z (a time without one would be ambiguous), to the second,
# shown as UtcTime.
InputTime = Annotated[
    AwareDatetime,
    AfterValidator(_in_range),
    PlainSerializer(to_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

_JOB_DESCRIPTION = (
    "A job request as for POST /v1/jobs. TransformJobName, TransformInput.DataSource."
    "S3DataSource.S3Uri, TransformOutput.S3OutputPath and DataCaptureConfig.DestinationS3Uri may "
    "hold {ScheduledTime:<strftime>} placeholders (e.g. {ScheduledTime:%Y-%m-%d}), written for "
    "each run in the schedule's Timezone."
)
_EXPRESSION_DESCRIPTION = (
    "rate(<n> minutes|hours|days) or cron(<minutes> <hours> <day-of-month> <month> "
    "<day-of-week> <year>), as EventBridge Scheduler writes them."
)


def _ordered(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("EndAt must come after StartAt")


class ScheduleCreate(BaseModel):
    """POST /v1/schedules."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "Name": "nightly-churn",
                    "ScheduleExpression": "cron(0 2 * * ? *)",
                    "Timezone": "Europe/Berlin",
                    "Job": {
                        "TransformJobName": "churn-{ScheduledTime:%Y-%m-%d}",
                        "ModelName": "churn-xgb-v7",
                        "TransformInput": {
                            "DataSource": {
                                "S3DataSource": {
                                    "S3DataType": "S3Prefix",
                                    "S3Uri": "s3://acme-ml/churn/in/{ScheduledTime:%Y/%m/%d}/",
                                }
                            },
                            "ContentType": "text/csv",
                            "SplitType": "Line",
                        },
                        "TransformOutput": {
                            "S3OutputPath": "s3://acme-ml/churn/out/{ScheduledTime:%Y/%m/%d}/"
                        },
                        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                    },
                }
            ]
        },
    )

    Name: str = Field(
        pattern=NAME_PATTERN,
        description="Letters, digits, _ . - (up to 64); unique in the team, and it stays.",
    )
    ScheduleExpression: str = Field(
        min_length=1, max_length=256, description=_EXPRESSION_DESCRIPTION
    )
    Timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of cron and of placeholders.",
    )
    Job: dict[str, Any] = Field(description=_JOB_DESCRIPTION)
    Enabled: StrictBool = True
    StartAt: InputTime | None = Field(default=None, description="No run before this time.")
    EndAt: InputTime | None = Field(default=None, description="No run after this time.")

    @model_validator(mode="after")
    def _window(self) -> ScheduleCreate:
        _ordered(self.StartAt, self.EndAt)
        return self


class ScheduleUpdate(BaseModel):
    """PATCH /v1/schedules/{scheduleId}: any of the fields but Name (a schedule's name stays, as
    in EventBridge Scheduler); a field left out keeps its value. StartAt and EndAt may be null,
    which clears them."""

    model_config = ConfigDict(extra="forbid")

    ScheduleExpression: str | None = Field(
        default=None, min_length=1, max_length=256, json_schema_extra=not_nullable
    )
    Timezone: str | None = Field(
        default=None, min_length=1, max_length=64, json_schema_extra=not_nullable
    )
    Job: dict[str, Any] | None = Field(default=None, json_schema_extra=not_nullable)
    Enabled: StrictBool | None = Field(default=None, json_schema_extra=not_nullable)
    StartAt: InputTime | None = None
    EndAt: InputTime | None = None

    _present = field_validator("ScheduleExpression", "Timezone", "Job", "Enabled", mode="before")(
        not_null
    )

    @model_validator(mode="after")
    def _something(self) -> ScheduleUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "names no field to change; send ScheduleExpression, Timezone, Job, Enabled, "
                "StartAt or EndAt"
            )
        _ordered(self.StartAt, self.EndAt)
        return self


class RunRequest(BaseModel):
    """POST /v1/schedules/{scheduleId}/run: the time to run for (default: now)."""

    model_config = ConfigDict(extra="forbid")

    ScheduledTime: InputTime | None = Field(
        default=None,
        description="The time the run stands for (its placeholders); default now, to the second.",
    )


class ScheduleRun(BaseModel):
    """The last job a schedule started."""

    ScheduledTime: UtcTime
    JobId: str
    StartedAt: UtcTime
    Skipped: int = Field(
        default=0,
        description="Earlier due times missed while the service was down, not run (the latest "
        "missed time runs once on recovery).",
    )


class ScheduleFailure(BaseModel):
    """The last due time for which no job could be made, and why (also sent as schedule.failed)."""

    ScheduledTime: UtcTime
    Reason: str
    FailedAt: UtcTime


class Schedule(BaseModel):
    """A schedule as the API shows it."""

    ScheduleId: str
    Name: str
    ScheduleExpression: str
    Timezone: str
    Job: dict[str, Any]
    Enabled: bool
    StartAt: UtcTime | None = None
    EndAt: UtcTime | None = None
    NextRunAt: UtcTime | None = Field(
        default=None, description="The next due time; null when disabled or past EndAt."
    )
    CreatedAt: UtcTime
    UpdatedAt: UtcTime
    LastRun: ScheduleRun | None = None
    LastFailure: ScheduleFailure | None = None


class StoredSchedule(Schedule):
    """The schedule as stored: its team and the version every write is conditional on."""

    TeamId: str
    # Where a rate's intervals count from: StartAt, or the time the expression was set.
    AnchorAt: UtcTime
    # The due time a sweep is starting the run of (cleared when NextRunAt moves on).
    RunningFor: UtcTime | None = None
    Version: int = 0

    def public(self) -> Schedule:
        return Schedule.model_validate(self.model_dump(include=set(Schedule.model_fields)))


class SchedulePage(BaseModel):
    Schedules: list[Schedule]
    NextToken: str | None = None
