"""SageMaker: the only module that calls it. Errors come back as the service's own exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError, ParamValidationError

from transform_jobs.adapters import aws_clients

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.client import SageMakerClient

# Throttling and account limits are capacity problems: the job waits in Queued and retries.
_NO_CAPACITY = frozenset({"ResourceLimitExceeded", "ThrottlingException", "Throttling"})
# A denial (of sagemaker:CreateTransformJob or AddTags, or of kms:CreateGrant on the volume key)
# is the same on every attempt.
_NOT_PERMITTED = frozenset({"AccessDeniedException", "AccessDenied"})


class JobNameTaken(Exception):
    """A transform job with this name already exists (a retried launch, or a collision)."""


class NoCapacity(Exception):
    """SageMaker refused for lack of capacity or quota; try again later."""


class Rejected(Exception):
    """SageMaker refused the request itself; the message is SageMaker's."""


class NotPermitted(Exception):
    """The service's role may not do this (IAM, or a KMS key policy); retrying will not help."""


def _client() -> SageMakerClient:
    retries = {"mode": "standard", "max_attempts": 3}
    return cast("SageMakerClient", aws_clients.client("sagemaker", retries=retries))


def _not_found(error: ClientError) -> bool:
    """A model or transform job that does not exist.

    The API model declares ResourceNotFound for DescribeTransformJob, but SageMaker answers a
    missing model or job with ValidationException ("Could not find model ...", "Could not find
    requested job with name ..."), the same code as for a malformed request; only the message
    tells them apart, so it is matched on its fixed opening words and nothing else.
    """
    code = error.response["Error"]["Code"]
    if code == "ResourceNotFound":
        return True
    message = error.response["Error"].get("Message", "")
    return code == "ValidationException" and message.lower().startswith("could not find")


def describe_model(name: str) -> dict[str, Any] | None:
    try:
        return dict(_client().describe_model(ModelName=name))
    except ClientError as error:
        if _not_found(error):
            return None
        raise


def create_transform_job(request: dict[str, Any]) -> str:
    """Start the job; returns its ARN."""
    try:
        return _client().create_transform_job(**request)["TransformJobArn"]
    except ParamValidationError as error:
        raise Rejected(str(error)) from None
    except ClientError as error:
        code = error.response["Error"]["Code"]
        message = error.response["Error"].get("Message", code)
        if code == "ResourceInUse":
            raise JobNameTaken(message) from None
        if code in _NO_CAPACITY:
            raise NoCapacity(message) from None
        if code in ("ValidationException", "ResourceNotFound"):
            raise Rejected(message) from None
        if code in _NOT_PERMITTED:
            raise NotPermitted(message) from None
        raise


def describe_transform_job(name: str) -> dict[str, Any] | None:
    try:
        return dict(_client().describe_transform_job(TransformJobName=name))
    except ClientError as error:
        if _not_found(error):
            return None
        raise


def stop_transform_job(name: str) -> None:
    """Ask SageMaker to stop the job; a job that already ended is not an error."""
    try:
        _client().stop_transform_job(TransformJobName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":
            raise


def tags_of(arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        reply = _client().list_tags(**kwargs)
        tags.update({tag["Key"]: tag["Value"] for tag in reply.get("Tags", [])})
        if not reply.get("NextToken"):
            return tags
        kwargs["NextToken"] = reply["NextToken"]
