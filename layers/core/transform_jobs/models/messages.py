"""The messages the service's queues carry, and the SQS record that carries each.

The record models are Powertools' BatchProcessor(model=...) models: a body that does not parse
fails its record before any work, as a poison pill should, and goes to the dead-letter queue
after the queue's retries. The envelope holds only the fields used, rather than Powertools'
SqsRecordModel: importing the parser's models builds every event model it ships, a large part
of a function's Init.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Json


class LaunchMessage(BaseModel):
    """launch queue → launch_job: start (or go on starting) this job."""

    JobId: str


class StepMessage(BaseModel):
    """prepare and finalize queues → prepare_job, finalize_job: run this step of the job's
    preparation or reassembly (a step counter makes a repeated message stop early)."""

    JobId: str
    Step: int


class DeliveryMessage(BaseModel):
    """webhook queue → deliver_webhook: the attempt after `AttemptsMade` of this delivery (a
    message that outlived its attempt is dropped)."""

    WebhookId: str
    DeliveryId: str
    AttemptsMade: int | None = None


class _Attributes(BaseModel):
    ApproximateReceiveCount: int


class _QueuedRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messageId: str
    attributes: _Attributes

    @property
    def receive_count(self) -> int:
        """How many times SQS has handed this message out, this time included."""
        return self.attributes.ApproximateReceiveCount


class LaunchRecord(_QueuedRecord):
    body: Json[LaunchMessage]


class StepRecord(_QueuedRecord):
    body: Json[StepMessage]


class DeliveryRecord(_QueuedRecord):
    body: Json[DeliveryMessage]
