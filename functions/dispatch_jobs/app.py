"""Schedule → dispatch_jobs: hand Queued jobs to the launcher as capacity frees."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.launch.dispatch import dispatch
from transform_jobs.settings import Required, Settings, load


class DispatchJobsSettings(Settings):
    """What dispatch_jobs cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required


load(DispatchJobsSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return {"dispatched": dispatch()}
