"""A Lambda context object with the attributes Powertools reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class FakeContext:
    function_name: str = "transform-jobs-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:transform-jobs-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/transform-jobs-test"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class RunningContext(FakeContext):
    """A context whose remaining time runs down from `budget_s`, as an invocation's does."""

    budget_s: float = 30.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.budget_s - (time.monotonic() - self.started)) * 1000)
