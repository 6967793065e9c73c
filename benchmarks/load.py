"""Load on a fresh local stack: concurrent submissions with Idempotency-Key retries, then SageMaker
state changes through the local EventBridge. `make bench-load` (or `python benchmarks/load.py`).

1. Submissions: POST /v1/jobs from concurrent clients, half with an Idempotency-Key and a retry
   of each keyed one (some while the first is still in flight). Counted: lost, duplicated, 5xx,
   429 (retried after Retry-After), latency. Each job reads an input prefix with no objects, so
   launch_job's preflight fails it at once: the stack is left with no work running.
2. State changes: jobs put InProgress (holding a slot, as launch leaves them), then one
   "Transform Job State Change" Completed event each, plus duplicates and late InProgress
   events, published with PutEvents; timed from the first publish until every job is Completed
   and every event was handled.

The stack runs as `make run` runs it (`python -m local.stack`, its own process group, free
ports) on a temporary data directory, and is stopped by its PID at the end, also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

import load_state_changes  # noqa: E402 - after the path is set
import load_submissions  # noqa: E402
from bench_support import StopSignals, command_output, cpu_model  # noqa: E402
from process_cpu import CpuWindow  # noqa: E402

from local.runtime.functions import AwsAccess  # noqa: E402
from local.stack.launcher import StackProcess  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "load.json"
STATE_CHANGE_TEAM = "bench-load"
CEILING_TEAM = "bench-load-direct"
WARM_UP_TEAM = "bench-load-warm-up"
WARM_UP_EVENTS = 8  # twice the workers the local runtime runs per function
CEILING_THREADS = 4  # as many as the runtime runs record_state_change at once
STATE_CHANGE_FUNCTION = "RecordStateChangeFunction"
EVENTS_PER_S_TARGET = 300.0
DYNAMODB_LOCAL = "DynamoDB Local"  # process_cpu's name for it
QUIET_S = 3.0  # no function wrote a log line for this long: the stack has caught up
QUIET_TIMEOUT_S = 300.0


def progress(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


def point_service_code_at(info: dict[str, Any]) -> None:
    """The repository code in this process reads its table and endpoints from the environment,
    as a function does; only the stack's stand-ins are reachable (AwsAccess.environment)."""
    access = AwsAccess(dict(info["endpoints"]), dict(info["credentials"]), info["region"])
    os.environ.update(access.environment())
    os.environ["TABLE_NAME"] = info["resources"]["JobsTable"]
    os.environ["STAGE"] = info["parameters"]["Stage"]


def stack_client(info: dict[str, Any], service: str) -> Any:
    endpoint = info["endpoints"]["events" if service == "events" else service]
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name=info["region"], **info["credentials"]
    )


def function_logs(info: dict[str, Any]) -> Path:
    """Where the runtime writes its functions' output (its state directory's logs/)."""
    return Path(info["data_dir"]) / "runtime" / "logs"


def wait_until_quiet(log_dir: Path) -> float:
    """Until no function has written for QUIET_S: what earlier steps set off (launches, the
    stream's notifications of seeded history) is done and does not run into a measurement."""
    started = time.monotonic()
    sizes: dict[Path, int] = {}
    quiet_since = started
    while time.monotonic() - started < QUIET_TIMEOUT_S:
        now_sizes = {path: path.stat().st_size for path in log_dir.glob("*.log")}
        if now_sizes != sizes:
            sizes, quiet_since = now_sizes, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_S:
            break
        time.sleep(0.25)
    return round(time.monotonic() - started, 1)


