"""Python client and command line for the transform-jobs service."""

from transform_jobs_client import models
from transform_jobs_client.client import (
    RetryPolicy,
    TransformJobs,
    UnexpectedResponse,
    WaitTimedOut,
)
from transform_jobs_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransformJobsError,
    Unauthorized,
    ValidationFailed,
)
from transform_jobs_client.webhooks import WebhookVerificationError, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "FieldError",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransformJobs",
    "TransformJobsError",
    "Unauthorized",
    "UnexpectedResponse",
    "ValidationFailed",
    "WaitTimedOut",
    "WebhookVerificationError",
    "models",
    "verify_webhook",
]
