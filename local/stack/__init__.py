"""Local stand-ins for the AWS services the stack uses, each its own process (see backends)."""

from local.model_host.host import free_port
from local.stack.backends import Backend, start_dynamodb, start_moto, start_s3
from local.stack.processes import ManagedProcess, ProcessExited

__all__ = [
    "Backend",
    "ManagedProcess",
    "ProcessExited",
    "free_port",
    "start_dynamodb",
    "start_moto",
    "start_s3",
]
