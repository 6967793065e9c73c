"""How the SageMaker gateway reads SageMaker's errors: what is "not found", what is final.

SageMaker answers a missing model or transform job with ValidationException (not the
ResourceNotFound its API model declares for DescribeTransformJob), the same code as for a
malformed request; the gateway tells them apart by the message's opening words only.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.support.sagemaker import SageMakerStub
from transform_jobs.adapters import sagemaker_gateway

NAME = "tj-dev-01jd0000000000000000000000"
REQUEST = {
    "TransformJobName": NAME,
    "ModelName": "churn-xgb",
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/"},
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
}


def fails(stub: SageMakerStub, operation: str, code: str, message: str) -> None:
    stub.stubber.add_client_error(
        operation, service_error_code=code, service_message=message, http_status_code=400
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # what SageMaker says
        ("ValidationException", f"Could not find requested job with name {NAME}"),
        # what the API model declares (and the message does not matter then)
        ("ResourceNotFound", "Resource being access is not found."),
    ],
)
def test_a_missing_transform_job_is_none(sagemaker: SageMakerStub, code: str, message: str) -> None:
    fails(sagemaker, "describe_transform_job", code, message)
    assert sagemaker_gateway.describe_transform_job(NAME) is None


def test_a_missing_model_is_none(sagemaker: SageMakerStub) -> None:
    sagemaker.model_missing("churn-xgb")
    assert sagemaker_gateway.describe_model("churn-xgb") is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "ValidationException",
            "1 validation error detected: Value 'churn xgb' at 'modelName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern",
        ),
        # "could not find" inside another validation error is not a missing model
        ("ValidationException", "Model churn-xgb is invalid: could not find its container image"),
        (
            "AccessDeniedException",
            "User: ... is not authorized to perform: sagemaker:DescribeModel",
        ),
        ("ThrottlingException", "Rate exceeded"),
    ],
)
def test_other_errors_are_not_taken_for_a_missing_model(
    sagemaker: SageMakerStub, code: str, message: str
) -> None:
    fails(sagemaker, "describe_model", code, message)
    with pytest.raises(ClientError) as raised:
        sagemaker_gateway.describe_model("churn-xgb")
    assert raised.value.response["Error"]["Code"] == code


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("AccessDeniedException", sagemaker_gateway.NotPermitted),
        ("ValidationException", sagemaker_gateway.Rejected),
        ("ResourceLimitExceeded", sagemaker_gateway.NoCapacity),
        ("ResourceInUse", sagemaker_gateway.JobNameTaken),
    ],
)
def test_create_transform_job_names_each_refusal(
    sagemaker: SageMakerStub, code: str, outcome: type[Exception]
) -> None:
    fails(sagemaker, "create_transform_job", code, f"SageMaker says {code}")
    with pytest.raises(outcome, match=f"SageMaker says {code}"):
        sagemaker_gateway.create_transform_job(dict(REQUEST))


def test_a_server_error_on_create_is_left_to_the_retry(sagemaker: SageMakerStub) -> None:
    sagemaker.stubber.add_client_error(
        "create_transform_job", "InternalFailure", http_status_code=500
    )
    with pytest.raises(ClientError):
        sagemaker_gateway.create_transform_job(dict(REQUEST))
