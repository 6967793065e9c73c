"""A schedule's job template and its due times: placeholders rendered in the schedule's zone,
refused where they cannot stand; the next run within StartAt and EndAt; the latest of the times
missed while down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from transform_jobs.models.schedule import StoredSchedule
from transform_jobs.schedules import expressions, runs, templates

T0 = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)


def job(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": "churn-{ScheduledTime:%Y-%m-%d}",
        "ModelName": "churn",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://acme/in/{ScheduledTime:%Y/%m/%d}/",
                }
            }
        },
        "TransformOutput": {"S3OutputPath": "s3://acme/out/{ScheduledTime:%Y%m%dT%H%M}/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(changes)
    return request


def schedule(expression: str = "rate(5 minutes)", **changes: Any) -> StoredSchedule:
    values: dict[str, Any] = {
        "ScheduleId": "01kc00000000000000000000000",
        "TeamId": "team-a",
        "Name": "nightly",
        "ScheduleExpression": expression,
        "Timezone": "UTC",
        "Job": job(),
        "Enabled": True,
        "CreatedAt": T0,
        "UpdatedAt": T0,
        "AnchorAt": T0,
    }
    values.update(changes)
    return StoredSchedule.model_validate(values)


def test_placeholders_are_written_in_the_schedules_zone() -> None:
    # 23:30 UTC on 28 March is already the 29th in Berlin (UTC+1 that night).
    rendered = templates.render(job(), T0, ZoneInfo("Europe/Berlin"))
    assert rendered["TransformJobName"] == "churn-2026-03-29"
    assert rendered["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://acme/in/2026/03/29/"
    )
    assert rendered["TransformOutput"]["S3OutputPath"] == "s3://acme/out/20260329T0030/"
    assert templates.render(job(), T0, ZoneInfo("UTC"))["TransformJobName"] == "churn-2026-03-28"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"ModelName": "m-{ScheduledTime:%Y}"}, "Job.ModelName", "cannot hold a placeholder"),
        ({"TransformJobName": "x-{ScheduledTime}"}, "Job.TransformJobName", "brace"),
        ({"TransformJobName": "x-{ScheduledTime:}"}, "Job.TransformJobName", "empty"),
        ({"TransformJobName": "x-{ScheduledTime:%c}"}, "Job.TransformJobName", "%c"),
        ({"TransformJobName": "x-{ScheduledTime:%Y%}"}, "Job.TransformJobName", "lone %"),
        ({"TransformJobName": "x-{Scheduled:%Y}"}, "Job.TransformJobName", "brace"),
        ({"Tags": [{"Key": "k", "Value": "{ScheduledTime:%Y}"}]}, "Job.Tags[0].Value", "cannot"),
    ],
)
def test_a_placeholder_that_cannot_be_written_is_refused_naming_its_field(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    found = templates.problems(job(**changes))
    assert [error.field for error in found] == [field]
    assert reason in found[0].reason


def test_a_valid_template_has_no_problems_and_a_rendered_one_is_a_job_request() -> None:
    assert templates.problems(job()) == []
    request = runs.request_for(schedule(), T0)
    assert request.TransformJobName == "churn-2026-03-28"


def test_a_template_that_renders_to_a_bad_request_names_the_field_under_job() -> None:
    bad = schedule(Job=job(TransformResources={"InstanceType": "ml.nope", "InstanceCount": 1}))
    with pytest.raises(runs.RunRefused) as refused:
        runs.request_for(bad, T0)
    assert [error.field for error in refused.value.errors] == [
        "Job.TransformResources.InstanceType"
    ]


def test_the_next_run_keeps_within_start_and_end_and_none_when_disabled() -> None:
    every_five = schedule()
    rule = runs.recurrence(every_five)
    assert runs.next_run(every_five, rule, T0) == T0 + timedelta(minutes=5)
    later = schedule(StartAt=T0 + timedelta(hours=1), AnchorAt=T0 + timedelta(hours=1))
    assert runs.next_run(later, rule, T0) == T0 + timedelta(hours=1)  # StartAt itself runs
    ending = schedule(EndAt=T0 + timedelta(minutes=7))
    assert runs.next_run(ending, rule, T0 + timedelta(minutes=5)) is None
    assert runs.next_run(schedule(Enabled=False), rule, T0) is None


def test_after_an_outage_the_latest_missed_time_runs_and_the_others_are_counted() -> None:
    every_five = schedule()
    rule = runs.recurrence(every_five)
    first = T0 + timedelta(minutes=5)
    latest, skipped = runs._latest_due(every_five, rule, first, T0 + timedelta(minutes=23))
    assert (latest, skipped) == (T0 + timedelta(minutes=20), 3)
    assert runs._latest_due(every_five, rule, first, first) == (first, 0)
    ending = schedule(EndAt=T0 + timedelta(minutes=12))
    assert runs._latest_due(ending, rule, first, T0 + timedelta(hours=1)) == (
        T0 + timedelta(minutes=10),
        1,
    )


def test_a_rate_minute_can_be_shortened_for_local_runs() -> None:
    rule = expressions.parse("rate(5 minutes)", minute_seconds=1)
    assert rule.next_after(T0, anchor=T0) == T0 + timedelta(seconds=5)


def test_a_cron_that_runs_every_minute_on_rare_days_counts_as_every_minute() -> None:
    # Sampling a year from now finds no two times; the times of one day are still a minute apart.
    for expression in ("cron(* * 29 2 ? *)", "cron(* * * * ? 2199)", "cron(0,1 2 ? * 2#5 *)"):
        gap = expressions.parse(expression).shortest_gap(anchor=T0)
        assert gap == timedelta(minutes=1), expression
    assert expressions.parse("cron(0 2 * * ? *)").shortest_gap(anchor=T0) == timedelta(days=1)


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "posix/UTC", "right/UTC"])
def test_a_tz_database_file_that_is_no_iana_zone_is_refused(zone: str) -> None:
    with pytest.raises(expressions.InvalidSchedule) as refused:
        expressions.parse("rate(1 day)", zone)
    assert refused.value.field == "Timezone"
