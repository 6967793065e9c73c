"""The SageMaker operations this service answers, with AWS's semantics and error codes.

A Model is its CreateModel request plus ARN and CreationTime. A transform job is its
CreateTransformJob request plus ARN, status, reason and times; the engine runs it in a
background thread, and every change of status is recorded and handed to `publish`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.sagemaker_service import listing
from local.sagemaker_service import validation as request_validation
from local.sagemaker_service.protocol import ServiceError, validation
from local.sagemaker_service.runner import Runner
from local.sagemaker_service.store import Store

ACCOUNT = "123456789012"  # moto's account: one account across the local stand-ins
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[^:]*:[0-9]*:(model|transform-job)/(.+)$")
ACTIVE = ("InProgress", "Stopping")
INTERRUPTED = "The local SageMaker service stopped while the job was running."
JOB_FIELDS = (
    "TransformJobName",
    "ModelName",
    "MaxConcurrentTransforms",
    "ModelClientConfig",
    "MaxPayloadInMB",
    "BatchStrategy",
    "Environment",
    "TransformInput",
    "TransformOutput",
    "DataCaptureConfig",
    "TransformResources",
    "DataProcessing",
    "ExperimentConfig",
)
MODEL_FIELDS = (
    "ModelName",
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)

Publish = Callable[[dict[str, Any]], None]
Operation = Callable[[dict[str, Any]], dict[str, Any]]


def _event(record: dict[str, Any]) -> dict[str, Any]:
    """What is published on a status change: the description, with the job's tags as a map."""
    tags = {tag["Key"]: tag["Value"] for tag in record.get("Tags", [])}
    return {**record["Description"], "Tags": tags}


def no_publish(description: dict[str, Any]) -> None:
    """The default hook: nothing outside this service hears of status changes."""


