"""SageMaker through botocore's Stubber: moto's transform jobs are not faithful (they complete at
once, and StopTransformJob is missing), so tests script SageMaker's answers call by call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from transform_jobs.adapters import sagemaker_gateway
from transform_jobs.models.job import Job

ACCOUNT = "123456789012"


def job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:transform-job/{name}"


class SageMakerStub:
    def __init__(self, stubber: Stubber) -> None:
        self.stubber = stubber

    def model_exists(self, name: str) -> None:
        self.stubber.add_response(
            "describe_model",
            {
                "ModelName": name,
                "ModelArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name}",
                "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
                "PrimaryContainer": {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1"},
            },
            {"ModelName": name},
        )

    def model_missing(self, name: str) -> None:
        self.stubber.add_client_error(
            "describe_model",
            service_error_code="ValidationException",
            service_message=f'Could not find model "arn:aws:sagemaker:us-east-1:{ACCOUNT}:'
            f'model/{name}".',
            http_status_code=400,
            expected_params={"ModelName": name},
        )

    def creates(self, job: Job, *, input_uri: str | None = None) -> None:
        """CreateTransformJob with exactly the job's request, its name and the service's tags
        (and, for a manifest, the pinned copy's URI as input)."""
        tags = [
            {"Key": "transform-jobs:job-id", "Value": job.JobId},
            {"Key": "transform-jobs:team", "Value": job.TeamId},
        ]
        expected = job.Request.to_sagemaker(job_name=job.SageMakerJobName, tags=tags)
        if input_uri:
            expected["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = input_uri
        self.stubber.add_response(
            "create_transform_job", {"TransformJobArn": job_arn(job.SageMakerJobName)}, expected
        )

    def create_fails(self, code: str, message: str) -> None:
        self.stubber.add_client_error(
            "create_transform_job",
            service_error_code=code,
            service_message=message,
            http_status_code=400,
        )

    def describes(self, name: str, status: str, **extra: Any) -> None:
        reply = {
            "TransformJobName": name,
            "TransformJobArn": job_arn(name),
            "TransformJobStatus": status,
            "ModelName": "churn-xgb",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}
            },
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            "CreationTime": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
            **extra,
        }
        self.stubber.add_response("describe_transform_job", reply, {"TransformJobName": name})

    def describe_missing(self, name: str) -> None:
        self.stubber.add_client_error(
            "describe_transform_job",
            service_error_code="ValidationException",
            service_message=f"Could not find requested job with name {name}",
            http_status_code=400,
        )

    def tags(self, name: str, tags: dict[str, str]) -> None:
        self.stubber.add_response(
            "list_tags",
            {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
            {"ResourceArn": job_arn(name)},
        )

    def stops(self, name: str) -> None:
        self.stubber.add_response("stop_transform_job", {}, {"TransformJobName": name})


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[SageMakerStub]:
    """A stubbed SageMaker client behind the gateway; every scripted call must be made."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(client) as stubber:
        monkeypatch.setattr(sagemaker_gateway, "_client", lambda: client)
        yield SageMakerStub(stubber)
        stubber.assert_no_pending_responses()
