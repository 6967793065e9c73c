"""The handler of a resumable step's queue (prepare_job, finalize_job).

Powertools' batch utility must be imported before pydantic: when pydantic is already loaded,
batch.types imports every model of the parser (tests/build/test_import_graphs.py watches for
it). A function that uses this module imports it before anything that loads pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from transform_jobs.jobs.steps import run_step
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.messages import StepRecord
from transform_jobs.settings import get_settings


def step_handler(
    step: Callable[..., JobStatus | None], give_up: Callable[[str, Exception], JobStatus]
) -> Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]:
    """The handler of a resumable step's queue (prepare_job, finalize_job): each message runs
    `step(job_id, step, deadline=...)` until its deadline; the step checkpoints and queues its
    own continuation."""
    # Powertools types `model` as its own parser models; ours is the same shape (models.messages).
    processor = BatchProcessor(event_type=EventType.SQS, model=StepRecord)  # type: ignore[arg-type]

    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        def record_handler(record: StepRecord) -> None:
            message = record.body
            run_step(
                record,
                context,
                lambda until: step(message.JobId, message.Step, deadline=until),
                give_up,
                max_receives=get_settings().step_max_receives,
            )

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler
