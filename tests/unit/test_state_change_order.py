"""SageMaker's state-change events, delivered at least once and in any order, end a job where the
same events delivered once each in their true order end it: the same job, the same history.

Events are built from the EventBridge samples under events/, parsed with record_state_change's
parser model and turned into reports as the handler turns them, then applied with
state_changes.decide to jobs held in memory (no table), under a clock that stands still.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_event
from tests.support.examples import examples
from transform_jobs import clock
from transform_jobs.jobs import cancel
from transform_jobs.jobs.state_changes import SageMakerReport, decide
from transform_jobs.models.job import Job, JobProgress, JobResource, PreparationState
from transform_jobs.models.job_status import JobStatus, SageMakerStatus
from transform_jobs.models.job_update import HistoryEntry
from transform_jobs.models.request import JobRequest
from transform_jobs.models.sagemaker_event import TransformJobStateChange

JOB_ID = "01hzzzzzzzzzzzzzzzzzzzzzzz"
JOB_NAME = f"tj-dev-{JOB_ID}"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB_NAME}"
SUBMITTED_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LAUNCHED_AT = datetime(2026, 11, 25, 12, 1, tzinfo=UTC)
# Every change stamps clock.now(): standing still, it stamps the same in both deliveries.
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

# SageMaker's lives, each status reported by one event, in the order SageMaker passes them.
LIVES = {
    SageMakerStatus.COMPLETED: (SageMakerStatus.IN_PROGRESS, SageMakerStatus.COMPLETED),
    SageMakerStatus.FAILED: (SageMakerStatus.IN_PROGRESS, SageMakerStatus.FAILED),
    SageMakerStatus.STOPPED: (
        SageMakerStatus.IN_PROGRESS,
        SageMakerStatus.STOPPING,
        SageMakerStatus.STOPPED,
    ),
}
# The sample each status's event starts from (the ended ones carry TransformEndTime).
SAMPLES = {
    status: load_event(f"eventbridge_transform_{name}.json")
    for status, name in [
        (SageMakerStatus.IN_PROGRESS, "in_progress"),
        (SageMakerStatus.STOPPING, "in_progress"),
        (SageMakerStatus.COMPLETED, "completed"),
        (SageMakerStatus.STOPPED, "completed"),
        (SageMakerStatus.FAILED, "failed"),
    ]
}
ENDED = (SageMakerStatus.COMPLETED, SageMakerStatus.FAILED, SageMakerStatus.STOPPED)


@pytest.fixture(scope="module", autouse=True)
def clock_standing_still() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: NOW)
        yield


# --- the job as launch leaves it ---------------------------------------------------------------


@dataclass(frozen=True)
class Life:
    """One job's life: how it was launched, whether its team cancelled, how SageMaker ended it."""

    end: SageMakerStatus
    reassembles: bool
    cancelled: bool
    # InProgress when launch recorded the launch; otherwise the status a launch left the job in
    # when SageMaker accepted the job but the launcher's own write was lost.
    launched_from: JobStatus
    transform_started: datetime
    transform_ended: datetime
    failure_reason: str | None

    @property
    def statuses(self) -> tuple[SageMakerStatus, ...]:
        return LIVES[self.end]

    @property
    def final_status(self) -> JobStatus:
        if self.end is SageMakerStatus.COMPLETED and self.reassembles:
            # The team's cancel wins over reassembly that has not started.
            return JobStatus.STOPPED if self.cancelled else JobStatus.FINALIZING
        return JobStatus(self.end.value)


def request(*, reassembles: bool) -> JobRequest:
    body: dict[str, Any] = json.loads(load_event("api_submit_job.json")["body"])
    if reassembles:
        body.pop("DataProcessing")  # reassembly joins the rows itself
        body["InputPreparation"] = {"Header": "Present", "Reassemble": True}
    return JobRequest.model_validate(body)


REQUESTS = {reassembles: request(reassembles=reassembles) for reassembles in (False, True)}


def launched_job(life: Life) -> Job:
    """The job as launch leaves it (holding a slot), then cancelled by its team if the life says
    so, before any event arrives: cancel's own decision, as cancel.cancel applies it."""
    job = Job(
        JobId=JOB_ID,
        TeamId="team-a",
        Status=life.launched_from,
        CreatedAt=SUBMITTED_AT,
        UpdatedAt=LAUNCHED_AT,
        SageMakerJobName=JOB_NAME,
        Request=REQUESTS[life.reassembles].model_copy(deep=True),
        HoldsCapacity=True,
        Progress=JobProgress(InputObjects=3, OutputObjects=0),
    )
    if life.reassembles:
        job.Preparation = PreparationState(
            HeaderPresent=True, PlanKey=f"plans/{JOB_ID}.json", ShardsWritten=5, Done=True
        )
        job.Progress = JobProgress(InputObjects=3, RowsRead=900, ShardsWritten=5, ShardsDone=0)
    if life.launched_from is JobStatus.IN_PROGRESS:
        job.StatusReason = "Handed to SageMaker."
        job.StartedAt = LAUNCHED_AT
        job.SageMakerJobArn = JOB_ARN
    if life.cancelled:
        update = cancel._decide(job)
        assert update is not None and update.job.Status is JobStatus.STOPPING
        job = update.job
    return job


# --- SageMaker's events, as EventBridge delivers them -------------------------------------------


def timestamp_forms(moment: datetime) -> st.SearchStrategy[object]:
    """The three forms the parser reads: epoch milliseconds as a number and as text, ISO text."""
    millis = round(moment.timestamp() * 1000)
    return st.sampled_from([millis, str(millis), clock.to_iso(moment)])


@st.composite
def sagemaker_event(
    draw: st.DrawFn, life: Life, status: SageMakerStatus, event_id: str, sent: datetime
) -> dict[str, Any]:
    sample = SAMPLES[status]
    # Only top-level fields of the envelope and of detail change: the rest can be shared.
    event = {**sample, "detail": {**sample["detail"]}}
    event["id"] = event_id
    event["time"] = sent.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["resources"] = [JOB_ARN]
    detail = event["detail"]
    detail.update(
        TransformJobName=JOB_NAME,
        TransformJobArn=JOB_ARN,
        TransformJobStatus=status.value,
        CreationTime=draw(timestamp_forms(LAUNCHED_AT)),
        TransformStartTime=draw(timestamp_forms(life.transform_started)),
    )
    detail.pop("TransformEndTime", None)
    detail.pop("FailureReason", None)
    if status in ENDED:
        detail["TransformEndTime"] = draw(timestamp_forms(life.transform_ended))
    if status is SageMakerStatus.FAILED and life.failure_reason is not None:
        detail["FailureReason"] = life.failure_reason
    return event


@st.composite
def lives(draw: st.DrawFn) -> Life:
    reassembles = draw(st.booleans())
    # Where a launch can have created the SageMaker job (launch._LAUNCHABLE): a job with
    # prepared input is launched from Preparing, any job from Queued after a wait for capacity.
    lost_write = [JobStatus.PREPARING if reassembles else JobStatus.VALIDATING, JobStatus.QUEUED]
    started = LAUNCHED_AT + timedelta(milliseconds=draw(st.integers(1, 10**6)))
    return Life(
        end=draw(st.sampled_from(list(LIVES))),
        reassembles=reassembles,
        cancelled=draw(st.booleans()),
        launched_from=draw(st.sampled_from([JobStatus.IN_PROGRESS, *lost_write])),
        transform_started=started,
        transform_ended=started + timedelta(milliseconds=draw(st.integers(1, 10**7))),
        failure_reason=draw(st.sampled_from([None, "ClientError: See job logs", "OOM: killed"])),
    )


