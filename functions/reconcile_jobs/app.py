"""Schedule → reconcile_jobs: repair jobs whose events or launch messages went missing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.jobs.reconcile import reconcile
from transform_jobs.settings import Required, Settings, load


class ReconcileJobsSettings(Settings):
    """What reconcile_jobs cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required
    prepare_queue_url: Required
    finalize_queue_url: Required


load(ReconcileJobsSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return reconcile().__dict__