def dead_letters(info: dict[str, Any], queue: str) -> int:
    attributes = stack_client(info, "sqs").get_queue_attributes(
        QueueUrl=info["resources"][queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def java_version() -> str | None:
    """`java -version` (it writes to stderr), first line."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["java", "-version"], capture_output=True, text=True, check=False, timeout=30
        )
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[0] if done.returncode == 0 and lines else None
    return None


def machine_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": sys.version,
        "java": java_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


class Phase:
    """A measured window: its wall time and the CPU each part of the stack spent in it."""

    def __init__(self, root: int) -> None:
        self.cpu = CpuWindow(root)
        self.started = 0.0

    def __enter__(self) -> Phase:
        self.cpu.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.monotonic() - self.started
        self.parts = self.cpu.stop()

    def report(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 2),
            "cpu_s_available": round(self.wall_s * len(os.sched_getaffinity(0)), 1),
            "cpu_s_by_part": self.parts,
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
        }


def submissions_phase(args: argparse.Namespace, stack: StackProcess, run_id: str) -> dict[str, Any]:
    root = stack.process.pid if stack.process else os.getpid()
    with Phase(root) as phase:
        result = load_submissions.run(
            stack.info,
            submissions=args.submissions,
            clients=args.clients,
            in_flight_share=args.in_flight_share,
            run_id=run_id,
            drain_timeout_s=args.timeout,
            seed=args.seed,
            progress=progress,
        )
    result["cpu"] = phase.report()
    result["dead_letters"] = {
        queue: dead_letters(stack.info, queue)
        for queue in ("LaunchDeadLetterQueue", "NotifyDeadLetterQueue")
    }
    return result


def warm_up(info: dict[str, Any], log_path: Path, timeout_s: float, seed: int) -> None:
    """A few events for jobs of their own, all at once, before the clock starts: the function's
    workers are started (the cold starts are not what this measures)."""
    warming = load_state_changes.prepare(
        info,
        jobs=WARM_UP_EVENTS,
        duplicate_share=0,
        late_share=0,
        team_id=WARM_UP_TEAM,
        run_id=f"warm-up-{seed}",
        seed=seed,
    )
    load_state_changes.measure(
        warming, stack_client(info, "events"), log_path=log_path, timeout_s=timeout_s
    )


def state_change_phase(
    args: argparse.Namespace, stack: StackProcess, run_id: str
) -> dict[str, Any]:
    info, root = stack.info, stack.process.pid if stack.process else os.getpid()
    logs = function_logs(info)
    result: dict[str, Any] = {}
    if args.ceiling_jobs:
        direct = load_state_changes.prepare(
            info,
            jobs=args.ceiling_jobs,
            duplicate_share=0,
            late_share=0,
            team_id=CEILING_TEAM,
            run_id=f"{run_id}-direct",
            seed=args.seed,
        )
        wait_until_quiet(logs)
        with Phase(root) as phase:
            result["ceiling"] = load_state_changes.ceiling(direct.jobs, CEILING_THREADS)
        result["ceiling"]["cpu"] = phase.report()
        dynamodb_s = phase.parts.get(DYNAMODB_LOCAL, 0.0)
        result["ceiling"]["dynamodb_local_cpu_ms_per_completion"] = round(
            dynamodb_s / max(1, args.ceiling_jobs) * 1000, 1
        )
        progress(f"ceiling: {result['ceiling']['completions_per_s']} completions/s, direct")
    prepared = load_state_changes.prepare(
        info,
        jobs=args.events,
        duplicate_share=args.duplicate_share,
        late_share=args.late_share,
        team_id=STATE_CHANGE_TEAM,
        run_id=run_id,
        seed=args.seed,
    )
    progress(f"seeded {len(prepared.jobs)} InProgress jobs in {prepared.seeding_s:.1f} s")
    warm_up(info, logs / f"{STATE_CHANGE_FUNCTION}.log", args.timeout, args.seed)
    result["waited_for_quiet_s"] = wait_until_quiet(logs)
    with Phase(root) as phase:
        measured = load_state_changes.measure(
            prepared,
            stack_client(info, "events"),
            log_path=logs / f"{STATE_CHANGE_FUNCTION}.log",
            timeout_s=args.timeout,
        )
    result |= load_state_changes.verify(prepared, measured)
    result["cpu"] = phase.report()
    result["dead_letters"] = dead_letters(info, "StateChangeDeadLetterQueue")
    result["target_events_per_s"] = EVENTS_PER_S_TARGET
    return result


def measure(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    stack = StackProcess(data_dir)
    result: dict[str, Any] = {}
    try:
        stack.start()
        result["stack_start_s"] = round(stack.started_in_s, 2)
        progress(f"stack up in {stack.started_in_s:.1f} s at {stack.info['api_url']}")
        point_service_code_at(stack.info)
        run_id = f"{int(time.time())}"
        if args.submissions:
            result["submissions"] = submissions_phase(args, stack, run_id)
            progress("submissions done")
        if args.events:
            wait_until_quiet(function_logs(stack.info))
            result["state_changes"] = state_change_phase(args, stack, run_id)
            progress("state changes done")
    finally:
        StopSignals.ignore()
        stop_s, survivors = stack.stop()
        result["stop_s"] = round(stop_s, 2)
        result["survivors"] = sorted(survivors)
    return result


# ---------------------------------------------------------------------------- reporting


def _figure(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value:,}{unit}"


def submission_lines(result: dict[str, Any]) -> list[str]:
    http, latency = result["http"], result["latency"]
    return [
        f"Submissions: {result['submissions']:,} POST /v1/jobs from {result['clients']} clients "
        f"({result['keyed']:,} keyed, each sent twice: {result['keyed_retries_in_flight']:,} "
        f"retries while the first was in flight), {http['requests']:,} HTTP requests in "
        f"{result['posts_s']:.1f} s ({result['posts_per_s']} requests/s)",
        "",
        "| | |",
        "|---|---:|",
        f"| lost | {result['lost']} |",
        f"| duplicated | {result['duplicated']} |",
        f"| 5xx | {http['5xx']} |",
        f"| 429 (retried after Retry-After) | {http['429']} |",
        f"| 409 in flight (retried) | {http['409_in_flight']} |",
        f"| no answer | {http['no_answer']} |",
        f"| POST 2xx p50 / p99, each request alone | {_figure(latency['post_2xx']['p50_ms'])} / "
        f"{_figure(latency['post_2xx']['p99_ms'])} ms |",
        f"| first send p50 / p99 | {_figure(latency['first_send_2xx']['p50_ms'])} / "
        f"{_figure(latency['first_send_2xx']['p99_ms'])} ms |",
        f"| keyed retry p50 / p99 | {_figure(latency['keyed_retry_2xx']['p50_ms'])} / "
        f"{_figure(latency['keyed_retry_2xx']['p99_ms'])} ms |",
        f"| submission to 2xx, waits and retries in, p50 / p99 | "
        f"{_figure(latency['submission']['p50_ms'])} / "
        f"{_figure(latency['submission']['p99_ms'])} ms |",
        f"| jobs listed / statuses | {result['jobs_listed']:,} / {result['jobs']['statuses']} |",
        f"| all jobs ended after | {result['jobs_ended_s']} s "
        f"({result['jobs_not_ended']} never did) |",
    ]


def state_change_lines(result: dict[str, Any]) -> list[str]:
    check = result["check"]
    target = result["target_events_per_s"]
    met = "met" if (result["events_per_s"] or 0) >= target else "**missed**"
    lines = [
        f"State changes: {result['completed_events']:,} jobs InProgress, "
        f"{result['events_published']:,} events published "
        f"({result['duplicate_completed_events']:,} Completed twice, "
        f"{result['late_in_progress_events']:,} InProgress after Completed)",
        "",
        "| | |",
        "|---|---:|",
        f"| events/s, first publish to every event handled | {_figure(result['events_per_s'])} "
        f"(target ≥ {target:g}: {met}) |",
        f"| jobs Completed/s | {_figure(result['completions_per_s'])} |",
        f"| publishing took | {_figure(result['publish_s'])} s |",
        f"| every job Completed after | {_figure(result['all_completed_s'])} s |",
        f"| every event handled after | {_figure(result['all_handled_s'])} s |",
        f"| invocations applied / ignored | {result['invocations_applied']:,} / "
        f"{result['invocations_ignored']:,} |",
        f"| events never handled | {result['events_not_handled']} |",
        f"| jobs as expected (Completed, history Submitted → Validating → InProgress → Completed) "
        f"| {check['jobs_completed_as_expected']:,} of {check['jobs']:,} |",
        f"| Completed history items | {check['completed_history_items']:,} |",
        f"| slots held after (team / service, before: {check['service_slots_before']}) "
        f"| {check['team_slots_held_after']} / {check['service_slots_after']} |",
        f"| dead letters | {result['dead_letters']} |",
    ]
    if "ceiling" in result:
        ceiling = result["ceiling"]
        lines.append(
            f"| ceiling: the same writes applied directly ({ceiling['threads']} threads, "
            f"{ceiling['jobs']} jobs) | {_figure(ceiling['completions_per_s'])} completions/s, "
            f"{ceiling['dynamodb_local_cpu_ms_per_completion']} ms of DynamoDB Local CPU each |"
        )
    return lines


def cpu_lines(title: str, cpu: dict[str, Any]) -> list[str]:
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu["cpu_s_by_part"].items())
    return [
        f"CPU seconds during {title} ({cpu['wall_s']:.1f} s wall, "
        f"{cpu['cpu_s_available']:.0f} CPU s on this machine): {parts}"
    ]


def summary(result: dict[str, Any]) -> str:
    lines = [f"Local stack up in {result.get('stack_start_s', '–')} s", ""]
    if "submissions" in result:
        lines += [*submission_lines(result["submissions"]), ""]
        lines += [*cpu_lines("the submissions", result["submissions"]["cpu"]), ""]
    if "state_changes" in result:
        lines += [*state_change_lines(result["state_changes"]), ""]
        lines += [*cpu_lines("the state changes", result["state_changes"]["cpu"]), ""]
    lines.append(
        f"Stopped in {result.get('stop_s', '–')} s; processes left: {len(result['survivors'])}"
    )
    return "\n".join(lines)


def submission_failures(submissions: dict[str, Any]) -> list[str]:
    found = [
        f"submissions {name}: {submissions[name]}"
        for name in ("lost", "duplicated", "keyed_retries_not_accepted")
        if submissions[name]
    ]
    if submissions["http"]["5xx"]:
        found.append(f"5xx answers: {submissions['http']['5xx']}")
    if submissions["jobs_not_ended"]:
        found.append(f"jobs that never ended: {submissions['jobs']['statuses']}")
    return found


def state_change_failures(changes: dict[str, Any]) -> list[str]:
    check = changes["check"]
    found = []
    if changes["events_not_handled"]:
        found.append(f"events never handled: {changes['events_not_handled']}")
    if check["jobs_completed_as_expected"] != check["jobs"]:
        found.append(f"jobs not as expected: {check['wrong'][:3]}")
    if check["completed_history_items"] != check["jobs"]:
        found.append(f"Completed history items: {check['completed_history_items']}")
    if check["service_slots_after"] != check["service_slots_before"]:
        found.append("the service's slot count did not come back")
    ignorable = changes["duplicate_completed_events"] + changes["late_in_progress_events"]
    counted = (changes["invocations_applied"], changes["invocations_ignored"])
    if counted != (check["jobs"], ignorable):
        found.append(
            f"invocations applied / ignored: {counted[0]} / {counted[1]} "
            f"(expected {check['jobs']} / {ignorable})"
        )
    if changes["dead_letters"]:
        found.append(f"state changes in the dead-letter queue: {changes['dead_letters']}")
    return found


def failures(result: dict[str, Any]) -> list[str]:
    """What breaks the zero-loss properties (the speed targets are reported, not failures)."""
    found = [f"processes left running: {result['survivors']}"] if result["survivors"] else []
    if "submissions" in result:
        found += submission_failures(result["submissions"])
    if "state_changes" in result:
        found += state_change_failures(result["state_changes"])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--submissions", type=int, default=1000, help="POST /v1/jobs to make")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument(
        "--in-flight-share",
        type=float,
        default=0.25,
        help="share of keyed submissions whose retry goes while the first is in flight",
    )
    parser.add_argument("--events", type=int, default=1000, help="jobs given a Completed event")
    parser.add_argument(
        "--duplicate-share", type=float, default=0.2, help="Completed events published twice"
    )
    parser.add_argument(
        "--late-share", type=float, default=0.1, help="jobs given an InProgress after Completed"
    )
    parser.add_argument(
        "--ceiling-jobs",
        type=int,
        default=200,
        help="jobs completed directly, without EventBridge and Lambda (0: skip)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait per phase")
    parser.add_argument("--seed", type=int, default=7, help="for the plan of retries and events")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    signals = StopSignals()
    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "settings": {**vars(args), "output": str(args.output)},
        "commit": command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
    }
    with signals.installed(), tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        result |= measure(args, Path(scratch) / "data")
    result["total_s"] = round(time.monotonic() - started, 1)
    result["failures"] = failures(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(summary(result))
    for failure in result["failures"]:
        print(f"FAILED: {failure}")
    print(f"results in {args.output}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
