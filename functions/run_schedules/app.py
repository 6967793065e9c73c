"""Schedule → run_schedules: every minute, start one job for each schedule whose run is due
(exactly once per schedule and time), and record those that cannot start."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs import clock
from transform_jobs.schedules.runs import run_due
from transform_jobs.settings import Required, Settings, load


class RunSchedulesSettings(Settings):
    """What run_schedules cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required


load(RunSchedulesSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    result = run_due(clock.now())
    logger.info("Due schedules run", started=result.started, failed=result.failed)
    metrics.add_metric(name="ScheduledJobsStarted", unit=MetricUnit.Count, value=result.started)
    metrics.add_metric(name="ScheduleRunsRefused", unit=MetricUnit.Count, value=result.failed)
    # Schedules left to the next sweep by an unexpected error (their logs say which).
    metrics.add_metric(name="ScheduleRunErrors", unit=MetricUnit.Count, value=result.errors)
    return {"started": result.started, "failed": result.failed, "errors": result.errors}
