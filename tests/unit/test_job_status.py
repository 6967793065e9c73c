"""The job's life: forward-only moves, SageMaker's statuses, and reports applied in any order."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_event
from tests.support.examples import examples
from transform_jobs.jobs.state_changes import SageMakerReport, decide
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import (
    ACTIVE,
    TERMINAL,
    JobStatus,
    SageMakerStatus,
    from_sagemaker,
    is_forward,
    predecessors,
)
from transform_jobs.models.request import JobRequest

REQUEST = JobRequest.model_validate(json.loads(load_event("api_submit_job.json")["body"]))
JOB_ID = "01hzzzzzzzzzzzzzzzzzzzzzzz"
JOB_NAME = f"tj-dev-{JOB_ID}"
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

NON_TERMINAL = [status for status in JobStatus if status not in TERMINAL]


# --- statuses ----------------------------------------------------------------------------------


def test_terminal_statuses_are_completed_failed_and_stopped() -> None:
    assert {status for status in JobStatus if status.is_terminal} == {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.STOPPED,
    }
    assert set(ACTIVE) == set(NON_TERMINAL)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_status_has_no_successor(terminal: JobStatus) -> None:
    assert [target for target in JobStatus if is_forward(terminal, target)] == []


@pytest.mark.parametrize("target", list(JobStatus))
def test_predecessors_never_contain_a_terminal_status(target: JobStatus) -> None:
    assert not set(predecessors(target)) & TERMINAL


@pytest.mark.parametrize("status", list(JobStatus))
def test_no_status_is_forward_of_itself(status: JobStatus) -> None:
    assert not is_forward(status, status)


def test_forward_is_transitive_and_antisymmetric_on_non_terminal_statuses() -> None:
    for a, b, c in itertools.product(NON_TERMINAL, repeat=3):
        if is_forward(a, b) and is_forward(b, c):
            assert is_forward(a, c), (a, b, c)
        if is_forward(a, b):
            assert not is_forward(b, a), (a, b)


def test_happy_path_moves_forward_step_by_step() -> None:
    path = [
        JobStatus.SUBMITTED,
        JobStatus.VALIDATING,
        JobStatus.PREPARING,
        JobStatus.QUEUED,
        JobStatus.IN_PROGRESS,
        JobStatus.FINALIZING,
        JobStatus.COMPLETED,
    ]
    for current, target in itertools.pairwise(path):
        assert is_forward(current, target)
        assert not is_forward(target, current)
    assert is_forward(JobStatus.IN_PROGRESS, JobStatus.STOPPING)
    assert is_forward(JobStatus.STOPPING, JobStatus.STOPPED)


@pytest.mark.parametrize("status", NON_TERMINAL)
def test_every_non_terminal_status_may_fail_or_stop(status: JobStatus) -> None:
    assert is_forward(status, JobStatus.FAILED)
    assert is_forward(status, JobStatus.STOPPED)


def test_only_in_progress_finalizing_and_stopping_are_launched() -> None:
    assert {status for status in JobStatus if status.is_launched} == {
        JobStatus.IN_PROGRESS,
        JobStatus.FINALIZING,
        JobStatus.STOPPING,
    }


def test_sagemaker_completed_means_finalizing_only_when_the_job_finalizes() -> None:
    assert from_sagemaker(SageMakerStatus.COMPLETED, finalizes=True) is JobStatus.FINALIZING
    assert from_sagemaker(SageMakerStatus.COMPLETED, finalizes=False) is JobStatus.COMPLETED


@pytest.mark.parametrize("finalizes", [False, True])
@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        (SageMakerStatus.IN_PROGRESS, JobStatus.IN_PROGRESS),
        (SageMakerStatus.FAILED, JobStatus.FAILED),
        (SageMakerStatus.STOPPING, JobStatus.STOPPING),
        (SageMakerStatus.STOPPED, JobStatus.STOPPED),
    ],
)
def test_other_sagemaker_statuses_map_to_the_same_name(
    reported: SageMakerStatus, expected: JobStatus, finalizes: bool
) -> None:
    assert from_sagemaker(reported, finalizes=finalizes) is expected


# --- decide ------------------------------------------------------------------------------------


def new_job(status: JobStatus = JobStatus.IN_PROGRESS, **fields: object) -> Job:
    return Job.model_validate(
        {
            "JobId": JOB_ID,
            "TeamId": "team-a",
            "Status": status,
            "CreatedAt": CREATED,
            "UpdatedAt": CREATED,
            "SageMakerJobName": JOB_NAME,
            "Request": REQUEST,
            "HoldsCapacity": True,
            **fields,
        }
    )


def report(
    status: SageMakerStatus, event_id: str | None = None, **fields: object
) -> SageMakerReport:
    return SageMakerReport(
        job_name=JOB_NAME, status=status, source="sagemaker", event_id=event_id, **fields
    )


def test_forward_report_moves_the_job_and_records_the_event() -> None:
    job = new_job()
    ended = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

    update = decide(job, report(SageMakerStatus.COMPLETED, "e1", arn="arn:x", ended_at=ended))

    assert update is not None
    assert update.job.Status is JobStatus.COMPLETED
    assert update.job.SeenEventIds == ["e1"]
    assert update.job.SageMakerJobArn == "arn:x"
    assert update.job.EndedAt == ended
    assert update.job.HoldsCapacity is False
    assert update.release_capacity is True
    (entry,) = update.history
    assert (entry.previous, entry.status) == (JobStatus.IN_PROGRESS, JobStatus.COMPLETED)
    assert entry.source == "sagemaker"


def test_duplicate_event_id_is_a_no_op() -> None:
    job = new_job(JobStatus.QUEUED, SeenEventIds=["e1"])

    assert decide(job, report(SageMakerStatus.IN_PROGRESS, "e1")) is None
    assert job.Status is JobStatus.QUEUED


def test_stale_report_after_the_end_is_a_no_op() -> None:
    job = new_job(JobStatus.COMPLETED)

    assert decide(job, report(SageMakerStatus.IN_PROGRESS, "late")) is None
    assert decide(job, report(SageMakerStatus.FAILED, "later")) is None
    assert job.Status is JobStatus.COMPLETED
    assert job.SeenEventIds == []


def test_failure_reason_is_kept_and_attributed_to_sagemaker() -> None:
    update = decide(new_job(), report(SageMakerStatus.FAILED, "e", failure_reason="OOM"))

    assert update is not None
    assert update.job.StatusReason == "SageMaker: OOM"


@pytest.mark.parametrize(
    ("cancel_requested", "reason"),
    [(True, "Stopped on the team's request."), (False, "Stopped outside the service.")],
)
def test_stopped_reason_says_who_stopped_the_job(cancel_requested: bool, reason: str) -> None:
    job = new_job(CancelRequested=cancel_requested)

    update = decide(job, report(SageMakerStatus.STOPPED, "e"))

    assert update is not None
    assert update.job.StatusReason == reason


def test_completion_counts_every_input_object_as_output() -> None:
    job = new_job(Progress={"InputObjects": 7, "OutputObjects": 3})

    update = decide(job, report(SageMakerStatus.COMPLETED, "e"))

    assert update is not None
    assert update.job.Progress.OutputObjects == 7


# --- property: one job life, delivered at least once, in any order ----------------------------

LIVES = {
    SageMakerStatus.COMPLETED: (SageMakerStatus.IN_PROGRESS, SageMakerStatus.COMPLETED),
    SageMakerStatus.FAILED: (SageMakerStatus.IN_PROGRESS, SageMakerStatus.FAILED),
    SageMakerStatus.STOPPED: (
        SageMakerStatus.IN_PROGRESS,
        SageMakerStatus.STOPPING,
        SageMakerStatus.STOPPED,
    ),
}
# Our own reading of the life in the module docstring (finalizes is False in this version).
_ORDER = {
    JobStatus.QUEUED: 0,
    JobStatus.IN_PROGRESS: 1,
    JobStatus.STOPPING: 2,
    JobStatus.COMPLETED: 3,
    JobStatus.FAILED: 3,
    JobStatus.STOPPED: 3,
}


def expected_forward_steps(start: JobStatus, deliveries: list[SageMakerReport]) -> int:
    """Distinct reports (first delivery of each event id) that rise above everything before."""
    seen: set[str | None] = set()
    level, steps = _ORDER[start], 0
    for delivery in deliveries:
        if delivery.event_id in seen:
            continue
        seen.add(delivery.event_id)
        rank = _ORDER[JobStatus(delivery.status.value)]
        if rank > level:
            level, steps = rank, steps + 1
    return steps


@st.composite
def job_lives(draw: st.DrawFn) -> tuple[JobStatus, SageMakerStatus, list[SageMakerReport]]:
    end = draw(st.sampled_from(list(LIVES)))
    reports = [report(status, f"event-{n}") for n, status in enumerate(LIVES[end])]
    duplicates = draw(st.lists(st.sampled_from(reports), max_size=6))
    deliveries = draw(st.permutations(reports + duplicates))
    start = draw(st.sampled_from([JobStatus.QUEUED, JobStatus.IN_PROGRESS]))
    return start, end, deliveries


@settings(max_examples=examples(200), deadline=None)
@given(life=job_lives())
def test_reports_in_any_order_and_repeated_end_in_the_same_status_applied_once_each(
    life: tuple[JobStatus, SageMakerStatus, list[SageMakerReport]],
) -> None:
    start, end, deliveries = life
    job = new_job(start)
    applied: list[str | None] = []
    releases = 0

    for delivery in deliveries:
        before = job.Status
        update = decide(job, delivery)
        if update is None:
            assert job.Status is before
            continue
        assert is_forward(before, update.job.Status)
        # Statuses SageMaker passed through on the way are entries of the same update.
        statuses = [before, *(entry.status for entry in update.history)]
        assert [entry.previous for entry in update.history] == statuses[:-1]
        assert statuses[-1] is update.job.Status
        applied.append(delivery.event_id)
        releases += update.release_capacity
        job = update.job

    assert job.Status is JobStatus(end.value)
    assert len(applied) == len(set(applied)) <= len(LIVES[end])
    assert len(applied) == expected_forward_steps(start, deliveries)
    assert job.SeenEventIds == applied
    assert releases == 1
    assert job.HoldsCapacity is False
