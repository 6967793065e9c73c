"""Schedules over HTTP on the local stack: each due time starts exactly one job, over several
ticks, duplicate sweeps and a restart; a run that cannot start is recorded and sent as
schedule.failed; the API's checks, run now, disable and delete."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import StackProcess
from tests.e2e.support import (
    deliveries,
    fresh_prefix,
    invoke,
    other_team_key,
    request_for,
    subscribe,
    upload,
    wait_for,
)
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

# The sweeper runs every second, and a minute of a rate lasts a second: rate(5 minutes) is due
# every 5 s. Cron and everything else keep to the wall clock.
PERIOD_S = 5
TICKING = {"LOCAL_SCHEDULE_SECONDS": "1", "LOCAL_SCHEDULE_MINUTE_SECONDS": "1"}


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def template(bucket: str, prefix: str, model: str = "echo") -> dict[str, Any]:
    job = request_for(bucket, prefix, model=model)
    job["TransformJobName"] = "iris-{ScheduledTime:%H%M%S}"
    job["TransformOutput"]["S3OutputPath"] = f"s3://{bucket}/{prefix}out/{{ScheduledTime:%H%M%S}}/"
    return job


def scheduled_jobs(stack: StackProcess, schedule_id: str) -> list[dict[str, Any]]:
    reply = stack.api().call("GET", f"/v1/jobs?ScheduleId={schedule_id}&MaxResults=100")
    assert reply.status == 200, reply.body
    return sorted(reply.body["Jobs"], key=lambda job: str(job["ScheduledTime"]))


def job_ids(jobs: list[dict[str, Any]]) -> list[str]:
    return [job["JobId"] for job in jobs]


def schedule_of(stack: StackProcess, schedule_id: str) -> dict[str, Any]:
    reply = stack.api().call("GET", f"/v1/schedules/{schedule_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def grid_steps(anchor: datetime, times: list[datetime]) -> list[int]:
    """Each time as a whole number of periods after the anchor (fails if one is off the grid)."""
    steps = []
    for moment in times:
        periods, rest = divmod((moment - anchor).total_seconds(), PERIOD_S)
        assert rest == 0, (anchor, moment)
        steps.append(int(periods))
    return steps


def test_each_due_time_starts_one_job_over_ticks_duplicate_sweeps_and_a_restart(
    tmp_path: Path, iris_csv: bytes, receiver: Receiver
) -> None:
    stack = StackProcess(tmp_path / "data", env=TICKING).start()
    try:
        api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
        upload(stack, f"{prefix}in/iris.csv", iris_csv)
        webhook = subscribe(stack, receiver.url, "schedule.failed")
        created = api.call(
            "POST",
            "/v1/schedules",
            {
                "Name": "iris-every-5",
                "ScheduleExpression": "rate(5 minutes)",
                "Job": template(bucket, prefix),
            },
        )
        assert created.status == 201, created.body
        schedule = created.body
        schedule_id = schedule["ScheduleId"]
        assert created.headers["Location"].endswith(f"/v1/schedules/{schedule_id}")
        anchor = parse(schedule["CreatedAt"])
        assert parse(schedule["NextRunAt"]) == anchor  # a rate first runs at once, as in AWS
        broken = api.call(
            "POST",
            "/v1/schedules",
            {
                "Name": "model-gone",
                "ScheduleExpression": "rate(5 minutes)",
                "Job": template(bucket, fresh_prefix(), model="no-such-model"),
            },
        ).body

        # Three sweeps at once, beside the stack's own every second: still one job per time.
        wait_for(lambda: scheduled_jobs(stack, schedule_id), 30, "the first run")
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda _: invoke(stack, "run_schedules"), range(3)))
        before = wait_for(
            lambda: (found := scheduled_jobs(stack, schedule_id)) and len(found) >= 2 and found,
            40,
            "two runs",
        )

        # schedule.failed: recorded on the schedule, and sent once for its due time.
        failed = wait_for(
            lambda: schedule_of(stack, broken["ScheduleId"])["LastFailure"], 30, "a refused run"
        )
        assert "no-such-model" in failed["Reason"] and "Job.ModelName" in failed["Reason"]
        assert api.call("DELETE", f"/v1/schedules/{broken['ScheduleId']}").status == 204

        def sent() -> list[dict[str, Any]]:
            return [json.loads(got["body"]) for got in receiver.received]

        wait_for(
            lambda: failed["ScheduledTime"] in {e["data"]["ScheduledTime"] for e in sent()},
            30,
            "schedule.failed delivered",
        )
        assert {e["type"] for e in sent()} == {"schedule.failed"}
        assert {e["data"]["ScheduleId"] for e in sent()} == {broken["ScheduleId"]}
        times = [e["data"]["ScheduledTime"] for e in sent()]
        assert len(set(times)) == len(times), times  # once per due time
        assert all(
            d["ScheduleId"] == broken["ScheduleId"] for d in deliveries(stack, webhook["WebhookId"])
        )

        # Down for more than two periods: on recovery the latest missed time runs, once.
        stack.stop()
        time.sleep(PERIOD_S + 1)  # and the restart: down for two due times at least
        stack.start()
        restarted = datetime.now(UTC)
        wait_for(
            lambda: parse(scheduled_jobs(stack, schedule_id)[-1]["ScheduledTime"]) > restarted,
            40,
            "a run after the recovery",
        )
        api = stack.api()
        assert api.call("PATCH", f"/v1/schedules/{schedule_id}", {"Enabled": False}).status == 200
        disabled = schedule_of(stack, schedule_id)
        assert disabled["Enabled"] is False and disabled["NextRunAt"] is None
        settled = scheduled_jobs(stack, schedule_id)
        time.sleep(1.2 * PERIOD_S)
        assert job_ids(scheduled_jobs(stack, schedule_id)) == job_ids(settled)  # disabled

        steps = grid_steps(anchor, [parse(job["ScheduledTime"]) for job in settled])
        assert len(set(steps)) == len(steps), steps  # never two jobs for one time
        # Every due time has its job, but for the times missed while down: one gap, after the
        # runs before the stop, and the run that ends it is the latest time it could be.
        gaps = [
            (i, later - earlier)
            for i, (earlier, later) in enumerate(pairwise(steps))
            if later - earlier != 1
        ]
        assert steps[0] == 0 and len(before) <= gaps[0][0] + 1, steps
        # One gap only: had recovery run an earlier missed time, the run after it would have
        # jumped the rest, a second gap.
        assert len(gaps) == 1 and gaps[0][1] >= 2, steps
        for job in settled:
            waited = parse(job["CreatedAt"]) - parse(job["ScheduledTime"])
            assert timedelta(0) <= waited < timedelta(seconds=60), job  # within 60 s of its time
            stamp = parse(job["ScheduledTime"]).strftime("%H%M%S")
            assert job["ScheduleId"] == schedule_id
            assert job["TransformJobName"] == f"iris-{stamp}"
            assert job["Request"]["TransformOutput"]["S3OutputPath"].endswith(f"/out/{stamp}/")

        # Run now: a time that has its job is a 409; another time makes one more.
        taken = api.call(
            "POST",
            f"/v1/schedules/{schedule_id}/run",
            {"ScheduledTime": settled[0]["ScheduledTime"]},
        )
        assert taken.status == 409, taken.body
        assert settled[0]["JobId"] in taken.body["detail"]
        now = api.call("POST", f"/v1/schedules/{schedule_id}/run")
        assert now.status == 202, now.body
        assert now.body["ScheduleId"] == schedule_id
        assert len(scheduled_jobs(stack, schedule_id)) == len(settled) + 1

        # Another team sees none of it; a deleted schedule is gone, its jobs stay.
        other = stack.api(other_team_key(stack))
        assert other.call("GET", f"/v1/schedules/{schedule_id}").status == 404
        assert other.call("POST", f"/v1/schedules/{schedule_id}/run").status == 404
        assert api.call("DELETE", f"/v1/schedules/{schedule_id}").status == 204
        assert api.call("GET", f"/v1/schedules/{schedule_id}").status == 404
        assert len(scheduled_jobs(stack, schedule_id)) == len(settled) + 1
    finally:
        stack.stop()


def next_local(hour: int, zone: str) -> datetime:
    """The next hour:00 on the wall clock of `zone`, in UTC."""
    now = datetime.now(ZoneInfo(zone))
    candidate = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= now:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate.astimezone(UTC)


def test_a_schedule_is_checked_like_a_job_and_its_errors_name_the_field(
    stack: StackProcess,
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    nightly = {
        "Name": "nightly",
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "Timezone": "Europe/Berlin",
        "Job": template(bucket, prefix),
    }
    wrong = {
        "ScheduleExpression": {"ScheduleExpression": "rate(1 minute)"},  # more than every 5
        # Every minute, if only on 29 February: still more than every 5.
        "ScheduleExpression ": {"ScheduleExpression": "cron(* * 29 2 ? *)"},
        "Timezone": {"Timezone": "Mars/Olympus_Mons"},
        "Job.ModelName": {"Job": {**template(bucket, prefix), "ModelName": "m-{ScheduledTime:%Y}"}},
        "Job.TransformResources": {
            "Job": {k: v for k, v in template(bucket, prefix).items() if k != "TransformResources"}
        },
    }
    for field, change in wrong.items():
        refused = api.call("POST", "/v1/schedules", {**nightly, **change})
        assert refused.status == 422, (field, refused.body)
        assert field.strip() in {error["field"] for error in refused.body["errors"]}, refused.body
    both_days = api.call(
        "POST", "/v1/schedules", {**nightly, "ScheduleExpression": "cron(0 2 * * * *)"}
    )
    assert both_days.status == 422 and "'?'" in both_days.body["errors"][0]["reason"]

    created = api.call("POST", "/v1/schedules", nightly)
    assert created.status == 201, created.body
    schedule_id = created.body["ScheduleId"]
    again = api.call("POST", "/v1/schedules", nightly)  # a retry after a lost answer
    assert again.status == 409 and schedule_id in again.body["detail"], again.body
    assert [error["field"] for error in again.body["errors"]] == ["Name"]
    assert parse(created.body["NextRunAt"]) == next_local(2, "Europe/Berlin")
    listed = api.call("GET", "/v1/schedules?MaxResults=100").body["Schedules"]
    assert schedule_id in {found["ScheduleId"] for found in listed}

    moved = api.call("PATCH", f"/v1/schedules/{schedule_id}", {"Timezone": "UTC"})
    assert moved.status == 200, moved.body
    assert parse(moved.body["NextRunAt"]) == next_local(2, "UTC")
    renamed = api.call("PATCH", f"/v1/schedules/{schedule_id}", {"Name": "other"})
    assert renamed.status == 422 and renamed.body["errors"][0]["field"] == "Name"
    assert api.call("PATCH", f"/v1/schedules/{schedule_id}", {}).status == 422
    assert api.call("GET", "/v1/jobs?ScheduleId=not-an-id").status == 400
    assert api.call("GET", f"/v1/jobs?ScheduleId={schedule_id}").body["Jobs"] == []
    never = api.call("PATCH", f"/v1/schedules/{schedule_id}", {"EndAt": "2020-01-01T00:00:00Z"})
    assert never.status == 422 and never.body["errors"][0]["field"] == "EndAt", never.body
    assert api.call("DELETE", f"/v1/schedules/{schedule_id}").status == 204
    assert api.call("DELETE", f"/v1/schedules/{schedule_id}").status == 404
    # Its name is free again.
    remade = api.call("POST", "/v1/schedules", nightly)
    assert remade.status == 201, remade.body
    assert api.call("DELETE", f"/v1/schedules/{remade.body['ScheduleId']}").status == 204
