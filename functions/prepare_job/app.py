"""SQS prepare queue → prepare_job: one preparation step of a job with InputPreparation."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from transform_jobs.jobs.step_queue import step_handler
from transform_jobs.preparation.prepare import give_up, prepare

logger = Logger()
handler = logger.inject_lambda_context(step_handler(prepare, give_up))
