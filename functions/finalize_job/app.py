"""SQS finalize queue → finalize_job: one reassembly step of a job that asked for Reassemble."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from transform_jobs.jobs.step_queue import step_handler
from transform_jobs.preparation.reassembly import finalize, give_up
from transform_jobs.settings import Required, Settings, load


class FinalizeJobSettings(Settings):
    """What finalize_job cannot run without; checked at Init (settings.load)."""

    table_name: Required
    finalize_queue_url: Required
    artifacts_bucket: Required


load(FinalizeJobSettings)  # a variable the template lost fails the cold start, naming it

logger = Logger()
handler = logger.inject_lambda_context(step_handler(finalize, give_up))