class SageMakerService:
    def __init__(
        self, data_dir: Path, *, region: str = "us-east-1", publish: Publish = no_publish
    ) -> None:
        self.region, self.publish = region, publish
        self.store = Store(data_dir)
        self.runner = Runner(data_dir / "work", self._job_changed)
        self.operations: dict[str, Operation] = {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "ListModels": self.list_models,
            "DeleteModel": self.delete_model,
            "CreateTransformJob": self.create_transform_job,
            "DescribeTransformJob": self.describe_transform_job,
            "ListTransformJobs": self.list_transform_jobs,
            "StopTransformJob": self.stop_transform_job,
            "AddTags": self.add_tags,
            "ListTags": self.list_tags,
        }

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        handler = self.operations.get(operation)
        if handler is None:
            raise ServiceError("UnknownOperationException", f"Unsupported operation {operation}")
        request_validation.check(operation, request)
        return handler(request)

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{kind}/{name}"

    # Startup and shutdown

    def recover(self) -> list[str]:
        """Jobs left running by a previous process end Failed; returns their names."""
        recovered = []
        with self.store.lock:
            for record in self.store.all("jobs"):
                description = record["Description"]
                if description.get("TransformJobStatus") not in ACTIVE:
                    continue
                now = _now()
                description.update(TransformJobStatus="Failed", FailureReason=INTERRUPTED)
                description.setdefault("TransformEndTime", now)
                record["LastModifiedTime"] = now
                self.store.put("jobs", description["TransformJobName"], record)
                recovered.append(description["TransformJobName"])
                self.publish(_event(record))
        return recovered

    def close(self) -> None:
        self.runner.close()

    # Models

    def _model(self, name: str) -> dict[str, Any]:
        record = self.store.get("models", name) if isinstance(name, str) else None
        if record is None:
            raise validation(f'Could not find model "{self.arn("model", str(name))}".')
        return record

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        name = _name(request, "ModelName")
        if not (request.get("PrimaryContainer") or request.get("Containers")):
            raise validation("Either PrimaryContainer or Containers must be specified.")
        with self.store.lock:
            if self.store.get("models", name) is not None:
                raise validation(
                    f'Cannot create already existing model "{self.arn("model", name)}".'
                )
            description = {key: request[key] for key in MODEL_FIELDS if key in request}
            description.update(ModelArn=self.arn("model", name), CreationTime=_now())
            record = {"Description": description, "Tags": _tags(request.get("Tags") or [])}
            self.store.put("models", name, record)
        return {"ModelArn": description["ModelArn"]}

    def describe_model(self, request: dict[str, Any]) -> dict[str, Any]:
        description: dict[str, Any] = self._model(request.get("ModelName", ""))["Description"]
        return description

    def delete_model(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self._model(request.get("ModelName", ""))
            self.store.delete("models", request["ModelName"])
        return {}

    def list_models(self, request: dict[str, Any]) -> dict[str, Any]:
        contains = str(request.get("NameContains") or "").lower()
        models = [
            {key: record["Description"][key] for key in ("ModelName", "ModelArn", "CreationTime")}
            for record in self.store.all("models")
        ]
        models = [
            model
            for model in models
            if contains in model["ModelName"].lower()
            and listing.within_times(model, request, "CreationTime")
        ]
        chunk, token = listing.page(
            models,
            request,
            sort_keys={
                "Name": lambda item: item["ModelName"],
                "CreationTime": lambda item: item["CreationTime"],
            },
        )
        return {"Models": chunk, **({"NextToken": token} if token else {})}

    # Transform jobs

    def _job(self, name: Any) -> dict[str, Any]:
        record = self.store.get("jobs", name) if isinstance(name, str) else None
        if record is None:
            raise validation(f"Could not find requested job with name {name}")
        return record

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = _name(request, "TransformJobName")
        for required in ("ModelName", "TransformInput", "TransformOutput", "TransformResources"):
            if not request.get(required):
                raise validation(f"{required} is required.")
        with self.store.lock:
            if self.store.get("jobs", name) is not None:
                raise ServiceError(
                    "ResourceInUse",
                    f"Job name must be unique within an AWS account and region, "
                    f"and a job with this name already exists ({self.arn('transform-job', name)})",
                )
            model = self._model(request["ModelName"])["Description"]
            now = _now()
            description = {key: request[key] for key in JOB_FIELDS if key in request}
            description.update(
                TransformJobArn=self.arn("transform-job", name),
                TransformJobStatus="InProgress",
                CreationTime=now,
            )
            record = {
                "Description": description,
                "Tags": _tags(request.get("Tags") or []),
                "LastModifiedTime": now,
            }
            try:
                self.runner.check(request)
            except (KeyError, TypeError, ValueError) as error:
                raise validation(f"Invalid transform job request: {error!r}") from error
            self.store.put("jobs", name, record)
        self.publish(_event(record))
        self.runner.start(request, model)
        return {"TransformJobArn": description["TransformJobArn"]}

    def describe_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        description: dict[str, Any] = self._job(request.get("TransformJobName"))["Description"]
        return description

    def list_transform_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        contains = str(request.get("NameContains") or "").lower()
        status = request.get("StatusEquals")
        summaries = []
        for record in self.store.all("jobs"):
            description = record["Description"]
            summary = {
                key: description[key]
                for key in (
                    "TransformJobName",
                    "TransformJobArn",
                    "CreationTime",
                    "TransformEndTime",
                    "TransformJobStatus",
                    "FailureReason",
                )
                if key in description
            }
            summary["LastModifiedTime"] = record.get("LastModifiedTime", summary["CreationTime"])
            if contains not in summary["TransformJobName"].lower():
                continue
            if status and summary["TransformJobStatus"] != status:
                continue
            if listing.within_times(summary, request, "CreationTime") and listing.within_times(
                summary, request, "LastModifiedTime"
            ):
                summaries.append(summary)
        chunk, token = listing.page(
            summaries,
            request,
            sort_keys={
                "Name": lambda item: item["TransformJobName"],
                "CreationTime": lambda item: item["CreationTime"],
                "Status": lambda item: item["TransformJobStatus"],
            },
        )
        return {"TransformJobSummaries": chunk, **({"NextToken": token} if token else {})}

    def stop_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("TransformJobName")
        with self.store.lock:
            record = self._job(name)
            description = record["Description"]
            status = description["TransformJobStatus"]
            if status == "Stopping":
                return {}
            if status != "InProgress":
                raise validation(
                    f"The transform job {name} has already ended with status {status}; "
                    "only a job InProgress can be stopped."
                )
            description["TransformJobStatus"] = "Stopping"
            record["LastModifiedTime"] = _now()
            self.store.put("jobs", description["TransformJobName"], record)
        self.publish(_event(record))
        if not self.runner.stop(description["TransformJobName"]):
            self._job_changed(description["TransformJobName"], {"TransformJobStatus": "Stopped"})
        return {}

    def _job_changed(self, name: str, run: dict[str, Any]) -> None:
        """The engine's view of a run (status, reason, times) merged into the record."""
        with self.store.lock:
            record = self.store.get("jobs", name)
            if record is None:
                return
            description = record["Description"]
            before = dict(description)
            status = run["TransformJobStatus"]
            if status == "InProgress" and description["TransformJobStatus"] == "Stopping":
                status = "Stopping"  # the engine has not seen the stop through yet
            description["TransformJobStatus"] = status
            for key in ("TransformStartTime", "TransformEndTime"):
                if run.get(key) is not None:
                    description[key] = run[key].timestamp()
            if run.get("FailureReason"):
                description["FailureReason"] = run["FailureReason"]
            if description == before:
                return
            record["LastModifiedTime"] = _now()
            self.store.put("jobs", name, record)
            published = _event(record)
        if published["TransformJobStatus"] != before["TransformJobStatus"]:
            self.publish(published)

    # Tags

    def _tagged(self, arn: Any) -> tuple[str, str, dict[str, Any]]:
        match = ARN.match(arn) if isinstance(arn, str) else None
        kind = {"model": "models", "transform-job": "jobs"}.get(match.group(1)) if match else None
        record = self.store.get(kind, match.group(2)) if kind and match else None
        if kind is None or match is None or record is None:
            raise validation(f"Could not find resource {arn}")
        return kind, match.group(2), record

    def add_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        added = _tags(request.get("Tags") or [])
        with self.store.lock:
            kind, name, record = self._tagged(request.get("ResourceArn"))
            merged = {tag["Key"]: tag["Value"] for tag in record.get("Tags", [])}
            merged.update((tag["Key"], tag["Value"]) for tag in added)
            record["Tags"] = [{"Key": key, "Value": value} for key, value in merged.items()]
            self.store.put(kind, name, record)
        return {"Tags": added}

    def list_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        _, _, record = self._tagged(request.get("ResourceArn"))
        tags: list[dict[str, Any]] = record.get("Tags", [])
        chunk, token = listing.slice_page(tags, request)
        return {"Tags": chunk, **({"NextToken": token} if token else {})}


def _now() -> float:
    """Epoch seconds to the millisecond, as SageMaker's (and the engine's) times are."""
    return int(time.time() * 1000) / 1000


def _name(request: dict[str, Any], field: str) -> str:
    name = request.get(field)
    if not isinstance(name, str) or not NAME.match(name):
        raise validation(
            f"1 validation error detected: Value {name!r} at '{field}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    return name


def _tags(tags: Any) -> list[dict[str, str]]:
    if not isinstance(tags, list) or not all(
        isinstance(tag, dict) and isinstance(tag.get("Key"), str) for tag in tags
    ):
        raise validation("Tags must be a list of {Key, Value}")
    return [{"Key": tag["Key"], "Value": str(tag.get("Value", ""))} for tag in tags]
