"""The job request: SageMaker's CreateTransformJob request, checked before any money is spent.

Field names and limits follow the SageMaker API (botocore's service model), so a team can send
what it would have sent to boto3. Botocore checks only types and minimums on the client; the
patterns, maximums and cross-field rules below are ours. Every message names the limit and the
fix; the field is named by its location.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from transform_jobs.models import jsonpath_filter
from transform_jobs.models.instance_types import TRANSFORM_INSTANCE_TYPES
from transform_jobs.s3_location import S3Location

MAX_PAYLOAD_MB = 100
MAX_CONCURRENCY_TIMES_PAYLOAD_MB = 100
SERVICE_TAG_PREFIX = "transform-jobs:"
# SageMaker allows 50 tags; the service adds two of its own (job id and team).
SERVICE_TAG_COUNT = 2
MAX_TEAM_TAGS = 50 - SERVICE_TAG_COUNT
DATA_PROCESSING_CONTENT_TYPES = frozenset({"text/csv", "application/json", "application/jsonlines"})

_JOB_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
_MODEL_NAME = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"
_ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_KMS_KEY = r"^[a-zA-Z0-9:/_-]*$"
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def problem(
    kind: str, message: str, *, field: str | None = None, **context: Any
) -> PydanticCustomError:
    """A validation error whose message says what is wrong and how to fix it.

    `field` names the offending field for rules checked across fields (pydantic reports those
    at the model's root); the API's error body shows it instead of the root.
    """
    return PydanticCustomError(kind, message.format(**context), {"field": field} if field else None)


class _Strict(BaseModel):
    """Unknown fields are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class S3DataType(StrEnum):
    S3_PREFIX = "S3Prefix"
    MANIFEST_FILE = "ManifestFile"
    AUGMENTED_MANIFEST_FILE = "AugmentedManifestFile"


class CompressionType(StrEnum):
    NONE = "None"
    GZIP = "Gzip"


class SplitType(StrEnum):
    NONE = "None"
    LINE = "Line"
    RECORD_IO = "RecordIO"
    TF_RECORD = "TFRecord"


class AssembleWith(StrEnum):
    NONE = "None"
    LINE = "Line"


class BatchStrategy(StrEnum):
    MULTI_RECORD = "MultiRecord"
    SINGLE_RECORD = "SingleRecord"


class JoinSource(StrEnum):
    INPUT = "Input"
    NONE = "None"


# Fields are named like their types, as in SageMaker's API; the aliases keep them apart.
_S3DataType = S3DataType
_CompressionType = CompressionType
_SplitType = SplitType
_AssembleWith = AssembleWith
_BatchStrategy = BatchStrategy
_JoinSource = JoinSource

S3Uri = Annotated[str, Field(max_length=1024, examples=["s3://my-bucket/team-a/input/"])]


def _check_s3_uri(value: str) -> str:
    try:
        S3Location.parse(value)
    except ValueError as error:
        raise problem("s3_uri", "{reason}", reason=str(error)) from None
    return value


class S3DataSource(_Strict):
    S3DataType: _S3DataType
    S3Uri: S3Uri

    _uri = field_validator("S3Uri")(_check_s3_uri)


_S3DataSource = S3DataSource


class DataSource(_Strict):
    S3DataSource: _S3DataSource


_DataSource = DataSource


class TransformInput(_Strict):
    DataSource: _DataSource
    ContentType: str | None = Field(default=None, max_length=256, examples=["text/csv"])
    CompressionType: _CompressionType = CompressionType.NONE
    SplitType: _SplitType = SplitType.NONE


_TransformInput = TransformInput


class TransformOutput(_Strict):
    S3OutputPath: S3Uri
    Accept: str | None = Field(default=None, max_length=256)
    AssembleWith: _AssembleWith = AssembleWith.NONE
    KmsKeyId: str | None = Field(default=None, max_length=2048, pattern=_KMS_KEY)

    _uri = field_validator("S3OutputPath")(_check_s3_uri)


_TransformOutput = TransformOutput


class TransformResources(_Strict):
    InstanceType: str = Field(examples=["ml.m5.xlarge"])
    InstanceCount: StrictInt = Field(ge=1)
    VolumeKmsKeyId: str | None = Field(default=None, max_length=2048, pattern=_KMS_KEY)
    TransformAmiVersion: str | None = Field(
        default=None, min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )

    @field_validator("InstanceType")
    @classmethod
    def _known_instance_type(cls, value: str) -> str:
        if value not in TRANSFORM_INSTANCE_TYPES:
            families = sorted({name.split(".")[1] for name in TRANSFORM_INSTANCE_TYPES})
            raise problem(
                "instance_type",
                "{value!r} is not a Batch Transform instance type; use one such as "
                "ml.m5.xlarge (families: {families})",
                value=value,
                families=", ".join(families),
            )
        return value


_TransformResources = TransformResources


class ModelClientConfig(_Strict):
    InvocationsTimeoutInSeconds: StrictInt | None = Field(default=None, ge=1, le=3600)
    InvocationsMaxRetries: StrictInt | None = Field(default=None, ge=0, le=3)


_ModelClientConfig = ModelClientConfig


class DataProcessing(_Strict):
    InputFilter: str | None = Field(default=None, max_length=63)
    OutputFilter: str | None = Field(default=None, max_length=63)
    JoinSource: _JoinSource | None = None

    @field_validator("InputFilter", "OutputFilter")
    @classmethod
    def _jsonpath_subset(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                jsonpath_filter.parse(value)
            except jsonpath_filter.JsonPathError as error:
                raise problem(
                    "jsonpath",
                    "JSONPath {value!r} {reason}; use the subset SageMaker supports, such as "
                    "'$', '$.features', \"$['id','features']\", '$[1:]' or '$[0,5:]'",
                    value=value,
                    reason=str(error),
                ) from None
        return value

    @property
    def is_active(self) -> bool:
        """True when it changes what the model sees or what is written."""
        return (
            self.InputFilter not in (None, "$")
            or self.OutputFilter not in (None, "$")
            or self.JoinSource == JoinSource.INPUT
        )


_DataProcessing = DataProcessing


class HeaderMode(StrEnum):
    AUTO = "Auto"
    PRESENT = "Present"
    ABSENT = "Absent"


_COLUMN_NAME = Annotated[str, Field(min_length=1, max_length=256)]


class InputPreparation(_Strict):
    """The service's own CSV preparation (not a SageMaker field): headers, column order, quoted
    newlines, and optional reassembly of the outputs into one file per input file."""

    Header: HeaderMode = Field(
        default=HeaderMode.AUTO,
        description="Auto: the first row is sniffed (the job's history says what was decided); "
        "Present: the first row of every file is a header; Absent: no file has one.",
    )
    Columns: list[_COLUMN_NAME] | None = Field(
        default=None,
        max_length=1000,
        description="The column names in the order the model was trained on. With a header, the "
        "columns are selected and reordered by name; without one, this only documents.",
        examples=[["sepal_length", "sepal_width", "petal_length", "petal_width"]],
    )
    Reassemble: StrictBool = Field(
        default=False,
        description="One output file per input file, in input order: the input's header and rows "
        "joined with the prediction columns, at <input key relative to the prefix>.out.",
    )
    OutputColumns: list[_COLUMN_NAME] | None = Field(
        default=None,
        max_length=1000,
        description="Names of the prediction columns in the reassembled header (default "
        "prediction, prediction_2, ...).",
    )

    @field_validator("Columns", "OutputColumns")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise problem("empty_columns", "is empty; list at least one name, or leave it out")
            repeated = [name for name, count in Counter(value).items() if count > 1]
            if repeated:
                raise problem(
                    "repeated_columns",
                    "names {names} more than once; each column name may appear once",
                    names=", ".join(repr(name) for name in repeated),
                )
        return value

    @model_validator(mode="after")
    def _output_columns_need_reassembly(self) -> Self:
        if self.OutputColumns is not None and not self.Reassemble:
            raise problem(
                "output_columns_without_reassembly",
                "OutputColumns names the columns of reassembled output; set Reassemble to true, "
                "or leave OutputColumns out",
                field="InputPreparation.OutputColumns",
            )
        return self


_InputPreparation = InputPreparation


class DataCaptureConfig(_Strict):
    DestinationS3Uri: S3Uri
    KmsKeyId: str | None = Field(default=None, max_length=2048, pattern=_KMS_KEY)
    GenerateInferenceId: StrictBool | None = None

    _uri = field_validator("DestinationS3Uri")(_check_s3_uri)


_DataCaptureConfig = DataCaptureConfig


_EXPERIMENT_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$"


class ExperimentConfig(_Strict):
    ExperimentName: str | None = Field(default=None, max_length=120, pattern=_EXPERIMENT_NAME)
    TrialName: str | None = Field(default=None, max_length=120, pattern=_EXPERIMENT_NAME)
    TrialComponentDisplayName: str | None = Field(
        default=None, max_length=120, pattern=_EXPERIMENT_NAME
    )
    RunName: str | None = Field(default=None, max_length=120, pattern=_EXPERIMENT_NAME)


_ExperimentConfig = ExperimentConfig


def _tag_text_ok(text: str) -> bool:
    return all(unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION for char in text)


class Tag(_Strict):
    Key: str = Field(min_length=1, max_length=128)
    Value: str = Field(max_length=256)

    @field_validator("Key", "Value")
    @classmethod
    def _tag_characters(cls, value: str) -> str:
        if not _tag_text_ok(value):
            raise problem(
                "tag_characters",
                "{value!r} has characters SageMaker refuses in tags; use letters, digits, "
                "spaces and _ . : / = + - @",
                value=value,
            )
        return value

    @field_validator("Key")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        lowered = value.lower()
        if lowered.startswith(SERVICE_TAG_PREFIX) or lowered.startswith("aws:"):
            raise problem(
                "tag_reserved",
                "tag keys starting with 'aws:' or '{prefix}' are reserved (the service sets "
                "its own); rename the tag",
                prefix=SERVICE_TAG_PREFIX,
            )
        return value


class JobRequest(_Strict):
    """POST /v1/jobs: SageMaker's CreateTransformJob request, with TransformJobName optional.

    The service always names the SageMaker job itself (`tj-<stage>-<job id>`); TransformJobName
    is the team's own label for the job.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "TransformJobName": "churn-scoring-2026-11",
                    "ModelName": "churn-xgb",
                    "MaxConcurrentTransforms": 4,
                    "MaxPayloadInMB": 6,
                    "BatchStrategy": "MultiRecord",
                    "TransformInput": {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": "s3://my-bucket/team-a/input/",
                            }
                        },
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                    },
                    "TransformOutput": {
                        "S3OutputPath": "s3://my-bucket/team-a/output/",
                        "AssembleWith": "Line",
                    },
                    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                }
            ]
        }
    )

    TransformJobName: str | None = Field(
        default=None, min_length=1, max_length=63, pattern=_JOB_NAME
    )
    ModelName: str = Field(min_length=1, max_length=63, pattern=_MODEL_NAME)
    MaxConcurrentTransforms: StrictInt | None = Field(default=None, ge=0)
    ModelClientConfig: _ModelClientConfig | None = None
    MaxPayloadInMB: StrictInt | None = Field(default=None, ge=0)
    BatchStrategy: _BatchStrategy | None = None
    Environment: dict[str, Annotated[str, Field(max_length=10240)]] | None = None
    TransformInput: _TransformInput
    TransformOutput: _TransformOutput
    DataCaptureConfig: _DataCaptureConfig | None = None
    TransformResources: _TransformResources
    DataProcessing: _DataProcessing | None = None
    Tags: list[Tag] | None = None
    ExperimentConfig: _ExperimentConfig | None = None
    InputPreparation: _InputPreparation | None = Field(
        default=None,
        description="The service's CSV preparation (header-aware and quote-aware sharding, "
        "column reordering, reassembly). Not sent to SageMaker.",
    )

    @field_validator("MaxPayloadInMB")
    @classmethod
    def _payload_cap(cls, value: int | None) -> int | None:
        if value is not None and value > MAX_PAYLOAD_MB:
            raise problem(
                "payload_limit",
                "is {value} MB; SageMaker allows at most 100 MB per request. Lower "
                "MaxPayloadInMB to 100 or less (6 is the default)",
                value=value,
            )
        return value

    @field_validator("Tags")
    @classmethod
    def _tag_count(cls, value: list[Tag] | None) -> list[Tag] | None:
        if value is not None and len(value) > MAX_TEAM_TAGS:
            raise problem(
                "too_many_tags",
                "has {count} tags; at most {limit} fit (SageMaker allows 50 and the service adds "
                "{own} of its own). Drop {extra} tag(s)",
                count=len(value),
                limit=MAX_TEAM_TAGS,
                own=SERVICE_TAG_COUNT,
                extra=len(value) - MAX_TEAM_TAGS,
            )
        return value

    @field_validator("Environment")
    @classmethod
    def _environment(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > 16:
            raise problem(
                "environment_size",
                "has {count} variables; SageMaker allows at most 16. Move settings into the "
                "model's own environment or its code",
                count=len(value),
            )
        for key in value:
            if len(key) > 1024 or not _ENV_KEY.fullmatch(key):
                raise problem(
                    "environment_key",
                    "variable name {key!r} is invalid; names start with a letter or _ and hold "
                    "only letters, digits and _ (at most 1024 characters)",
                    key=key[:80],
                )
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        concurrency, payload = self.MaxConcurrentTransforms, self.MaxPayloadInMB
        if concurrency and payload and concurrency * payload > MAX_CONCURRENCY_TIMES_PAYLOAD_MB:
            raise problem(
                "concurrency_times_payload",
                "MaxConcurrentTransforms × MaxPayloadInMB is {concurrency} × {payload} = "
                "{product} MB; SageMaker allows at most 100. Lower one of them, e.g. "
                "MaxPayloadInMB {fit} with MaxConcurrentTransforms {concurrency}",
                concurrency=concurrency,
                payload=payload,
                product=concurrency * payload,
                fit=max(1, MAX_CONCURRENCY_TIMES_PAYLOAD_MB // concurrency),
                field="MaxPayloadInMB",
            )
        preparation = self.InputPreparation
        if preparation is not None and preparation.Reassemble and not self.TransformOutput.Accept:
            # Reassembly joins CSV answers only: an unset Accept means that one (a different
            # Accept is still refused below, naming the field).
            self.TransformOutput.Accept = "text/csv"
        if self.DataProcessing is not None and self.DataProcessing.is_active:
            self._check_data_processing()
        if self.InputPreparation is not None:
            self._check_input_preparation(self.InputPreparation)
        return self

    def _check_input_preparation(self, preparation: _InputPreparation) -> None:
        """Preparation reads CSV text and hands SageMaker shards it writes itself."""
        content_type = (self.TransformInput.ContentType or "").split(";")[0].strip().lower()
        if content_type != "text/csv":
            raise problem(
                "preparation_content_type",
                "InputPreparation prepares CSV: set TransformInput.ContentType to 'text/csv' "
                "(it is {value!r}), or remove InputPreparation",
                value=content_type or "unset",
                field="TransformInput.ContentType",
            )
        rules = (
            (
                self.TransformInput.CompressionType is CompressionType.GZIP,
                "TransformInput.CompressionType",
                "InputPreparation reads uncompressed CSV: decompress the input and set "
                "CompressionType to 'None', or remove InputPreparation",
            ),
            (
                self.TransformInput.DataSource.S3DataSource.S3DataType
                is S3DataType.AUGMENTED_MANIFEST_FILE,
                "TransformInput.DataSource.S3DataSource.S3DataType",
                "InputPreparation reads CSV objects, not an augmented manifest: use S3Prefix "
                "or ManifestFile",
            ),
            (
                self.TransformInput.SplitType in (SplitType.RECORD_IO, SplitType.TF_RECORD),
                "TransformInput.SplitType",
                "InputPreparation splits CSV into records itself: set SplitType to 'Line' (or "
                "'None'; the service chooses what the prepared shards need)",
            ),
            (
                self.TransformOutput.KmsKeyId is not None,
                "TransformOutput.KmsKeyId",
                "InputPreparation writes shards and reassembled outputs with the bucket's own "
                "encryption and cannot use a KMS key of the request yet: remove KmsKeyId (set a "
                "default encryption key on the bucket instead), or remove InputPreparation",
            ),
            (
                preparation.Reassemble
                and self.DataProcessing is not None
                and self.DataProcessing.JoinSource is JoinSource.INPUT,
                "DataProcessing.JoinSource",
                "Reassemble joins the input to the predictions and replaces JoinSource: set "
                "JoinSource to 'None' (or leave DataProcessing out), or set Reassemble to false",
            ),
            (
                preparation.Reassemble
                and (self.TransformOutput.Accept or "").split(";")[0].strip().lower() != "text/csv",
                "TransformOutput.Accept",
                "Reassemble joins CSV predictions to CSV rows: set TransformOutput.Accept to "
                "'text/csv' so the model answers one CSV line per row",
            ),
        )
        for broken, field, message in rules:
            if broken:
                raise problem("input_preparation", message, field=field)

    def _check_data_processing(self) -> None:
        content_type = (self.TransformInput.ContentType or "").split(";")[0].strip().lower()
        accept = (self.TransformOutput.Accept or "").split(";")[0].strip().lower()
        allowed = ", ".join(sorted(DATA_PROCESSING_CONTENT_TYPES))
        for name, value in (
            ("TransformInput.ContentType", content_type),
            ("TransformOutput.Accept", accept),
        ):
            if value not in DATA_PROCESSING_CONTENT_TYPES:
                raise problem(
                    "data_processing_content_type",
                    "DataProcessing (filters or JoinSource) works only on JSON and CSV: set "
                    "{name} to one of {allowed} (it is {value!r}), or remove DataProcessing",
                    name=name,
                    allowed=allowed,
                    value=value or "unset",
                    field=name,
                )
        if content_type == "text/csv" and (
            self.TransformInput.SplitType != SplitType.LINE
            or self.TransformOutput.AssembleWith != AssembleWith.LINE
        ):
            raise problem(
                "data_processing_csv",
                "DataProcessing on text/csv needs TransformInput.SplitType 'Line' and "
                "TransformOutput.AssembleWith 'Line' (they are {split!r} and {assemble!r})",
                split=self.TransformInput.SplitType.value,
                assemble=self.TransformOutput.AssembleWith.value,
                field="TransformInput.SplitType"
                if self.TransformInput.SplitType != SplitType.LINE
                else "TransformOutput.AssembleWith",
            )

    def to_sagemaker(self, *, job_name: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        """The CreateTransformJob request for this job, under the service's own job name."""
        request = self.model_dump(
            mode="json", exclude_none=True, exclude={"TransformJobName", "InputPreparation"}
        )
        request["TransformJobName"] = job_name
        request["Tags"] = [*request.get("Tags", []), *tags]
        return request


class _OutputOverride(_Strict):
    S3OutputPath: S3Uri


class RerunOverrides(_Strict):
    """What a rerun may change of the original request; everything else is the original's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ModelName": "churn-xgb-v2"},
                {
                    "ModelName": "churn-xgb-v2",
                    "TransformOutput": {"S3OutputPath": "s3://acme-ml/churn/out-v2/"},
                    "TransformResources": {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2},
                },
            ]
        }
    )

    ModelName: str | None = Field(default=None, min_length=1, max_length=63, pattern=_MODEL_NAME)
    TransformOutput: _OutputOverride | None = Field(
        default=None,
        description="Where the outputs go; default <original S3OutputPath>/reruns/<new job id>/",
    )
    Environment: dict[str, Annotated[str, Field(max_length=10240)]] | None = Field(
        default=None, description="Replaces the original's Environment as a whole"
    )
    TransformResources: _TransformResources | None = None
    TransformJobName: str | None = Field(
        default=None, min_length=1, max_length=63, pattern=_JOB_NAME
    )

    def applied_to(self, original: JobRequest, default_output: str) -> JobRequest:
        """The original request with these changes, checked by every rule of a request
        (pydantic's ValidationError when the two together break one)."""
        request = original.model_dump(mode="json", exclude_none=True)
        request["TransformOutput"]["S3OutputPath"] = (
            self.TransformOutput.S3OutputPath if self.TransformOutput else default_output
        )
        changes = self.model_dump(
            mode="json", exclude_none=True, exclude={"TransformOutput"}, exclude_unset=True
        )
        return JobRequest.model_validate(request | changes)
