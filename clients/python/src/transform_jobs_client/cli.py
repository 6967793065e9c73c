"""`transform-jobs`: the service from a terminal or a script.

Exit codes: 0 done (for --wait: the job Completed), 1 the service refused or the job ended
otherwise (its reason is printed), 2 a usage or configuration error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import BaseModel

from transform_jobs_client import config, models
from transform_jobs_client.client import TERMINAL, TransformJobs, WaitTimedOut
from transform_jobs_client.errors import ApiError, TransformJobsError

EVENT_TYPES = [event.value for event in models.EventType]
STATUSES = [status.value for status in models.JobStatus]


class UsageError(Exception):
    """Bad arguments or files: exit 2 with the message."""


# ---------------------------------------------------------------------------- output


class Printer:
    def __init__(self, mode: str, out: TextIO) -> None:
        self.json = mode == "json"
        self.out = out

    def value(self, value: Any, text: Callable[[Any], str]) -> None:
        if self.json:
            self.out.write(json.dumps(_plain(value), indent=2) + "\n")
        else:
            self.out.write(text(value) + "\n")

    def rows(
        self, items: Iterable[Any], columns: Sequence[tuple[str, Callable[[Any], Any]]]
    ) -> None:
        items = list(items)
        if self.json:
            self.out.write(json.dumps([_plain(item) for item in items], indent=2) + "\n")
            return
        table = [[name for name, _ in columns]]
        table += [[_cell(get(item)) for _, get in columns] for item in items]
        widths = [max(len(row[n]) for row in table) for n in range(len(columns))]
        for row in table:
            self.out.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
                + "\n"
            )


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="seconds")).replace("+00:00", "Z")
    return str(getattr(value, "value", value))


def progress_text(job: models.JobResource) -> str:
    """`done/total what` for the job's current phase."""
    progress = job.Progress
    status = job.Status.value
    if status == "Preparing":
        return f"{progress.RowsRead or 0:,} rows read, {progress.ShardsWritten or 0} shards"
    if progress.ShardsWritten and status in ("InProgress", "Stopping"):
        return f"{progress.ShardsDone or 0}/{progress.ShardsWritten} shards"
    if progress.InputObjects is not None:
        return f"{progress.OutputObjects or 0}/{progress.InputObjects} objects"
    return ""


def _fraction(job: models.JobResource) -> float:
    progress = job.Progress
    if job.Status.value == "Completed":
        return 1.0
    if progress.ShardsWritten and job.Status.value in ("InProgress", "Stopping"):
        return (progress.ShardsDone or 0) / progress.ShardsWritten
    if progress.InputObjects:
        return min(1.0, (progress.OutputObjects or 0) / progress.InputObjects)
    return 0.0


