"""The local SageMaker API checks every request against botocore's service model, as AWS does, and
answers ValidationException like AWS: here over HTTP, from clients that skip botocore's own
checks (parameter validation off), as other SDKs or hand-made requests would."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.sagemaker_service.server import SageMakerServer
from local.sagemaker_service.service import SageMakerService

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/churn-xgb"
JOB: dict[str, Any] = {
    "TransformJobName": "tj-dev-01jbz3k9x2v5q8r7t6w4y3n2m1",
    "ModelName": "churn-xgb",
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}}
    },
    "TransformOutput": {"S3OutputPath": "s3://data/out/"},
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
}


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    service = SageMakerService(tmp_path)
    server = SageMakerServer(("127.0.0.1", 0), service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        service.close()


def client(url: str, *, validating: bool) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=validating, retries={"max_attempts": 1}),
    )


def refused(call: Any, **request: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as error:
        call(**request)
    reply = error.value.response
    return (
        reply["Error"]["Code"],
        reply["Error"]["Message"],
        reply["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_constraints_botocore_leaves_to_aws_are_refused_in_aws_words(url: str) -> None:
    sagemaker = client(url, validating=True)  # botocore checks none of these
    bad = {
        **JOB,
        "TransformJobName": "churn_scoring",
        "TransformResources": {"InstanceType": "ml.m5.huge", "InstanceCount": 1},
    }
    code, message, status = refused(sagemaker.create_transform_job, **bad)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("2 validation errors detected: ")
    assert (
        "Value 'churn_scoring' at 'transformJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: " in message
    )
    assert (
        "Value 'ml.m5.huge' at 'transformResources.instanceType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [" in message
    )
    assert sagemaker.list_transform_jobs()["TransformJobSummaries"] == []


def test_what_botocore_would_have_refused_is_refused_when_a_client_does_not_check(
    url: str,
) -> None:
    sagemaker = client(url, validating=False)
    missing = {key: value for key, value in JOB.items() if key != "ModelName"}
    assert refused(sagemaker.create_transform_job, **missing)[:2] == (
        "ValidationException",
        "1 validation error detected: Value null at 'modelName' failed to satisfy constraint: "
        "Member must not be null",
    )
    wrong_type = {
        **JOB,
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": "1"},
    }
    code, message, _ = refused(sagemaker.create_transform_job, **wrong_type)
    assert code == "ValidationException"
    assert "Invalid type for parameter TransformResources.InstanceCount" in message
    assert refused(sagemaker.list_transform_jobs, MaxResults=0)[:2] == (
        "ValidationException",
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    )
    long_key = "k" * 129
    code, message, _ = refused(
        sagemaker.add_tags,
        ResourceArn=MODEL_ARN,
        Tags=[{"Key": "team", "Value": "a"}, {"Key": long_key, "Value": "b"}],
    )
    assert (code, message) == (
        "ValidationException",
        f"1 validation error detected: Value '{long_key}' at 'tags.2.member.key' failed to "
        "satisfy constraint: Member must have length less than or equal to 128",
    )


def test_a_valid_request_goes_on_to_the_operation(url: str) -> None:
    """Validation passes what AWS accepts (a JSON null reads as an absent member), and the
    operation answers as AWS would: here, no such model."""
    request = json.dumps({**JOB, "Environment": None}).encode()
    http = urllib.request.Request(  # noqa: S310 (our own loopback server)
        url,
        data=request,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.CreateTransformJob",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(http, timeout=10)  # noqa: S310 (our own loopback server)
    body = json.loads(answer.value.read())
    assert answer.value.code == 400
    assert body == {
        "__type": "ValidationException",
        "message": f'Could not find model "{MODEL_ARN}".',
    }
