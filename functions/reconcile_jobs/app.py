"""Schedule → reconcile_jobs: repair jobs whose events or launch messages went missing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.jobs.reconcile import reconcile

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return reconcile().__dict__
