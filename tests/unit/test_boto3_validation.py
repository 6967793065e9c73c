"""Every boto3 request the service makes is checked against botocore's service model before it is
sent: parameter validation is on in every gateway's client (no Config, no AWS config file turns
it off), and the Stubber-backed tests validate the requests and the scripted answers too."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from tests.support.sagemaker import SageMakerStub
from transform_jobs.adapters import kms_gateway, queue_gateway, s3_gateway, sagemaker_gateway
from transform_jobs.adapters.dynamodb import api_key_repository, table

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "core" / "transform_jobs"
CLIENTS: dict[str, Callable[[], Any]] = {
    "table": table.client,
    "api_key_repository": api_key_repository._client,
    "kms_gateway": kms_gateway._client,
    "queue_gateway": queue_gateway._client,
    "s3_gateway": s3_gateway._client,
    "sagemaker_gateway": sagemaker_gateway._client,
}


def test_every_module_that_makes_a_client_is_checked_here() -> None:
    """Clients are made by aws_clients (one botocore session, on first use); nothing else in the
    core imports boto3 or botocore's session, even inside a function."""
    sources = {path.stem: path.read_text() for path in PACKAGE.rglob("*.py")}
    makers = {name for name, text in sources.items() if "aws_clients.client(" in text}
    importers = {
        name
        for name, text in sources.items()
        if re.search(r"^\s*(import|from) (boto3|botocore\.session)\b", text, re.MULTILINE)
    }
    assert makers == set(CLIENTS)
    assert importers == {"aws_clients"}


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Endpoints that refuse at once: a request that got past validation fails fast, unsent."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return


@pytest.mark.parametrize("module", sorted(CLIENTS))
def test_each_gateway_client_refuses_what_its_service_model_does_not_allow(
    module: str, nowhere: None
) -> None:
    client = CLIENTS[module]()
    model = client.meta.service_model
    operation = next(
        name
        for name in sorted(model.operation_names)
        if model.operation_model(name).input_shape is not None
        and model.operation_model(name).input_shape.required_members
    )
    with pytest.raises(ParamValidationError, match="Missing required parameter"):
        getattr(client, xform_name(operation))()


def test_an_invalid_request_never_reaches_the_stubbed_answer() -> None:
    """Stubber checks the expected parameters first, then botocore validates the request as it
    would for AWS: the scripted answer stays unused."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    request = {
        "TransformJobName": "tj-dev-01jbz3k9x2v5q8r7t6w4y3n2m1",
        "ModelName": "churn-xgb",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out/"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": "1"},
    }
    with Stubber(client) as stubber:
        stubber.add_response("create_transform_job", {"TransformJobArn": "arn"}, request)
        with pytest.raises(ParamValidationError, match=r"TransformResources\.InstanceCount"):
            client.create_transform_job(**request)
        with pytest.raises(AssertionError, match="1 responses remaining"):
            stubber.assert_no_pending_responses()


def test_the_stubbed_sagemaker_client_refuses_answers_sagemaker_would_not_give(
    sagemaker: SageMakerStub,
) -> None:
    with pytest.raises(ParamValidationError, match="TransformJobStatus"):
        sagemaker.stubber.add_response(
            "describe_transform_job",
            {"TransformJobName": "tj", "TransformJobStatus": 3},
            {"TransformJobName": "tj"},
        )
