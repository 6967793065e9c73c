"""SQS finalize queue → finalize_job: one reassembly step of a job that asked for Reassemble."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from transform_jobs.jobs.step_queue import step_handler
from transform_jobs.preparation.reassembly import finalize, give_up

logger = Logger()
handler = logger.inject_lambda_context(step_handler(finalize, give_up))
