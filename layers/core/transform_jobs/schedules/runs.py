"""A schedule's runs: the job for one due time, and the sweep that starts every due run.

Exactly once per schedule and time: the job's id is derived from both, and the job is stored
only if no job has that id. The sweep then moves the schedule's NextRunAt on, conditional on the
version it read; a sweep that dies in between leaves NextRunAt where it was, and the next sweep
finds the job already made. Of several times missed while the service was down, the latest runs
once on recovery and the earlier ones are counted as skipped.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from transform_jobs.adapters.dynamodb import schedule_repository as schedules
from transform_jobs.errors import DomainError, FieldError
from transform_jobs.field_errors import field_errors
from transform_jobs.jobs import submission
from transform_jobs.launch import preflight
from transform_jobs.models.job import JobResource
from transform_jobs.models.request import JobRequest
from transform_jobs.models.schedule import ScheduleFailure, ScheduleRun, StoredSchedule
from transform_jobs.schedules import expressions, templates
from transform_jobs.settings import get_settings

logger = Logger(child=True)

# How many missed times a sweep steps over to find the latest (a rate of 5 minutes, down for
# a month, is about 9,000); past that, it runs the last one it reached.
_MAX_STEPS = 20_000
# What a refusal keeps (on the schedule and in schedule.failed): enough to act on, bounded.
_MAX_ERRORS, _MAX_REASON = 20, 2000
# Due schedules a sweep runs side by side.
_SIDE_BY_SIDE = 8


class RunRefused(Exception):
    """No job can be made for this run: what is wrong, by field (and the API's problem, when
    the team's rules or the request's size refused it)."""

    def __init__(self, errors: list[FieldError], problem: DomainError | None = None) -> None:
        self.problem = problem
        self.errors = errors[:_MAX_ERRORS]
        reason = "; ".join(f"{error.field}: {error.reason}" for error in self.errors)
        super().__init__(reason[:_MAX_REASON] + ("…" if len(reason) > _MAX_REASON else ""))


def recurrence(schedule: StoredSchedule) -> expressions.Recurrence:
    return expressions.parse(
        schedule.ScheduleExpression,
        schedule.Timezone,
        minute_seconds=get_settings().schedule_minute_seconds,
    )


def next_run(
    schedule: StoredSchedule, rule: expressions.Recurrence, after: datetime
) -> datetime | None:
    """The schedule's first time after `after`, within StartAt and EndAt; None if disabled."""
    if not schedule.Enabled:
        return None
    if schedule.StartAt is not None:
        after = max(after, schedule.StartAt - timedelta(microseconds=1))
    found = rule.next_after(after, anchor=schedule.AnchorAt)
    if found is None or (schedule.EndAt is not None and found > schedule.EndAt):
        return None
    return found


def request_for(schedule: StoredSchedule, scheduled: datetime) -> JobRequest:
    """The job request of the run at `scheduled`; RunRefused if the template makes none."""
    errors = templates.problems(schedule.Job)
    if errors:
        raise RunRefused(errors)
    rendered = templates.render(schedule.Job, scheduled, ZoneInfo(schedule.Timezone))
    try:
        return JobRequest.model_validate(rendered)
    except ValidationError as invalid:
        raise RunRefused(
            field_errors(
                [{**error, "loc": ("body", "Job", *error["loc"])} for error in invalid.errors()]
            )
        ) from None


def start(schedule: StoredSchedule, scheduled: datetime) -> tuple[JobResource, bool]:
    """The job of the run at `scheduled`, and whether this call made it (False: it existed).
    RunRefused when the template, the team's rules or the model stand in the way."""
    # A run whose job exists is done, whatever has changed since (the model, the team's rules).
    existing = submission.scheduled_job(schedule.ScheduleId, scheduled)
    if existing is not None:
        return existing, False
    request = request_for(schedule, scheduled)
    try:
        preflight.check_model(request.ModelName)
        return submission.submit_scheduled(schedule.TeamId, request, schedule.ScheduleId, scheduled)
    except preflight.PreflightFailed as failure:
        raise RunRefused([FieldError(f"Job.{failure.field}", str(failure))]) from None
    except DomainError as problem:
        errors = [FieldError(f"Job.{e.field}", e.reason) for e in problem.errors]
        raise RunRefused(errors or [FieldError("Job", problem.detail)], problem) from None


@dataclass
class SweepResult:
    started: int = 0
    failed: int = 0
    errors: int = 0
    job_ids: list[str] = field(default_factory=list)


