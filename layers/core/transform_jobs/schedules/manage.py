"""What the schedules API does: create, read, list, change and delete a team's schedules, and
run one now. Team-scoped: another team's schedule is the same 404 as none.

A schedule is checked as a job would be when it is created or changed: its expression and time
zone, how often it runs, and its template rendered for the next run (the request's rules and the
team's, as POST /v1/jobs checks them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transform_jobs import clock, identifiers
from transform_jobs.access import team_access
from transform_jobs.adapters.dynamodb import schedule_repository as schedules
from transform_jobs.adapters.dynamodb import team_repository
from transform_jobs.adapters.dynamodb.item_size import ITEM_LIMIT_BYTES
from transform_jobs.adapters.dynamodb.paging import paged
from transform_jobs.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound
from transform_jobs.jobs import request_size
from transform_jobs.jobs.submission import new_job
from transform_jobs.models.job import JobResource
from transform_jobs.models.schedule import (
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleUpdate,
    StoredSchedule,
)
from transform_jobs.schedules import expressions, runs
from transform_jobs.settings import get_settings

# A schedule's item stays well under DynamoDB's 400 KB: room is kept for LastRun and LastFailure.
_MAX_STORED_BYTES = ITEM_LIMIT_BYTES - 16 * 1024
_JUST_BEFORE = timedelta(microseconds=1)


def _own(team_id: str, schedule_id: str) -> StoredSchedule:
    found = (
        schedules.get_schedule(team_id, schedule_id) if identifiers.is_job_id(schedule_id) else None
    )
    if found is None:
        raise NotFound(f"No schedule {schedule_id!r} for this team.")
    return found


def _minutes(gap: timedelta) -> str:
    minutes = gap.total_seconds() / get_settings().schedule_minute_seconds
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


def _in_job(problem: DomainError) -> DomainError:
    """The same problem, its fields named as the schedule's body names them (Job.<field>)."""
    errors = [FieldError(f"Job.{error.field}", error.reason) for error in problem.errors]
    return type(problem)(problem.detail, errors or [FieldError("Job", problem.detail)])


def _recurrence(schedule: StoredSchedule) -> expressions.Recurrence:
    try:
        return runs.recurrence(schedule)
    except expressions.InvalidSchedule as invalid:
        raise Invalid(str(invalid), [FieldError(invalid.field, str(invalid))]) from None


def _check_timing(
    schedule: StoredSchedule, rule: expressions.Recurrence, now: datetime
) -> datetime:
    """The schedule's next run, once it is found to run neither too often nor never."""
    settings = get_settings()
    shortest = timedelta(
        seconds=settings.schedule_min_interval_minutes * settings.schedule_minute_seconds
    )
    gap = rule.shortest_gap(anchor=max(schedule.AnchorAt, now))
    if gap < shortest:
        reason = (
            f"runs as often as every {_minutes(gap)}; a schedule may run at most once every "
            f"{_minutes(shortest)}"
        )
        raise Invalid("The schedule runs too often.", [FieldError("ScheduleExpression", reason)])
    found = runs.next_run(schedule.model_copy(update={"Enabled": True}), rule, now)
    if found is None:
        if schedule.EndAt is not None and schedule.EndAt <= now:
            field, reason = "EndAt", "is in the past; move it later or leave it out"
        else:
            field, reason = "ScheduleExpression", "names no time from now on; fix its fields"
        raise Invalid("The schedule would never run.", [FieldError(field, reason)])
    return found


def _check_job(schedule: StoredSchedule, when: datetime) -> None:
    """The template rendered for `when`, checked as POST /v1/jobs checks a job."""
    try:
        request = runs.request_for(schedule, when)
    except runs.RunRefused as refused:
        raise Invalid(
            "The schedule's Job does not make a valid job request.", refused.errors
        ) from None
    if schedules.stored_bytes(schedule) > _MAX_STORED_BYTES:
        raise Invalid(
            "The schedule is too large to store.",
            [
                FieldError(
                    "Job",
                    f"makes the schedule larger than {_MAX_STORED_BYTES:,} bytes with its "
                    "placeholders; shorten its fields",
                )
            ],
        )
    team = team_repository.get_team(schedule.TeamId)
    if team is None:
        raise Forbidden(f"Team {schedule.TeamId!r} is not registered with the service.")
    try:
        team_access.check_request(team, request)
        request_size.check(new_job(schedule.TeamId, request), idempotency_key=False)
    except DomainError as problem:
        raise _in_job(problem) from None


