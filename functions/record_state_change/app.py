"""EventBridge "SageMaker Transform Job State Change" → the job's status and history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.jobs.state_changes import SageMakerReport, apply
from transform_jobs.models.sagemaker_event import TransformJobStateChange
from transform_jobs.settings import Required, Settings, load


class RecordStateChangeSettings(Settings):
    """What record_state_change cannot run without; checked at Init (settings.load)."""

    table_name: Required
    finalize_queue_url: Required


load(RecordStateChangeSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A malformed event raises here: Lambda retries it, then the rule's dead-letter queue keeps it.
    report = SageMakerReport.of_event(TransformJobStateChange.model_validate(event))
    changed = apply(report)
    logger.info(
        "State change",
        job_name=report.job_name,
        sagemaker_status=report.status,
        applied=changed is not None,
    )
    metrics.add_metric(
        name="StateChangesApplied" if changed else "StateChangesIgnored",
        unit=MetricUnit.Count,
        value=1,
    )
    return {"applied": changed is not None, "status": changed.Status if changed else None}
