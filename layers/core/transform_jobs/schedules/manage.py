"""What the schedules API does: create, read, list, change and delete a team's schedules, and
run one now. Team-scoped: another team's schedule is the same 404 as none.

A schedule is checked as a job would be when it is created or changed: its expression and time
zone, how often it runs, and its template rendered for the next run (the request's rules and the
team's, as POST /v1/jobs checks them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from transform_jobs import clock, identifiers, repository, request_size, team_access
from transform_jobs.models.job import JobResource
from transform_jobs.models.schedule import (
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleUpdate,
    StoredSchedule,
)
from transform_jobs.paging import paged
from transform_jobs.problems import Conflict, FieldError, Forbidden, InvalidRequest, NotFound
from transform_jobs.schedules import expressions, runs
from transform_jobs.schedules import repository as schedules
from transform_jobs.settings import get_settings
from transform_jobs.submission import new_job


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


def _checked(schedule: StoredSchedule) -> expressions.Recurrence:
    """The schedule's recurrence, once everything that decides its runs is found sound;
    InvalidRequest (or Forbidden, for what the team may not use) otherwise."""
    try:
        rule = runs.recurrence(schedule)
    except expressions.InvalidSchedule as invalid:
        raise InvalidRequest(str(invalid), [FieldError(invalid.field, str(invalid))]) from None
    settings = get_settings()
    shortest = timedelta(
        seconds=settings.schedule_min_interval_minutes * settings.schedule_minute_seconds
    )
    gap = rule.shortest_gap(anchor=schedule.AnchorAt)
    if gap < shortest:
        reason = (
            f"runs as often as every {_minutes(gap)}; a schedule may run at most once every "
            f"{_minutes(shortest)}"
        )
        raise InvalidRequest(
            "The schedule runs too often.", [FieldError("ScheduleExpression", reason)]
        )
    when = runs.next_run(schedule, rule, clock.now()) or schedule.StartAt or clock.now()
    try:
        request = runs.request_for(schedule, when)
    except runs.RunRefused as refused:
        raise InvalidRequest(
            "The schedule's Job does not make a valid job request.", refused.errors
        ) from None
    team = repository.get_team(schedule.TeamId)
    if team is None:
        raise Forbidden(f"Team {schedule.TeamId!r} is not registered with the service.")
    team_access.check_request(team, request)
    request_size.check(new_job(schedule.TeamId, request), idempotency_key=False)
    return rule


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
    rule = _checked(schedule)
    schedule.NextRunAt = runs.next_run(schedule, rule, now)
    limit = get_settings().schedule_limit
    try:
        schedules.create(schedule, team_limit=limit)
    except schedules.TooManySchedules:
        raise Conflict(
            f"The team has {limit} schedules, as many as it may; delete one it no longer needs."
        ) from None
    return schedule.public()


def get(team_id: str, schedule_id: str) -> Schedule:
    return _own(team_id, schedule_id).public()


def page(team_id: str, *, limit: int, token: str | None) -> SchedulePage:
    found, next_token = paged(lambda: schedules.list_schedules(team_id, limit=limit, token=token))
    return SchedulePage(Schedules=[schedule.public() for schedule in found], NextToken=next_token)


# Changing any of these re-checks the schedule and sets its next run anew.
_TIMING = {"ScheduleExpression", "Timezone", "StartAt", "EndAt", "Enabled"}


def update(team_id: str, schedule_id: str, change: ScheduleUpdate) -> Schedule:
    _own(team_id, schedule_id)
    changed_fields = change.model_fields_set

    def decide(current: StoredSchedule) -> StoredSchedule:
        now = clock.now().replace(microsecond=0)
        for name in changed_fields:
            setattr(current, name, getattr(change, name))
        if changed_fields & {"ScheduleExpression", "StartAt"}:
            current.AnchorAt = current.StartAt or now
        if current.StartAt and current.EndAt and current.EndAt <= current.StartAt:
            raise InvalidRequest(
                "The schedule would end before it starts.",
                [FieldError("EndAt", "must come after StartAt")],
            )
        rule = _checked(current)
        if changed_fields & _TIMING:
            current.NextRunAt = runs.next_run(current, rule, now)
        current.UpdatedAt = now
        return current

    updated = schedules.update(team_id, schedule_id, decide)
    if updated is None:
        raise NotFound(f"No schedule {schedule_id!r} for this team.")
    return updated.public()


def delete(team_id: str, schedule_id: str) -> None:
    if not identifiers.is_job_id(schedule_id) or not schedules.delete(team_id, schedule_id):
        raise NotFound(f"No schedule {schedule_id!r} for this team.")


def run_now(team_id: str, schedule_id: str, scheduled_time: datetime | None) -> JobResource:
    """One job for the schedule at `scheduled_time` (default now, to the second), whether or not
    the schedule is enabled; 409 if that time has its job already."""
    schedule = _own(team_id, schedule_id)
    when = scheduled_time or clock.now().replace(microsecond=0)
    try:
        job, made = runs.start(schedule, when.astimezone(UTC))
    except runs.RunRefused as refused:
        raise InvalidRequest(
            "The schedule's Job does not make a job that can start.", refused.errors
        ) from None
    if not made:
        raise Conflict(
            f"The run at {clock.to_iso(when)} has its job already: {job.JobId}. Name another "
            "ScheduledTime for another run."
        )
    return job