class ProgressBar:
    """A live line on a terminal; one line per change when the output is not one."""

    WIDTH = 24

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()
        self.last = ""

    def __call__(self, job: models.JobResource) -> None:
        elapsed = int(time.monotonic() - self.started)
        filled = int(_fraction(job) * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        detail = progress_text(job)
        clock = f"{elapsed // 60}:{elapsed % 60:02d}"
        line = f"[{bar}] {job.Status.value:<10} {detail}".rstrip()
        if self.live:
            self.stream.write(f"\r{line}  {clock}\x1b[K")
            if job.Status.value in TERMINAL:
                self.stream.write("\n")
        elif line != self.last:
            self.stream.write(f"{line}  {clock}\n")
        self.stream.flush()
        self.last = line


# ---------------------------------------------------------------------------- commands


def _job_text(job: models.JobResource) -> str:
    lines = [
        f"JobId:      {job.JobId}",
        f"Status:     {job.Status.value}" + (f" ({job.StatusReason})" if job.StatusReason else ""),
        f"Label:      {job.TransformJobName or '-'}",
        f"Model:      {job.Request.ModelName}",
        f"Created:    {_cell(job.CreatedAt)}",
        f"Progress:   {progress_text(job) or '-'}",
        f"SageMaker:  {job.SageMakerJobName}",
    ]
    if job.EndedAt:
        lines.insert(5, f"Ended:      {_cell(job.EndedAt)}")
    if job.ScheduleId:
        lines.append(f"Schedule:   {job.ScheduleId} for {_cell(job.ScheduledTime)}")
    return "\n".join(lines)


def _read_request(path: str, what: str = "a CreateTransformJob request") -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        request = json.loads(text)
    except ValueError as error:
        raise UsageError(f"{path} is not JSON: {error}") from None
    if not isinstance(request, dict):
        raise UsageError(f"{path} must hold a JSON object ({what})")
    return request


def cmd_submit(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    job = client.submit(_read_request(args.job_file), idempotency_key=args.idempotency_key)
    if not args.wait:
        printer.value(job, _job_text)
        return 0
    return _wait_and_report(client, job.JobId, args.timeout, printer)


def cmd_validate(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    """Exit 0 when the job would start, 1 when a check failed (each printed with its field)."""
    report = client.validate(_read_request(args.job_file))
    printer.value(report, _validation_text)
    return 0 if report.Valid else 1


def _validation_text(report: Any) -> str:
    lines = ["Valid: the job would start." if report.Valid else "Not valid:"]
    lines += [f"  error   {item.field}: {item.reason}" for item in report.Errors]
    lines += [f"  warning {item.field}: {item.reason}" for item in report.Warnings]
    if report.Input is not None:
        size = "" if report.Input.Bytes is None else f", {report.Input.Bytes:,} bytes"
        count = report.Input.Objects
        lines.append(f"Input: {count:,} object{'' if count == 1 else 's'}{size}")
    return "\n".join(lines)


def cmd_rerun(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    overrides: dict[str, Any] = {}
    if args.model:
        overrides["ModelName"] = args.model
    if args.output_path:
        overrides["TransformOutput"] = {"S3OutputPath": args.output_path}
    if args.env:
        pairs = [item.partition("=") for item in args.env]
        if any(not sep or not name for name, sep, _ in pairs):
            raise UsageError("--env takes NAME=VALUE")
        overrides["Environment"] = {name: value for name, _, value in pairs}
    if args.instance_type or args.instance_count:
        if not (args.instance_type and args.instance_count):
            raise UsageError("--instance-type and --instance-count go together")
        overrides["TransformResources"] = {
            "InstanceType": args.instance_type,
            "InstanceCount": args.instance_count,
        }
    if args.job_name:
        overrides["TransformJobName"] = args.job_name
    job = client.rerun(args.job_id, overrides, idempotency_key=args.idempotency_key)
    if not args.wait:
        printer.value(job, _job_text)
        return 0
    return _wait_and_report(client, job.JobId, args.timeout, printer)


def cmd_wait(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    return _wait_and_report(client, args.job_id, args.timeout, printer)


def _wait_and_report(
    client: TransformJobs, job_id: str, timeout: float | None, printer: Printer
) -> int:
    bar = ProgressBar(sys.stderr)
    try:
        job = client.wait(job_id, timeout=timeout, on_progress=bar, poll_interval=1.0)
    except WaitTimedOut as timed_out:
        printer.value(timed_out.job, _job_text)
        raise
    printer.value(job, _job_text)
    if job.Status.value != "Completed":
        sys.stderr.write(f"job {job.JobId} ended {job.Status.value}: {job.StatusReason or ''}\n")
        return 1
    return 0


def cmd_get(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    printer.value(client.get(args.job_id), _job_text)
    return 0


def cmd_list(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    jobs = client.list(
        status=args.status,
        model_name=args.model,
        created_after=args.created_after,
        created_before=args.created_before,
        schedule_id=args.schedule_id,
    )
    printer.rows(
        _take(jobs, args.limit),
        [
            ("JOB ID", lambda j: j.JobId),
            ("STATUS", lambda j: j.Status),
            ("MODEL", lambda j: j.Request.ModelName),
            ("LABEL", lambda j: j.TransformJobName),
            ("CREATED", lambda j: j.CreatedAt),
            ("PROGRESS", progress_text),
        ],
    )
    return 0


def _take(items: Iterable[Any], limit: int | None) -> list[Any]:
    taken: list[Any] = []
    for item in items:
        if limit is not None and len(taken) >= limit:
            break
        taken.append(item)
    return taken


def cmd_cancel(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    printer.value(client.cancel(args.job_id), _job_text)
    return 0


def cmd_events(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    printer.rows(
        client.events(args.job_id),
        [
            ("TIME", lambda e: e.Time),
            ("STATUS", lambda e: e.Status),
            ("SOURCE", lambda e: e.Source),
            ("REASON", lambda e: e.Reason),
        ],
    )
    return 0


def cmd_outputs(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    if args.download:
        written = client.download_outputs(args.job_id, args.download)
        if printer.json:
            printer.value([str(path) for path in written], str)
        else:
            for path in written:
                printer.out.write(f"{path}\n")
            sys.stderr.write(f"{len(written)} file(s) in {args.download}\n")
        return 0
    printer.rows(
        client.outputs(args.job_id),
        [("KEY", lambda o: o.Key), ("SIZE", lambda o: o.Size), ("URL", lambda o: o.Url)],
    )
    return 0


def _webhook_text(webhook: models.Webhook | models.WebhookWithSecret) -> str:
    lines = [
        f"WebhookId:  {webhook.WebhookId}",
        f"Url:        {webhook.Url}",
        f"Events:     {', '.join(event.value for event in webhook.EventTypes)}",
        f"Enabled:    {webhook.Enabled}"
        + (f" ({webhook.DisabledReason})" if webhook.DisabledReason else ""),
    ]
    secret = getattr(webhook, "Secret", None)
    if secret:
        lines.append(f"Secret:     {secret}   (shown only now: keep it)")
    return "\n".join(lines)


def _events(text: str | None) -> list[str] | None:
    if text is None:
        return None
    events = [event.strip() for event in text.split(",") if event.strip()]
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown or not events:
        raise UsageError(f"--events takes a comma-separated list of {', '.join(EVENT_TYPES)}")
    return events


def cmd_webhooks(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    action = args.webhook_command
    if action == "create":
        events = _events(args.events) or []
        created = client.create_webhook(args.url, events, description=args.description)
        printer.value(created, _webhook_text)
    elif action == "list":
        printer.rows(
            client.list_webhooks(),
            [
                ("WEBHOOK ID", lambda w: w.WebhookId),
                ("URL", lambda w: w.Url),
                ("EVENTS", lambda w: ",".join(e.value for e in w.EventTypes)),
                ("ENABLED", lambda w: w.Enabled),
            ],
        )
    elif action == "get":
        printer.value(client.get_webhook(args.webhook_id), _webhook_text)
    elif action == "update":
        enabled = {"enable": True, "disable": False}.get(args.state or "")
        updated = client.update_webhook(
            args.webhook_id,
            url=args.url,
            event_types=_events(args.events),
            description=args.description,
            enabled=enabled,
        )
        printer.value(updated, _webhook_text)
    elif action == "delete":
        client.delete_webhook(args.webhook_id)
        printer.value({"Deleted": args.webhook_id}, lambda _: f"deleted {args.webhook_id}")
    elif action == "rotate-secret":
        rotated = client.rotate_webhook_secret(args.webhook_id)
        printer.value(
            rotated,
            lambda r: (
                f"Secret:     {r.Secret}   (shown only now: keep it)\n"
                f"The previous secret still signs until {_cell(r.PreviousSecretExpiresAt)}."
            ),
        )
    elif action == "test":
        result = client.test_webhook(args.webhook_id)
        printer.value(
            result,
            lambda r: (
                f"Delivered: {r.Delivered}  status {r.StatusCode or '-'}  "
                f"{r.LatencyMs} ms" + (f"  ({r.Error})" if r.Error else "")
            ),
        )
        return 0 if result.Delivered else 1
    elif action == "deliveries":
        printer.rows(
            client.deliveries(args.webhook_id),
            [
                ("DELIVERY ID", lambda d: d.DeliveryId),
                ("EVENT", lambda d: d.EventType),
                ("JOB", lambda d: d.JobId),
                ("STATUS", lambda d: d.Status),
                ("ATTEMPTS", lambda d: len(d.Attempts or [])),
                ("CREATED", lambda d: d.CreatedAt),
            ],
        )
    else:  # redeliver
        delivery = client.redeliver(args.webhook_id, args.delivery_id)
        printer.value(delivery, lambda d: f"{d.DeliveryId} queued again ({d.Status.value})")
    return 0


def _schedule_text(schedule: models.Schedule) -> str:
    lines = [
        f"ScheduleId: {schedule.ScheduleId}",
        f"Name:       {schedule.Name}",
        f"Expression: {schedule.ScheduleExpression}",
        f"Timezone:   {schedule.Timezone}",
        f"Model:      {schedule.Job.get('ModelName') or '-'}",
        f"Enabled:    {schedule.Enabled}",
        f"NextRunAt:  {_cell(schedule.NextRunAt)}",
    ]
    if schedule.StartAt:
        lines.append(f"StartAt:    {_cell(schedule.StartAt)}")
    if schedule.EndAt:
        lines.append(f"EndAt:      {_cell(schedule.EndAt)}")
    last = schedule.LastRun
    if last:
        skipped = f" ({last.Skipped} missed time(s) not run)" if last.Skipped else ""
        lines.append(f"LastRun:    {_cell(last.ScheduledTime)} job {last.JobId}{skipped}")
    failure = schedule.LastFailure
    if failure:
        lines.append(f"LastError:  {_cell(failure.ScheduledTime)} {failure.Reason}")
    return "\n".join(lines)


def _schedule_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The PATCH body: the changes file's fields and/or Enabled from --enable/--disable."""
    changes = _read_request(args.changes_file, "the fields to change") if args.changes_file else {}
    if args.state:
        enabled = args.state == "enable"
        if changes.get("Enabled", enabled) != enabled:
            raise UsageError(f"the changes set Enabled, and --{args.state} says otherwise")
        changes["Enabled"] = enabled
    if not changes:
        raise UsageError(
            "nothing to change: give a file of the fields to change, or --enable or --disable"
        )
    return changes


def cmd_schedules(client: TransformJobs, args: argparse.Namespace, printer: Printer) -> int:
    action = args.schedule_command
    if action == "create":
        schedule = _read_request(args.schedule_file, "a schedule: Name, ScheduleExpression, Job")
        printer.value(client.create_schedule(schedule), _schedule_text)
    elif action == "list":
        printer.rows(
            client.list_schedules(),
            [
                ("SCHEDULE ID", lambda s: s.ScheduleId),
                ("NAME", lambda s: s.Name),
                ("EXPRESSION", lambda s: s.ScheduleExpression),
                ("TIMEZONE", lambda s: s.Timezone),
                ("ENABLED", lambda s: s.Enabled),
                ("NEXT RUN", lambda s: s.NextRunAt),
            ],
        )
    elif action == "get":
        printer.value(client.get_schedule(args.schedule_id), _schedule_text)
    elif action == "update":
        changes = _schedule_changes(args)
        printer.value(client.update_schedule(args.schedule_id, changes), _schedule_text)
    elif action == "delete":
        client.delete_schedule(args.schedule_id)
        printer.value({"Deleted": args.schedule_id}, lambda _: f"deleted {args.schedule_id}")
    else:  # run
        job = client.run_schedule(args.schedule_id, scheduled_time=args.time)
        if args.wait:
            return _wait_and_report(client, job.JobId, args.timeout, printer)
        printer.value(job, _job_text)
    return 0


# ---------------------------------------------------------------------------- arguments


def _global_options(*, after_command: bool) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if after_command else {}
    options.add_argument("--api-url", help="the API's URL, with its stage (e.g. .../dev)", **unset)
    options.add_argument("--api-key", help="the team's API key", **unset)
    options.add_argument(
        "--output",
        choices=["text", "json"],
        help="text (default) or json",
        **(unset or {"default": "text"}),
    )
    return options


def _add_validate_and_rerun(commands: Any, after: argparse.ArgumentParser) -> None:
    validate = commands.add_parser(
        "validate", parents=[after], help="check a job request without starting it"
    )
    validate.add_argument("job_file", help="the request as a JSON file, or - for stdin")
    validate.set_defaults(run=cmd_validate)
    rerun = commands.add_parser(
        "rerun", parents=[after], help="run a job again (a new model, elsewhere)"
    )
    rerun.add_argument("job_id")
    rerun.add_argument("--model", help="the new ModelName")
    rerun.add_argument(
        "--output-path", help="S3OutputPath (default: <original>/reruns/<new job id>/)"
    )
    rerun.add_argument(
        "--env", action="append", metavar="NAME=VALUE", help="Environment (repeat; replaces all)"
    )
    rerun.add_argument("--instance-type")
    rerun.add_argument("--instance-count", type=int)
    rerun.add_argument("--job-name", help="the new job's TransformJobName")
    rerun.add_argument("--wait", action="store_true", help="follow the new job until it ends")
    rerun.add_argument("--timeout", type=float, help="with --wait: give up after so many s")
    rerun.add_argument("--idempotency-key", help="default: a new one per rerun")
    rerun.set_defaults(run=cmd_rerun)


class _ActionParser(argparse.ArgumentParser):
    """argparse takes `update`'s optional file as absent when an option comes between it and the
    ID (`schedules update ID --output json changes.json`); it gets the word left over."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        word = extras[0] if extras else "--"
        if getattr(parsed, "changes_file", "") is None and (
            word == "-" or not word.startswith("-")
        ):
            parsed.changes_file = extras.pop(0)
        return parsed, extras


def _add_schedules(commands: Any, after: argparse.ArgumentParser) -> None:
    schedules = commands.add_parser(
        "schedules", parents=[after], help="jobs that run on a rate or cron expression"
    )
    schedules.set_defaults(run=cmd_schedules)
    actions = schedules.add_subparsers(
        dest="schedule_command", required=True, metavar="ACTION", parser_class=_ActionParser
    )
    create = actions.add_parser(
        "create", parents=[after], help="create a schedule (Name, ScheduleExpression, Job, ...)"
    )
    create.add_argument("schedule_file", help="the schedule as a JSON file, or - for stdin")
    actions.add_parser("list", parents=[after], help="the team's schedules")
    for name, text in (
        ("get", "show a schedule"),
        ("delete", "delete a schedule (the jobs it started stay)"),
    ):
        action = actions.add_parser(name, parents=[after], help=text)
        action.add_argument("schedule_id")
    update = actions.add_parser(
        "update", parents=[after], help="change a schedule, or enable or disable it"
    )
    update.add_argument("schedule_id")
    update.add_argument(
        "changes_file",
        nargs="?",
        help="the fields to change as a JSON file, or - for stdin (null clears StartAt/EndAt)",
    )
    state = update.add_mutually_exclusive_group()
    state.add_argument(
        "--enable", dest="state", action="store_const", const="enable", help="run it on time again"
    )
    state.add_argument(
        "--disable", dest="state", action="store_const", const="disable", help="pause it"
    )
    run = actions.add_parser(
        "run", parents=[after], help="start the schedule's job now (enabled or not)"
    )
    run.add_argument("schedule_id")
    run.add_argument(
        "--time", help="the ScheduledTime it runs for, ISO 8601 with a zone (default: now)"
    )
    run.add_argument("--wait", action="store_true", help="follow the job until it ends")
    run.add_argument("--timeout", type=float, help="with --wait: give up after so many s")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="transform-jobs",
        description="Run SageMaker Batch Transform jobs through the transform-jobs service.",
        epilog="The API URL and key come from --api-url/--api-key, TRANSFORM_JOBS_API_URL and "
        "TRANSFORM_JOBS_API_KEY, or .local/stack.json of a clone with `make run` up.",
        parents=[_global_options(after_command=False)],
    )
    # The global options work after the command too (`list --output json`), as in the AWS CLI:
    # each command's parser knows them, with no default of its own to overwrite the top's.
    after = _global_options(after_command=True)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit", parents=[after], help="submit a job (a CreateTransformJob request)"
    )
    submit.add_argument("job_file", help="the request as a JSON file, or - for stdin")
    submit.add_argument("--wait", action="store_true", help="follow the job until it ends")
    submit.add_argument("--timeout", type=float, help="with --wait: give up after so many s")
    submit.add_argument("--idempotency-key", help="default: a new one per submission")
    submit.set_defaults(run=cmd_submit)

    _add_validate_and_rerun(commands, after)

    wait = commands.add_parser("wait", parents=[after], help="follow a job until it ends")
    wait.add_argument("job_id")
    wait.add_argument("--timeout", type=float, help="give up after so many seconds")
    wait.set_defaults(run=cmd_wait)

    for name, run, text in (
        ("get", cmd_get, "show a job"),
        ("cancel", cmd_cancel, "cancel a job (repeatable)"),
        ("events", cmd_events, "a job's history"),
    ):
        command = commands.add_parser(name, parents=[after], help=text)
        command.add_argument("job_id")
        command.set_defaults(run=run)

    listing = commands.add_parser("list", parents=[after], help="the team's jobs, newest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--model", help="only jobs of this model")
    listing.add_argument("--created-after", help="ISO 8601 time")
    listing.add_argument("--created-before", help="ISO 8601 time")
    listing.add_argument("--schedule-id", help="only the jobs this schedule started")
    listing.add_argument("--limit", type=int, help="at most so many jobs")
    listing.set_defaults(run=cmd_list)

    outputs = commands.add_parser(
        "outputs", parents=[after], help="a job's outputs (presigned links)"
    )
    outputs.add_argument("job_id")
    outputs.add_argument("--download", metavar="DIR", help="download them into DIR")
    outputs.set_defaults(run=cmd_outputs)

    webhooks = commands.add_parser("webhooks", parents=[after], help="webhook subscriptions")
    webhooks.set_defaults(run=cmd_webhooks)
    actions = webhooks.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", parents=[after], help="subscribe a URL (the secret is shown once)"
    )
    create.add_argument("--url", required=True)
    create.add_argument(
        "--events", required=True, help=f"comma-separated: {', '.join(EVENT_TYPES)}"
    )
    create.add_argument("--description")
    actions.add_parser("list", parents=[after], help="the team's subscriptions")
    for name, text in (
        ("get", "show a subscription"),
        ("delete", "delete a subscription"),
        ("rotate-secret", "a new secret; the old one signs for 24 h more"),
        ("test", "send a webhook.test event now"),
        ("deliveries", "the delivery log, newest first"),
    ):
        action = actions.add_parser(name, parents=[after], help=text)
        action.add_argument("webhook_id")
    update = actions.add_parser("update", parents=[after], help="change a subscription")
    update.add_argument("webhook_id")
    update.add_argument("--url")
    update.add_argument("--events", help=f"comma-separated: {', '.join(EVENT_TYPES)}")
    update.add_argument("--description")
    update.add_argument("--enable", dest="state", action="store_const", const="enable")
    update.add_argument("--disable", dest="state", action="store_const", const="disable")
    redeliver = actions.add_parser("redeliver", parents=[after], help="send a delivery again")
    redeliver.add_argument("webhook_id")
    redeliver.add_argument("delivery_id")

    _add_schedules(commands, after)
    return top


def main(
    argv: Sequence[str] | None = None,
    *,
    connect: Callable[[str, str], TransformJobs] = TransformJobs,
) -> int:
    """The console script; `connect` makes the client (tests give one with a fake transport)."""
    args = parser().parse_args(argv)
    printer = Printer(args.output, sys.stdout)
    try:
        settings = config.resolve(args.api_url, args.api_key)
        with connect(settings.api_url, settings.api_key) as client:
            code: int = args.run(client, args, printer)
            return code
    except (config.NotConfigured, UsageError) as error:
        return _fail(str(error), 2)
    except ApiError as error:
        return _fail(str(error), 1)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error. Point stdout at nothing so the
        # interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (TransformJobsError, httpx.HTTPError, OSError) as error:
        return _fail(str(error) or type(error).__name__, 1)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"transform-jobs: error: {message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
