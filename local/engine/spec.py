"""The parts of a CreateTransformJob request the engine acts on, read once into one typed value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_CONCURRENT = 1
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_BATCH_STRATEGY = "MultiRecord"
DEFAULT_INVOCATION_TIMEOUT_S = 600
DEFAULT_INVOCATION_RETRIES = 3


@dataclass(frozen=True)
class TransformSpec:
    name: str
    model_name: str
    data_type: str
    input_uri: str
    content_type: str | None
    compression: str
    split_type: str
    output_path: str
    accept: str | None
    assemble_with: str
    instance_count: int
    max_concurrent: int | None
    max_payload_mb: int | None
    batch_strategy: str | None
    environment: dict[str, str] = field(default_factory=dict)
    invocation_timeout_s: int = DEFAULT_INVOCATION_TIMEOUT_S
    invocation_retries: int = DEFAULT_INVOCATION_RETRIES
    request: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> TransformSpec:
        source = request["TransformInput"]["DataSource"]["S3DataSource"]
        transform_input = request["TransformInput"]
        output = request["TransformOutput"]
        client = request.get("ModelClientConfig") or {}
        return cls(
            name=request["TransformJobName"],
            model_name=request["ModelName"],
            data_type=source["S3DataType"],
            input_uri=source["S3Uri"],
            content_type=transform_input.get("ContentType"),
            compression=transform_input.get("CompressionType") or "None",
            split_type=transform_input.get("SplitType") or "None",
            output_path=output["S3OutputPath"],
            accept=output.get("Accept"),
            assemble_with=output.get("AssembleWith") or "None",
            instance_count=int(request["TransformResources"].get("InstanceCount") or 1),
            # 0 or unset both mean: ask the container, else SageMaker's default.
            max_concurrent=request.get("MaxConcurrentTransforms") or None,
            max_payload_mb=request.get("MaxPayloadInMB"),
            batch_strategy=request.get("BatchStrategy"),
            environment=dict(request.get("Environment") or {}),
            invocation_timeout_s=int(
                client.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT_S
            ),
            invocation_retries=int(
                DEFAULT_INVOCATION_RETRIES
                if client.get("InvocationsMaxRetries") is None
                else client["InvocationsMaxRetries"]
            ),
            request=request,
        )


@dataclass(frozen=True)
class EffectiveParameters:
    """What the job runs with: the request's values, else the container's, else the defaults."""

    max_concurrent: int
    max_payload_mb: int
    batch_strategy: str

    @property
    def max_payload_bytes(self) -> int:
        return self.max_payload_mb * 1024 * 1024


def effective_parameters(
    spec: TransformSpec, container: dict[str, Any] | None
) -> EffectiveParameters:
    container = container or {}
    strategy = spec.batch_strategy or {
        "MULTI_RECORD": "MultiRecord",
        "SINGLE_RECORD": "SingleRecord",
    }.get(str(container.get("BatchStrategy")), DEFAULT_BATCH_STRATEGY)
    payload = spec.max_payload_mb
    if payload is None:
        payload = _int(container.get("MaxPayloadInMB"), DEFAULT_MAX_PAYLOAD_MB)
    concurrent = spec.max_concurrent or _int(
        container.get("MaxConcurrentTransforms"), DEFAULT_MAX_CONCURRENT
    )
    return EffectiveParameters(max(1, concurrent), max(0, payload), strategy)


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default
