"""Typed settings from the function's environment (set by template.yaml).

Each function names the variables it cannot run without in a model of its own (a subclass of
Settings whose fields are required) and loads it at Init, so a variable the template lost fails
the cold start with its name, not the first request that reads it. The core reads the same
values through get_settings(), which reads the environment again only when it has changed: once
per process in Lambda, and without resets in tests that change it.
"""

from __future__ import annotations

import os
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = Field(default="dev", pattern=r"^[a-z0-9]{1,12}$")
    table_name: str = "transform-jobs"
    idempotency_table_name: str = "transform-jobs-idempotency"
    launch_queue_url: str = ""
    # CSV preparation and reassembly (jobs with InputPreparation) run behind their own queues.
    prepare_queue_url: str = ""
    finalize_queue_url: str = ""
    # Longest stretch of work per invocation before it checkpoints and continues in a new one
    # (0: until the function's time is nearly up). Tests shorten it to exercise resumption.
    work_slice_seconds: int = Field(default=0, ge=0)
    # After this many receives of a step's message, the job fails instead of retrying (the
    # prepare and finalize queues' maxReceiveCount).
    step_max_receives: int = Field(default=5, ge=1)
    # Verified manifests are pinned under manifests/ here (a bucket teams cannot write).
    artifacts_bucket: str = ""
    # After this many receives of a launch message, the job fails instead of retrying (the
    # launch queue's maxReceiveCount: the message would go to the dead-letter queue next).
    launch_max_receives: int = Field(default=5, ge=1)
    service_max_running_jobs: int = Field(default=20, ge=1)
    reconcile_after_seconds: int = Field(default=900, ge=0)
    presigned_url_seconds: int = Field(default=3600, ge=1, le=604800)
    # boto3's own endpoint overrides: set only in local mode, where S3 is a stand-in on loopback.
    aws_endpoint_url_s3: str = ""
    aws_endpoint_url: str = ""
    # Idempotency keys are honoured for this long (DESIGN: 24 hours).
    idempotency_ttl_seconds: int = Field(default=86400, ge=60)
    # Webhooks: the KMS key for signing secrets, the delivery queue, the retry waits (seconds
    # between attempts; tests shorten them), and local mode's allowance of http to loopback.
    webhook_key_id: str = ""
    webhook_queue_url: str = ""
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,50400,72000,86400"
    webhook_allow_http_loopback: bool = False
    # The longest wait a delivery's message carries as its queue delay (SQS allows 900 s); a
    # longer one is carried by retry_deliveries, which queues a due delivery itself only after
    # the grace (the time a message that carries a wait has to arrive). Local mode lowers both
    # so that the sweeper's part of the schedule can be watched in seconds.
    webhook_max_queue_delay_seconds: int = Field(default=900, ge=0, le=900)
    webhook_sweep_grace_seconds: int = Field(default=60, ge=0)
    # A subscription with no success for this long is disabled; a rotated secret still signs
    # for this long.
    webhook_disable_after_seconds: int = Field(default=5 * 86400, ge=60)
    webhook_secret_overlap_seconds: int = Field(default=86400, ge=0)

    # Schedules: how many a team may have, and how often one may run at most (in minutes of a
    # rate expression). Local mode's tests shorten a rate's minute so a schedule's runs can be
    # watched in seconds; cron expressions always run on the wall clock.
    schedule_limit: int = Field(default=100, ge=1)
    schedule_min_interval_minutes: int = Field(default=5, ge=1)
    schedule_minute_seconds: float = Field(default=60.0, gt=0)

    @property
    def s3_endpoint_override(self) -> str:
        return self.aws_endpoint_url_s3 or self.aws_endpoint_url

    @property
    def job_name_prefix(self) -> str:
        """Every SageMaker job the service starts has this prefix (IAM is scoped to it)."""
        return f"tj-{self.stage}-"


# A variable a function's own settings model requires: set, and not empty.
Required = Annotated[str, Field(min_length=1)]

S = TypeVar("S", bound=Settings)


class MissingSettings(RuntimeError):
    """The function's environment lacks what it needs (a template or deployment fault)."""


def _values() -> dict[str, str]:
    return {
        name: os.environ[name.upper()]
        for name in Settings.model_fields
        if os.environ.get(name.upper()) not in (None, "")
    }


_last: tuple[dict[str, str], Settings] | None = None


def get_settings() -> Settings:
    """The process's settings: environment variables named after the fields, upper-cased."""
    global _last  # noqa: PLW0603 (one reading, replaced only when the environment changed)
    values = _values()
    if _last is None or _last[0] != values:
        _last = (values, Settings.model_validate(values))
    return _last[1]


def load(model: type[S]) -> S:
    """A function's settings, checked at Init: every variable its model requires is set."""
    try:
        return model.model_validate(_values())
    except ValidationError as invalid:
        names = sorted({str(error["loc"][0]).upper() for error in invalid.errors()})
        raise MissingSettings(
            f"{model.__name__}: set {', '.join(names)} in the function's environment "
            f"({invalid.error_count()} problem(s): {invalid})"
        ) from None
