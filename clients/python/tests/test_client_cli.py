"""verify_webhook with real signatures, where the CLI finds its settings, and the CLI's
commands, output and exit codes against a fake transport."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_api import API, REQUEST, SCHEDULE_ID, FakeApi, job, problem, schedule
from standardwebhooks.webhooks import Webhook
from transform_jobs_client import WebhookVerificationError, config, verify_webhook
from transform_jobs_client.cli import main

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "A" * 32


def signed(secret: str, body: str, message_id: str = "msg_1") -> dict[str, str]:
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, now, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def test_verify_webhook_accepts_a_signed_event_and_returns_it() -> None:
    body = json.dumps({"type": "transform_job.completed", "data": {"JobId": "j"}})
    headers = {name.title(): value for name, value in signed(SECRET, body).items()}
    event = verify_webhook(SECRET, body.encode(), headers)  # any header case
    assert event["type"] == "transform_job.completed"


def test_verify_webhook_takes_either_secret_during_a_rotation() -> None:
    body = '{"type": "webhook.test"}'
    assert verify_webhook([OTHER, SECRET], body, signed(SECRET, body))["type"] == "webhook.test"


@pytest.mark.parametrize("tamper", ["body", "secret", "old"])
def test_verify_webhook_refuses_what_was_not_signed_so(tamper: str) -> None:
    body = '{"type": "webhook.test"}'
    headers = signed(SECRET, body)
    if tamper == "body":
        body = body.replace("test", "tent")
    if tamper == "old":
        headers["webhook-timestamp"] = str(int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(OTHER if tamper == "secret" else SECRET, body, headers)


def test_settings_come_from_the_environment_then_a_running_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.URL_VARIABLE, raising=False)
    monkeypatch.delenv(config.KEY_VARIABLE, raising=False)
    nested = tmp_path / "clone" / "examples"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    with pytest.raises(
        config.NotConfigured, match="TRANSFORM_JOBS_API_URL and TRANSFORM_JOBS_API_KEY"
    ):
        config.resolve()
    (tmp_path / "clone" / ".local").mkdir()
    stack = tmp_path / "clone" / ".local" / "stack.json"
    stack.write_text(json.dumps({"api_url": "http://127.0.0.1:3000/dev", "api_key": "tjk_local"}))
    found = config.resolve()
    assert (found.api_url, found.api_key, found.source) == (
        "http://127.0.0.1:3000/dev",
        "tjk_local",
        str(stack),
    )
    monkeypatch.setenv(config.KEY_VARIABLE, "tjk_env")
    assert config.resolve().api_key == "tjk_env"
    assert config.resolve(api_key="tjk_flag").api_key == "tjk_flag"


def run(api: FakeApi, *argv: str) -> int:
    return main(
        ["--api-url", API, "--api-key", "tjk_secret", *argv], connect=lambda u, k: api.client()
    )


def test_submit_wait_exits_0_on_completed_and_shows_progress(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "job.json"
    request.write_text(json.dumps(REQUEST))
    api.json(202, job())
    api.json(200, job(status="InProgress", Progress={"InputObjects": 2, "OutputObjects": 1}))
    api.json(200, job(status="Completed", Progress={"InputObjects": 2, "OutputObjects": 2}))
    assert run(api, "submit", str(request), "--wait") == 0
    out, err = capsys.readouterr()
    assert "Status:     Completed" in out
    assert "InProgress 1/2 objects" in err and "Completed  2/2 objects" in err
    assert "[" + "#" * 12 + "-" * 12 + "]" in err  # half done
    assert "Idempotency-Key" in api.requests[0].headers


def test_submit_wait_exits_1_with_the_reason_when_the_job_fails(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "job.json"
    request.write_text(json.dumps(REQUEST))
    api.json(202, job())
    api.json(200, job(status="Failed", StatusReason="Model 'churn-xgb' does not exist."))
    assert run(api, "submit", str(request), "--wait") == 1
    assert "ended Failed: Model 'churn-xgb' does not exist." in capsys.readouterr().err


def test_a_refused_request_prints_the_fields_without_a_traceback(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "job.json"
    request.write_text(json.dumps(REQUEST))
    api.answer(
        problem(
            422,
            "The request is not valid",
            "The job request is not valid.",
            [{"field": "ModelName", "reason": "is empty"}],
        )
    )
    assert run(api, "submit", str(request)) == 1
    err = capsys.readouterr().err
    assert "transform-jobs: error: 422 The request is not valid" in err
    assert "ModelName: is empty" in err and "Traceback" not in err


def test_usage_and_configuration_errors_exit_2(
    api: FakeApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(api, "submit", str(tmp_path / "missing.json")) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert run(api, "submit", str(tmp_path / "bad.json")) == 2
    monkeypatch.delenv(config.URL_VARIABLE, raising=False)
    monkeypatch.delenv(config.KEY_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["get", "x"]) == 2
    assert "TRANSFORM_JOBS_API_URL" in capsys.readouterr().err
    assert api.requests == []


def test_list_as_json_for_scripts(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.json(200, {"Jobs": [job(status="Completed")]})
    assert run(api, "--output", "json", "list", "--status", "Completed") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["Status"] for item in listed] == ["Completed"]
    assert dict(api.requests[0].url.params) == {"Status": "Completed"}


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "json", "list"],
        ["list", "--output", "json"],
        ["--api-key", "tjk_other", "list", "--output", "json"],
        ["list", "--api-url", API + "/", "--output", "json", "--api-key", "tjk_other"],
    ],
    ids=["before", "after", "split", "all-after"],
)
def test_global_options_go_before_or_after_the_command(
    api: FakeApi, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, str]] = []

    def connect(url: str, key: str) -> Any:
        seen.append((url.rstrip("/"), key))
        return api.client()

    api.json(200, {"Jobs": [job(status="Completed")]})
    assert main(["--api-url", API, "--api-key", "tjk_secret", *argv], connect=connect) == 0
    assert [item["Status"] for item in json.loads(capsys.readouterr().out)] == ["Completed"]
    expected_key = "tjk_other" if "tjk_other" in argv else "tjk_secret"
    assert seen == [(API, expected_key)]


def test_an_option_after_a_webhooks_action_is_global_too(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.json(200, {"Webhooks": []})
    assert run(api, "webhooks", "list", "--output", "json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["submit", "--help"], ["webhooks", "create", "--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
    assert "--events" in capsys.readouterr().out


def test_verify_webhook_turns_bad_input_into_a_verification_error() -> None:
    headers = signed(SECRET, "{}")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, b"\xff\xfe", headers)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("whsec_not-base64!", "{}", headers)


def test_a_stack_file_that_is_not_an_object_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.URL_VARIABLE, raising=False)
    monkeypatch.delenv(config.KEY_VARIABLE, raising=False)
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text("[]")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(config.NotConfigured, match="JSON object"):
        config.resolve()


def test_validate_exits_0_when_valid_and_1_with_each_error(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "job.json"
    request.write_text(json.dumps(REQUEST))
    api.json(
        200, {"Valid": True, "Errors": [], "Warnings": [], "Input": {"Objects": 3, "Bytes": 2048}}
    )
    assert run(api, "validate", str(request)) == 0
    assert "Input: 3 objects, 2,048 bytes" in capsys.readouterr().out
    api.json(
        200,
        {
            "Valid": False,
            "Errors": [{"field": "ModelName", "reason": "Model 'churn-xgb' does not exist"}],
            "Warnings": [],
        },
    )
    assert run(api, "validate", str(request)) == 1
    assert "error   ModelName: Model 'churn-xgb' does not exist" in capsys.readouterr().out
    assert [r.url.path for r in api.requests] == ["/dev/v1/jobs/validate"] * 2
    assert json.loads(api.requests[0].content) == REQUEST


def test_rerun_sends_only_the_overrides_given(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.json(202, job())
    api.json(202, job())
    assert run(api, "rerun", "j-1", "--model", "churn-xgb-v2", "--env", "A=1", "--env", "B=") == 0
    assert run(api, "rerun", "j-1") == 0
    first, second = api.requests
    assert first.url.path == "/dev/v1/jobs/j-1/rerun"
    assert json.loads(first.content) == {
        "ModelName": "churn-xgb-v2",
        "Environment": {"A": "1", "B": ""},
    }
    assert json.loads(second.content) == {}
    assert first.headers["Idempotency-Key"] != second.headers["Idempotency-Key"]


def test_rerun_refuses_half_a_resource_change_without_calling(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(api, "rerun", "j-1", "--instance-type", "ml.m5.xlarge") == 2
    assert "go together" in capsys.readouterr().err
    assert api.requests == []


SCHEDULE = {
    "Name": "nightly-churn",
    "ScheduleExpression": "cron(0 2 * * ? *)",
    "Timezone": "Europe/Paris",
    "Job": {**REQUEST, "TransformJobName": "churn-{ScheduledTime:%Y-%m-%d}"},
}


def test_schedules_create_sends_the_file_and_shows_the_next_run(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(SCHEDULE))
    api.json(201, schedule())
    assert run(api, "schedules", "create", str(path)) == 0
    out = capsys.readouterr().out
    assert f"ScheduleId: {SCHEDULE_ID}" in out
    assert "Name:       nightly-churn" in out
    assert "Expression: cron(0 2 * * ? *)" in out
    assert "Timezone:   Europe/Paris" in out
    assert "NextRunAt:  2026-12-01T01:00:00Z" in out
    (sent,) = api.requests
    assert (sent.method, sent.url.path) == ("POST", "/dev/v1/schedules")
    assert json.loads(sent.content) == SCHEDULE


def test_schedules_create_reads_stdin_and_prints_the_whole_resource_as_json(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(SCHEDULE)))
    api.json(201, schedule())
    assert run(api, "schedules", "create", "-", "--output", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ScheduleId"] == SCHEDULE_ID
    assert shown["Job"]["TransformJobName"] == "churn-{ScheduledTime:%Y-%m-%d}"
    assert shown["NextRunAt"] == "2026-12-01T01:00:00Z"
    assert json.loads(api.requests[0].content) == SCHEDULE


def test_schedules_create_prints_each_field_the_service_refused(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps({**SCHEDULE, "ScheduleExpression": "rate(1 minute)"}))
    api.answer(
        problem(
            422,
            "The request is not valid",
            "The schedule is not valid.",
            [{"field": "ScheduleExpression", "reason": "runs at most every 5 minutes"}],
        )
    )
    assert run(api, "schedules", "create", str(path)) == 1
    captured = capsys.readouterr()
    assert "transform-jobs: error: 422 The request is not valid" in captured.err
    assert "ScheduleExpression: runs at most every 5 minutes" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    (tmp_path / "list.json").write_text("[]")
    assert run(api, "schedules", "create", str(tmp_path / "list.json")) == 2
    assert "must hold a JSON object (a schedule" in capsys.readouterr().err
    assert len(api.requests) == 1


def test_schedules_list_shows_one_line_per_schedule(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    paused = schedule("01jbz3k9x2v5q8r7t6w4y3n2s2", Name="hourly", Enabled=False, NextRunAt=None)
    paused["ScheduleExpression"] = "rate(1 hour)"
    api.json(200, {"Schedules": [schedule()], "NextToken": "page-2"})
    api.json(200, {"Schedules": [paused]})
    assert run(api, "schedules", "list") == 0
    table = [re.split(r"\s{2,}", line) for line in capsys.readouterr().out.splitlines()]
    assert table == [
        ["SCHEDULE ID", "NAME", "EXPRESSION", "TIMEZONE", "ENABLED", "NEXT RUN"],
        [
            SCHEDULE_ID,
            "nightly-churn",
            "cron(0 2 * * ? *)",
            "Europe/Paris",
            "True",
            "2026-12-01T01:00:00Z",
        ],
        ["01jbz3k9x2v5q8r7t6w4y3n2s2", "hourly", "rate(1 hour)", "Europe/Paris", "False", "-"],
    ]
    assert [r.url.path for r in api.requests] == ["/dev/v1/schedules"] * 2
    assert api.requests[1].url.params["NextToken"] == "page-2"


def test_schedules_list_as_json(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.json(200, {"Schedules": [schedule()]})
    assert run(api, "--output", "json", "schedules", "list") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["ScheduleId"] == SCHEDULE_ID and listed["Enabled"] is True


def test_schedules_get_shows_the_last_run_and_failure(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.json(
        200,
        schedule(
            LastRun={
                "JobId": "01jbz3k9x2v5q8r7t6w4y3n2m1",
                "ScheduledTime": "2026-11-30T01:00:00Z",
                "StartedAt": "2026-11-30T01:00:02Z",
                "Skipped": 2,
            },
            LastFailure={
                "ScheduledTime": "2026-11-29T01:00:00Z",
                "FailedAt": "2026-11-29T01:00:01Z",
                "Reason": "Model 'churn-xgb' does not exist.",
            },
        ),
    )
    assert run(api, "schedules", "get", SCHEDULE_ID) == 0
    out = capsys.readouterr().out
    assert "Model:      churn-xgb" in out
    assert (
        "LastRun:    2026-11-30T01:00:00Z job 01jbz3k9x2v5q8r7t6w4y3n2m1 "
        "(2 missed time(s) not run)" in out
    )
    assert "LastError:  2026-11-29T01:00:00Z Model 'churn-xgb' does not exist." in out
    assert api.requests[0].url.path == f"/dev/v1/schedules/{SCHEDULE_ID}"


def test_schedules_delete_says_so(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(httpx.Response(204), httpx.Response(204))
    assert run(api, "schedules", "delete", SCHEDULE_ID) == 0
    assert capsys.readouterr().out == f"deleted {SCHEDULE_ID}\n"
    assert run(api, "schedules", "delete", SCHEDULE_ID, "--output", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"Deleted": SCHEDULE_ID}
    assert [(r.method, r.url.path) for r in api.requests] == [
        ("DELETE", f"/dev/v1/schedules/{SCHEDULE_ID}")
    ] * 2


CHANGES = {"ScheduleExpression": "cron(30 3 * * ? *)", "EndAt": None}


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        (["--disable"], {"Enabled": False}),
        (["--enable"], {"Enabled": True}),
        (["FILE"], CHANGES),
        (["FILE", "--disable"], {**CHANGES, "Enabled": False}),
        (["--enable", "FILE"], {**CHANGES, "Enabled": True}),
        (["--output", "text", "FILE"], CHANGES),
    ],
    ids=["disable", "enable", "file", "file-disable", "enable-file", "option-file"],
)
def test_schedules_update_sends_the_file_and_or_the_flag(
    api: FakeApi,
    tmp_path: Path,
    argv: list[str],
    body: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps(CHANGES))
    api.json(200, schedule(Enabled=body.get("Enabled", True)))
    argv = [str(changes) if arg == "FILE" else arg for arg in argv]
    assert run(api, "schedules", "update", SCHEDULE_ID, *argv) == 0
    (sent,) = api.requests
    assert (sent.method, sent.url.path) == ("PATCH", f"/dev/v1/schedules/{SCHEDULE_ID}")
    assert json.loads(sent.content) == body
    assert f"Enabled:    {body.get('Enabled', True)}" in capsys.readouterr().out


def test_schedules_update_from_stdin_as_json(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(CHANGES)))
    api.json(200, schedule(Enabled=False, NextRunAt=None))
    assert run(api, "schedules", "update", SCHEDULE_ID, "--output", "json", "-", "--disable") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["Enabled"] is False and "NextRunAt" not in shown
    assert json.loads(api.requests[0].content) == {**CHANGES, "Enabled": False}


def test_schedules_update_without_a_change_is_a_usage_error(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(api, "schedules", "update", SCHEDULE_ID) == 2
    assert "nothing to change" in capsys.readouterr().err
    (tmp_path / "empty.json").write_text("{}")
    assert run(api, "schedules", "update", SCHEDULE_ID, str(tmp_path / "empty.json")) == 2
    assert "nothing to change" in capsys.readouterr().err
    (tmp_path / "on.json").write_text('{"Enabled": true}')
    assert run(api, "schedules", "update", SCHEDULE_ID, str(tmp_path / "on.json"), "--disable") == 2
    assert "--disable says otherwise" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        run(api, "schedules", "update", SCHEDULE_ID, "--enable", "--disable")
    assert exited.value.code == 2
    assert "not allowed with argument --enable" in capsys.readouterr().err
    assert api.requests == []


def test_schedules_run_starts_a_job_for_the_time_given(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    started = job(ScheduleId=SCHEDULE_ID, ScheduledTime="2026-12-01T02:00:00Z")
    api.json(202, started)
    api.json(202, started)
    assert run(api, "schedules", "run", SCHEDULE_ID, "--time", "2026-12-01T02:00:00Z") == 0
    out = capsys.readouterr().out
    assert "Status:     Submitted" in out
    assert f"Schedule:   {SCHEDULE_ID} for 2026-12-01T02:00:00Z" in out
    assert run(api, "schedules", "run", SCHEDULE_ID, "--output", "json") == 0
    assert json.loads(capsys.readouterr().out)["ScheduleId"] == SCHEDULE_ID
    timed, now = api.requests
    assert (timed.method, timed.url.path) == ("POST", f"/dev/v1/schedules/{SCHEDULE_ID}/run")
    assert json.loads(timed.content) == {"ScheduledTime": "2026-12-01T02:00:00Z"}
    assert json.loads(now.content) == {}


def test_schedules_run_of_a_time_that_has_its_job_exits_1_without_a_retry(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer(
        problem(
            409,
            "Conflict",
            "The run at 2026-12-01T02:00:00Z has its job already: 01jbz3k9x2v5q8r7t6w4y3n2m1. "
            "Name another ScheduledTime for another run.",
        )
    )
    assert run(api, "schedules", "run", SCHEDULE_ID, "--time", "2026-12-01T02:00:00Z") == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "transform-jobs: error: 409 Conflict: The run at 2026-12-01T02:00:00Z has its job "
        "already: 01jbz3k9x2v5q8r7t6w4y3n2m1. Name another ScheduledTime for another run.\n"
    )
    assert captured.out == "" and len(api.requests) == 1


@pytest.mark.parametrize(
    ("ended", "code"), [("Completed", 0), ("Failed", 1)], ids=["completed", "failed"]
)
def test_schedules_run_wait_follows_the_job_to_its_end(
    api: FakeApi, ended: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    api.json(202, job(ScheduleId=SCHEDULE_ID))
    api.json(200, job(status="InProgress"))
    api.json(200, job(status=ended, StatusReason=None if code == 0 else "AlgorithmError"))
    assert run(api, "schedules", "run", SCHEDULE_ID, "--wait") == code
    out, err = capsys.readouterr()
    assert f"Status:     {ended}" in out
    assert "InProgress 1/2 objects" in err
    assert ("ended Failed: AlgorithmError" in err) is (code == 1)
    assert [r.method for r in api.requests] == ["POST", "GET", "GET"]
    assert api.requests[1].url.path == f"/dev/v1/jobs/{job()['JobId']}"


def test_list_filters_by_schedule(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.json(200, {"Jobs": [job(ScheduleId=SCHEDULE_ID)]})
    assert run(api, "list", "--schedule-id", SCHEDULE_ID) == 0
    assert dict(api.requests[0].url.params) == {"ScheduleId": SCHEDULE_ID}
    assert job()["JobId"] in capsys.readouterr().out


def test_schedules_commands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["schedules", "--help"], ["schedules", "update", "--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # usage lines wrap by width and version
    assert "run" in out and "[--enable | --disable]" in out and "[changes_file]" in out
