"""Launching Queued jobs, oldest first, as running-job slots free up (dispatch_jobs, scheduled).

The counts read here are advisory: launch_job takes the slot atomically, so a job handed over
when the slot was just taken simply stays Queued.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from transform_jobs import queue_gateway, repository
from transform_jobs.job_status import JobStatus
from transform_jobs.models.team import Team
from transform_jobs.settings import get_settings

logger = Logger(child=True)


def dispatch() -> int:
    """Hand as many Queued jobs to the launcher as there are free slots; returns how many."""
    free = get_settings().service_max_running_jobs - repository.running_count()
    handed = 0
    teams: dict[str, Team | None] = {}
    team_free: dict[str, int] = {}
    for job in repository.active_jobs(JobStatus.QUEUED):
        if job.HoldsCapacity:
            # Its launch failed after taking a slot (and its message may be in the DLQ).
            queue_gateway.send_launch(job.JobId)
            continue
        if handed >= free:
            break
        if job.TeamId not in teams:
            team = teams[job.TeamId] = repository.get_team(job.TeamId)
            if team is not None:
                team_free[job.TeamId] = team.MaxRunningJobs - repository.running_count(job.TeamId)
        if team_free.get(job.TeamId, 0) <= 0:
            continue
        queue_gateway.send_launch(job.JobId)
        team_free[job.TeamId] -= 1
        handed += 1
    logger.info("Dispatched queued jobs", handed=handed, free_slots=max(free, 0))
    return handed