@dataclass(frozen=True)
class Delivery:
    life: Life
    in_order: list[dict[str, Any]]  # each event once, in the order SageMaker sent them
    delivered: list[dict[str, Any]]  # what EventBridge delivered: redeliveries, any order

    def __repr__(self) -> str:
        # A failing case reads as the life and the order of delivery, not as pages of JSON.
        def line(events: list[dict[str, Any]]) -> str:
            return ", ".join(
                f"{event['detail']['TransformJobStatus']} {event['id'][:8]}" for event in events
            )

        in_order, delivered = line(self.in_order), line(self.delivered)
        return f"Delivery({self.life!r}, in_order=[{in_order}], delivered=[{delivered}])"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # how Hypothesis prints a failing case


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    life = draw(lives())
    first = draw(st.uuids())
    ids = [uuid.UUID(int=(first.int + n) % 2**128) for n in range(3)]  # distinct, unlike draws
    sent = life.transform_started.replace(microsecond=0)
    in_order = [
        draw(sagemaker_event(life, status, str(ids[n]), sent + timedelta(minutes=n)))
        for n, status in enumerate(life.statuses)
    ]
    redelivered = draw(st.lists(st.sampled_from(in_order), max_size=6))
    delivered = draw(st.permutations(in_order + redelivered))
    return Delivery(life, in_order, delivered)


# --- delivering them ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A history item as written: what GET /v1/jobs/{id}/events lists, and the job as it was
    right after (the webhook's data)."""

    status: JobStatus
    previous: JobStatus | None
    source: str
    reason: str | None
    job: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry, written: Job) -> Written:
        shown = entry.shown(written).model_dump(mode="json")
        return cls(entry.status, entry.previous, entry.source, entry.reason, shown)


@dataclass
class Outcome:
    job: Job
    history: list[Written]
    applied_event_ids: list[str | None]
    slots_released: int


def deliver(job: Job, events: list[dict[str, Any]]) -> Outcome:
    """Each event as record_state_change handles it, one write after another."""
    outcome = Outcome(job, [], [], 0)
    for event in events:
        report = SageMakerReport.of_event(parse(event=event, model=TransformJobStateChange))
        # repository.update_job hands decide a fresh copy and drops it on None.
        update = decide(outcome.job.model_copy(deep=True), report)
        if update is None:
            continue
        assert update.history, "a change the job's history does not show"
        outcome.job = update.job
        outcome.history += [Written.of(entry, update.job) for entry in update.history]
        outcome.applied_event_ids.append(report.event_id)
        outcome.slots_released += update.release_capacity
    return outcome


def stored_state(job: Job) -> dict[str, Any]:
    # SeenEventIds is left out: it remembers which deliveries moved the job, to drop their
    # redeliveries, so it depends on the order of delivery by design (an event that arrives after
    # a later status moved nothing and is not remembered). Version, the table's write counter,
    # is not part of the job and counts writes, not changes.
    return job.model_dump(mode="json", exclude={"SeenEventIds"})


@settings(max_examples=examples(1000), deadline=None)
@given(delivery=deliveries())
def test_events_in_any_order_and_redelivered_end_in_the_job_and_history_of_their_true_order(
    delivery: Delivery,
) -> None:
    life = delivery.life
    start = launched_job(life)

    in_order = deliver(start, delivery.in_order)
    delivered = deliver(start, delivery.delivered)

    # The true order itself: a gapless history from where launch (and cancel) left the job to
    # where SageMaker's life ends it, and the job's slot given back exactly once.
    statuses = [start.Status, *(written.status for written in in_order.history)]
    assert [written.previous for written in in_order.history] == statuses[:-1]
    assert in_order.job.Status is statuses[-1] is life.final_status
    assert in_order.slots_released == 1

    assert JobResource.of(delivered.job) == JobResource.of(in_order.job)
    assert stored_state(delivered.job) == stored_state(in_order.job)
    assert delivered.history == in_order.history
    # Nothing applied twice: no event, no status entered again, no slot given back again.
    assert len(set(delivered.applied_event_ids)) == len(delivered.applied_event_ids)
    assert len({written.status for written in delivered.history}) == len(delivered.history)
    assert delivered.slots_released == 1
