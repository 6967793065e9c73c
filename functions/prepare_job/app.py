"""SQS prepare queue → prepare_job: one preparation step of a job with InputPreparation."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from transform_jobs.jobs.step_queue import step_handler
from transform_jobs.preparation.prepare import give_up, prepare
from transform_jobs.settings import Required, Settings, load


class PrepareJobSettings(Settings):
    """What prepare_job cannot run without; checked at Init (settings.load)."""

    table_name: Required
    launch_queue_url: Required
    prepare_queue_url: Required
    artifacts_bucket: Required


load(PrepareJobSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
handler = logger.inject_lambda_context(step_handler(prepare, give_up))
