"""Launching Queued jobs, oldest first, as running-job slots free up (dispatch_jobs, scheduled).

The counts read here are advisory: launch_job takes the slot atomically, so a job handed over
when the slot was just taken simply stays Queued.
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import queue_gateway
from transform_jobs.adapters.dynamodb import job_repository, team_repository
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.team import Team
from transform_jobs.settings import get_settings

logger = Logger(child=True)


def dispatch() -> int:
    """Hand as many Queued jobs to the launcher as there are free slots; returns how many."""
    free = get_settings().service_max_running_jobs - job_repository.running_count()
    handed = 0
    teams: dict[str, Team | None] = {}
    team_free: dict[str, int] = {}
    stale = clock.now() - timedelta(seconds=get_settings().reconcile_after_seconds)
    for job in job_repository.active_jobs(JobStatus.QUEUED):
        if job.HoldsCapacity:
            # A launch took a slot and then went quiet: hand it over again, but only once it has
            # been quiet for a while (it may still be running).
            if job.UpdatedAt < stale:
                queue_gateway.send_launch(job.JobId)
            continue
        if handed >= free:
            break
        if job.TeamId not in teams:
            team = teams[job.TeamId] = team_repository.get_team(job.TeamId)
            if team is not None:
                team_free[job.TeamId] = team.MaxRunningJobs - job_repository.running_count(
                    job.TeamId
                )
        if team_free.get(job.TeamId, 0) <= 0:
            continue
        queue_gateway.send_launch(job.JobId)
        team_free[job.TeamId] -= 1
        handed += 1
    logger.info("Dispatched queued jobs", handed=handed, free_slots=max(free, 0))
    return handed