def create(team_id: str, body: ScheduleCreate) -> Schedule:
    now = clock.now().replace(microsecond=0)  # a rate's times fall on whole seconds
    schedule = StoredSchedule(
        ScheduleId=identifiers.new_job_id(),
        TeamId=team_id,
        Name=body.Name,
        ScheduleExpression=body.ScheduleExpression,
        Timezone=body.Timezone,
        Job=body.Job,
        Enabled=body.Enabled,
        StartAt=body.StartAt,
        EndAt=body.EndAt,
        CreatedAt=now,
        UpdatedAt=now,
        AnchorAt=body.StartAt or now,
    )
    # As EventBridge Scheduler: a rate without StartAt first runs at once, then every interval.
    first = _check_timing(schedule, _recurrence(schedule), now - _JUST_BEFORE)
    _check_job(schedule, first)
    schedule.NextRunAt = first if schedule.Enabled else None
    limit = get_settings().schedule_limit
    try:
        schedules.create(schedule, team_limit=limit)
    except schedules.TooManySchedules:
        raise Conflict(
            f"The team has {limit} schedules, as many as it may; delete one it no longer needs."
        ) from None
    except schedules.NameTaken as taken:
        raise Conflict(
            f"The team has a schedule named {body.Name!r} already: {taken.schedule_id}.",
            [FieldError("Name", "is taken in this team; choose another, or change that one")],
        ) from None
    return schedule.public()


def get(team_id: str, schedule_id: str) -> Schedule:
    return _own(team_id, schedule_id).public()


def page(team_id: str, *, limit: int, token: str | None) -> SchedulePage:
    found, next_token = paged(lambda: schedules.list_schedules(team_id, limit=limit, token=token))
    return SchedulePage(Schedules=[schedule.public() for schedule in found], NextToken=next_token)


# What decides when a schedule runs; its job is checked again when these or Job change, or when
# it is enabled. Pausing it never is refused (not even when its job could no longer start).
_TIMING = {"ScheduleExpression", "Timezone", "StartAt", "EndAt"}


def update(team_id: str, schedule_id: str, change: ScheduleUpdate) -> Schedule:
    _own(team_id, schedule_id)
    changes = {name: getattr(change, name) for name in change.model_fields_set}

    def decide(current: StoredSchedule) -> StoredSchedule:
        now = clock.now().replace(microsecond=0)
        changed = {name for name, value in changes.items() if getattr(current, name) != value}
        for name in changed:
            setattr(current, name, changes[name])
        if changed & {"ScheduleExpression", "StartAt"}:
            current.AnchorAt = current.StartAt or now
        if current.StartAt and current.EndAt and current.EndAt <= current.StartAt:
            field = "StartAt" if "StartAt" in changed else "EndAt"
            raise Invalid(
                "The schedule would end before it starts.",
                [
                    FieldError(
                        field,
                        "must come before EndAt"
                        if field == "StartAt"
                        else "must come after StartAt",
                    )
                ],
            )
        due = current.NextRunAt
        if changed & (_TIMING | {"Job"}) or (current.Enabled and "Enabled" in changed):
            # A due time not yet swept keeps its run: the next run is looked for from there.
            after = due - _JUST_BEFORE if due is not None and due <= now else now
            rule = _recurrence(current)
            following = _check_timing(current, rule, after) if current.Enabled else None
            _check_job(current, following or now)
            current.NextRunAt, current.RunningFor = following, None
        elif "Enabled" in changed:  # paused
            current.NextRunAt, current.RunningFor = None, None
        current.UpdatedAt = now
        return current

    try:
        updated = schedules.update(team_id, schedule_id, decide)
    except schedules.ScheduleConflict:
        raise Conflict("The schedule kept changing while this change was made; retry.") from None
    if updated is None:
        raise NotFound(f"No schedule {schedule_id!r} for this team.")
    return updated.public()


def delete(team_id: str, schedule_id: str) -> None:
    schedule = _own(team_id, schedule_id)
    if not schedules.delete(schedule):
        raise NotFound(f"No schedule {schedule_id!r} for this team.")


def run_now(team_id: str, schedule_id: str, scheduled_time: datetime | None) -> JobResource:
    """One job for the schedule at `scheduled_time` (default now, to the second), whether or not
    the schedule is enabled; 409 if that time has its job already."""
    schedule = _own(team_id, schedule_id)
    when = (scheduled_time or clock.now().replace(microsecond=0)).astimezone(UTC)
    try:
        job, made = runs.start(schedule, when)
    except runs.RunRefused as refused:
        if refused.problem is not None:
            raise _in_job(refused.problem) from None
        raise Invalid(
            "The schedule's Job does not make a job that can start.", refused.errors
        ) from None
    if not made:
        raise Conflict(
            f"The run at {clock.to_iso(when)} has its job already: {job.JobId}. Name another "
            "ScheduledTime for another run."
        )
    return job