def run_due(now: datetime) -> SweepResult:
    """Starts the run of every schedule that is due at `now` (run_schedules, every minute),
    several schedules at a time: each run waits on DynamoDB, SageMaker and SQS in turn."""
    result = SweepResult()
    with ThreadPoolExecutor(_SIDE_BY_SIDE) as pool:
        outcomes = [(due, pool.submit(_run_one, due, now)) for due in schedules.due(now)]
        for due, outcome in outcomes:
            try:
                made = outcome.result()
            except Exception:  # one schedule's trouble must not hold up the others: next sweep
                logger.exception("Schedule not run", schedule_id=due.schedule_id)
                result.errors += 1
                continue
            if isinstance(made, RunRefused):
                result.failed += 1
            elif made is not None:
                result.started += 1
                result.job_ids.append(made)
    return result


def _latest_due(
    schedule: StoredSchedule, rule: expressions.Recurrence, first: datetime, now: datetime
) -> tuple[datetime, int]:
    """The latest due time from `first` on and not after `now`, and how many earlier due times
    it steps over."""
    if schedule.ScheduleExpression.startswith("rate("):
        # A rate's times are evenly spaced: the latest is the first after one interval ago.
        interval = rule.shortest_gap(anchor=schedule.AnchorAt)
        bound = now if schedule.EndAt is None else min(now, schedule.EndAt)
        latest = rule.next_after(max(first, bound - interval), anchor=schedule.AnchorAt)
        if latest is None or latest > bound:
            latest = first
        return latest, round((latest - first) / interval)
    latest, skipped = first, 0
    for _ in range(_MAX_STEPS):
        following = rule.next_after(latest, anchor=schedule.AnchorAt)
        if following is None or following > now:
            break
        if schedule.EndAt is not None and following > schedule.EndAt:
            break
        latest, skipped = following, skipped + 1
    return latest, skipped


def _claim(schedule: StoredSchedule, latest: datetime) -> datetime | None:
    """The time this run stands for. The first sweep to reach a due schedule fixes it on the
    schedule (RunningFor), so a sweep that overlaps it, whose clock reads a later latest due
    time, runs the same one; None if the schedule moved on meanwhile."""
    seen = schedule.NextRunAt
    if schedule.RunningFor is not None:
        return schedule.RunningFor

    def claim(current: StoredSchedule) -> StoredSchedule | None:
        if current.NextRunAt != seen or current.RunningFor is not None:
            return None
        current.RunningFor = latest
        return current

    if schedules.update(schedule.TeamId, schedule.ScheduleId, claim) is not None:
        return latest
    fresh = schedules.get_schedule(schedule.TeamId, schedule.ScheduleId)
    if fresh is None or fresh.NextRunAt != seen:
        return None
    return fresh.RunningFor


def _run_one(due: schedules.DueSchedule, now: datetime) -> str | RunRefused | None:
    """Runs one due schedule: the id of the job it made, the refusal, or None (nothing made)."""
    schedule = schedules.get_schedule(due.team_id, due.schedule_id)
    if schedule is None or schedule.NextRunAt is None or schedule.NextRunAt > now:
        return None  # deleted, disabled or moved on since the index was read
    seen = schedule.NextRunAt
    run: ScheduleRun | None = None
    failure: ScheduleFailure | None = None
    outcome: str | RunRefused | None = None
    scheduled = seen
    try:
        try:
            rule = recurrence(schedule)
        except expressions.InvalidSchedule as invalid:  # stored under rules since tightened
            raise RunRefused([FieldError(invalid.field, str(invalid))]) from None
        claimed = _claim(schedule, _latest_due(schedule, rule, seen, now)[0])
        if claimed is None:
            return None
        scheduled, skipped = _latest_due(schedule, rule, seen, claimed)
        job, made = start(schedule, scheduled)
    except RunRefused as refused:
        failure = ScheduleFailure(ScheduledTime=scheduled, Reason=str(refused), FailedAt=now)
        schedules.record_failure(
            schedules.Failure(
                team_id=schedule.TeamId,
                schedule_id=schedule.ScheduleId,
                schedule_name=schedule.Name,
                scheduled_time=scheduled,
                reason=str(refused),
                errors=[error.as_dict() for error in refused.errors],
                at=now,
            )
        )
        outcome = refused
        logger.warning("Schedule run refused", schedule_id=schedule.ScheduleId, reason=str(refused))
    else:
        run = ScheduleRun(
            ScheduledTime=scheduled, JobId=job.JobId, StartedAt=job.CreatedAt, Skipped=skipped
        )
        outcome = job.JobId if made else None

    def advance(current: StoredSchedule) -> StoredSchedule | None:
        if current.NextRunAt != seen:
            return None  # another sweep, or a PATCH, moved it already
        try:
            current.NextRunAt = next_run(current, recurrence(current), max(scheduled, now))
        except expressions.InvalidSchedule:
            current.NextRunAt = None  # its LastFailure says why; a PATCH that fixes it resumes it
        current.RunningFor = None
        current.LastRun = run or current.LastRun
        current.LastFailure = failure or current.LastFailure
        return current

    schedules.update(schedule.TeamId, schedule.ScheduleId, advance)
    return outcome
