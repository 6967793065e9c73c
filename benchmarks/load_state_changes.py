"""The state-change half of `make bench-load`: SageMaker "Transform Job State Change" events
published on the local EventBridge, recorded by record_state_change, duplicates included.

Jobs are put in the launched state (InProgress, holding a running-job slot) through the
service's own repository code pointed at the stack's DynamoDB, by the steps launch_job takes
(stored Submitted, moved to Validating, a slot taken, moved to InProgress with the SageMaker
ARN). Their events have the shape of events/eventbridge_transform_completed.json and go through
moto's PutEvents, source aws.sagemaker, as SageMaker's would.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from transform_jobs import clock
from transform_jobs.adapters.dynamodb import job_repository, team_repository
from transform_jobs.jobs.state_changes import SageMakerReport, apply
from transform_jobs.jobs.submission import new_job
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, SageMakerStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.request import JobRequest
from transform_jobs.models.team import Team

ROOT = Path(__file__).resolve().parents[1]
EVENT_SAMPLE = ROOT / "events" / "eventbridge_transform_completed.json"
DETAIL_TYPE = "SageMaker Transform Job State Change"
PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's own limit per PutEvents call
# The service's limit (ServiceMaxRunningJobs) guards SageMaker; these jobs never reach it, and
# the benchmark needs more of them at once than it allows.
SEEDING_SERVICE_LIMIT = 1_000_000
SEEDING_THREADS = 4
POLL_S = 0.05  # reading the log's new lines costs next to nothing
STALL_S = 60.0  # the async invoker's first retry comes after 60 s


@dataclass(frozen=True)
class LaunchedJob:
    """A job as launch_job leaves it: InProgress under SageMaker, holding a slot."""

    job_id: str
    job_name: str
    arn: str
    ended_at: datetime


@dataclass(frozen=True)
class Publication:
    """One PutEvents entry, and what it is in the benchmark's plan."""

    job: LaunchedJob
    status: str
    kind: str  # "first" (the Completed that counts), "duplicate" or "late" (an InProgress)


@dataclass
class Plan:
    publications: list[Publication] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for publication in self.publications if publication.kind == kind)


# ---------------------------------------------------------------------------- seeding


def seed_team(team_id: str, bucket: str, slots: int) -> None:
    team_repository.put_team(
        Team(
            TeamId=team_id,
            InputPrefixes=[f"s3://{bucket}/"],
            OutputPrefixes=[f"s3://{bucket}/"],
            Models=["*"],
            MaxRunningJobs=max(slots, 1),
        )
    )


def job_request(bucket: str, run: str, number: int) -> JobRequest:
    prefix = f"s3://{bucket}/bench-load/{run}/state-changes/{number}"
    return JobRequest.model_validate(
        {
            "ModelName": "echo",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{prefix}/input/"}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": f"{prefix}/output/", "Accept": "text/csv"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        }
    )


def _handed_to_sagemaker(job: Job, arn: str) -> JobUpdate | None:
    update = move(job, JobStatus.IN_PROGRESS, source="launch", reason="Handed to SageMaker.")
    if update is not None:
        update.job.SageMakerJobArn = arn
        update.job.StartedAt = update.job.StartedAt or clock.now()
    return update


def _with_retries(step: Callable[[], Job | None]) -> Job | None:
    """Seeding threads contend for the shared capacity counters; a lost race is tried again."""
    for _ in range(20):
        try:
            return step()
        except job_repository.ConflictError:
            time.sleep(random.uniform(0.01, 0.05))  # noqa: S311 - jitter, not security
    raise RuntimeError("seeding kept losing races on the capacity counters")


def launched_job(team: Team, request: JobRequest, arn_prefix: str) -> LaunchedJob:
    """One job through launch_job's steps, without SageMaker."""
    job = new_job(team.TeamId, request)
    job_repository.create_job(job)
    job_repository.update_job(
        job.JobId, lambda current: move(current, JobStatus.VALIDATING, source="launch")
    )
    validating = job_repository.get_job(job.JobId)
    if validating is None:
        raise RuntimeError(f"job {job.JobId} vanished while seeding")
    _with_retries(
        lambda: job_repository.take_capacity(
            validating, team_limit=team.MaxRunningJobs, service_limit=SEEDING_SERVICE_LIMIT
        )
    )
    arn = f"{arn_prefix}{job.SageMakerJobName}"
    started = job_repository.update_job(
        job.JobId, lambda current: _handed_to_sagemaker(current, arn)
    )
    if started is None or not started.HoldsCapacity:
        raise RuntimeError(f"job {job.JobId} did not reach InProgress holding a slot")
    ended_at = (started.StartedAt or clock.now()) + timedelta(minutes=6)
    return LaunchedJob(job.JobId, job.SageMakerJobName, arn, ended_at.replace(microsecond=0))


def seed_jobs(
    count: int, *, team_id: str, bucket: str, run: str, arn_prefix: str
) -> list[LaunchedJob]:
    seed_team(team_id, bucket, count)
    team = team_repository.get_team(team_id)
    if team is None:
        raise RuntimeError(f"team {team_id} was not stored")
    with ThreadPoolExecutor(SEEDING_THREADS) as pool:
        return list(
            pool.map(
                lambda number: launched_job(team, job_request(bucket, run, number), arn_prefix),
                range(count),
            )
        )


# ---------------------------------------------------------------------------- events


def plan(jobs: list[LaunchedJob], *, duplicate_share: float, late_share: float, seed: int) -> Plan:
    """Each job's Completed once, in job order; a share of them published a second time, and a
    share of jobs get an InProgress after their Completed, each a little later in the stream
    (10 to 200 publications on), as EventBridge's at-least-once, unordered delivery allows."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    extras: dict[int, list[Publication]] = {}
    for position, job in enumerate(jobs):
        if rng.random() < duplicate_share:
            extras.setdefault(position + rng.randint(10, 200), []).append(
                Publication(job, "Completed", "duplicate")
            )
        if rng.random() < late_share:
            extras.setdefault(position + rng.randint(10, 200), []).append(
                Publication(job, "InProgress", "late")
            )
    result = Plan()
    for position, job in enumerate(jobs):
        result.publications.append(Publication(job, "Completed", "first"))
        result.publications.extend(extras.pop(position, []))
    for position in sorted(extras):
        result.publications.extend(extras[position])
    return result


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def entry(sample: dict[str, Any], publication: Publication, team_id: str) -> dict[str, Any]:
    """A PutEvents entry with the detail SageMaker sends for this job and status."""
    job = publication.job
    detail = copy.deepcopy(sample["detail"])
    detail.update(
        TransformJobName=job.job_name,
        TransformJobArn=job.arn,
        TransformJobStatus=publication.status,
        CreationTime=_millis(job.ended_at - timedelta(minutes=7)),
        TransformStartTime=_millis(job.ended_at - timedelta(minutes=6)),
        TransformEndTime=_millis(job.ended_at),
    )
    detail["Tags"] = {
        **detail.get("Tags", {}),
        "transform-jobs:job-id": job.job_id,
        "transform-jobs:team": team_id,
    }
    if publication.status != "Completed":
        detail.pop("TransformEndTime")
    return {
        "Source": sample["source"],
        "DetailType": sample["detail-type"],
        "Resources": [job.arn],
        "Detail": json.dumps(detail),
        "Time": datetime.now(UTC),
    }


def load_sample() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(EVENT_SAMPLE.read_text())
    if sample["detail-type"] != DETAIL_TYPE or sample["source"] != "aws.sagemaker":
        raise ValueError(f"{EVENT_SAMPLE} is not a SageMaker transform job state change")
    return sample


def batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def publish(events: Any, entries: list[dict[str, Any]]) -> float:
    """PutEvents, ten entries a call, one call after the other; returns when the first went."""
    first = 0.0
    for chunk in batches(entries, PUT_EVENTS_MAX_ENTRIES):
        sent_at = time.monotonic()
        first = first or sent_at
        reply = events.put_events(Entries=chunk)
        if reply.get("FailedEntryCount"):
            failed = [item for item in reply["Entries"] if "ErrorCode" in item]
            raise RuntimeError(f"PutEvents refused entries: {failed[:3]}")
    return first


# ---------------------------------------------------------------------------- watching


class HandledCounter:
    """Counts record_state_change invocations from its log: one "State change" line each."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.offset = log_path.stat().st_size if log_path.exists() else 0
        self.applied = 0
        self.ignored = 0
        self._partial = b""

    @property
    def handled(self) -> int:
        return self.applied + self.ignored

    def read(self) -> None:
        if not self.log_path.exists():
            return
        with self.log_path.open("rb") as stream:
            stream.seek(self.offset)
            chunk = stream.read()
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if b'"State change"' not in line:
                continue
            for record in json_objects(line.decode(errors="replace")):
                if record.get("message") != "State change":
                    continue
                if record.get("applied"):
                    self.applied += 1
                else:
                    self.ignored += 1


def json_objects(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects in a line of a function's log. Its workers share the file, and a
    metrics line is written without its line break, which may come after another worker's
    line: one line can hold two objects."""
    decoder = json.JSONDecoder()
    at = text.find("{")
    while 0 <= at < len(text):
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict):
            yield value
        at = text.find("{", end)


@dataclass
class Timings:
    first_publish: float = 0.0
    published: float = 0.0
    all_completed: float = 0.0
    all_handled: float = 0.0


def watch(
    counter: HandledCounter, jobs: int, events: int, timings: Timings, timeout_s: float
) -> None:
    """Until every event was handled, from the function's log alone: polling the table would
    take DynamoDB Local's time from what is measured. What the log says is checked after.
    Gives up when nothing more was handled for STALL_S after the last publish: events lost on
    the way then show as jobs left InProgress, rather than as a wait until the timeout."""
    deadline = time.monotonic() + timeout_s
    progress_at, handled = time.monotonic(), 0
    while time.monotonic() < deadline:
        counter.read()
        now = time.monotonic()
        if counter.handled != handled:
            progress_at, handled = now, counter.handled
        if not timings.all_completed and counter.applied >= jobs:
            timings.all_completed = now
        if counter.handled >= events:
            timings.all_handled = now
            return
        if timings.published and now - max(progress_at, timings.published) > STALL_S:
            return
        time.sleep(POLL_S)


# ---------------------------------------------------------------------------- checking


def check_job(job: LaunchedJob) -> dict[str, Any]:
    """What a job ended as, against what exactly one applied Completed leaves."""
    stored = job_repository.get_job(job.job_id)
    history = [event.Status.value for event in job_repository.job_history(job.job_id)]
    problems = []
    if stored is None:
        return {"job_id": job.job_id, "problems": ["missing"], "history": history}
    if stored.Status is not JobStatus.COMPLETED:
        problems.append(f"status {stored.Status.value}")
    if history != ["Submitted", "Validating", "InProgress", "Completed"]:
        problems.append(f"history {history}")
    if stored.EndedAt != job.ended_at:
        problems.append(f"EndedAt {stored.EndedAt} (event said {job.ended_at})")
    if stored.HoldsCapacity:
        problems.append("still holds a slot")
    if len(stored.SeenEventIds) != 1:
        problems.append(f"{len(stored.SeenEventIds)} event ids recorded")
    return {"job_id": job.job_id, "problems": problems, "history": history}


def check(jobs: list[LaunchedJob], team_id: str, threads: int = 4) -> dict[str, Any]:
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(check_job, jobs))
    wrong = [result for result in results if result["problems"]]
    completed_items = sum(result["history"].count("Completed") for result in results)
    return {
        "jobs": len(jobs),
        "jobs_completed_as_expected": len(jobs) - len(wrong),
        "completed_history_items": completed_items,
        "history_items": sum(len(result["history"]) for result in results),
        "team_slots_held_after": job_repository.running_count(team_id),
        "wrong": wrong[:20],
    }


# ---------------------------------------------------------------------------- the run


@dataclass
class Prepared:
    """Jobs launched, and the events that will complete them, ready to publish."""

    team_id: str
    jobs: list[LaunchedJob]
    plan: Plan
    entries: list[dict[str, Any]]
    seeding_s: float
    service_slots_before: int


def prepare(
    info: dict[str, Any],
    *,
    jobs: int,
    duplicate_share: float,
    late_share: float,
    team_id: str,
    run_id: str,
    seed: int,
) -> Prepared:
    arn_prefix = f"arn:aws:sagemaker:{info['region']}:123456789012:transform-job/"
    started = time.monotonic()
    launched = seed_jobs(
        jobs, team_id=team_id, bucket=info["bucket"], run=run_id, arn_prefix=arn_prefix
    )
    seeding_s = time.monotonic() - started
    the_plan = plan(launched, duplicate_share=duplicate_share, late_share=late_share, seed=seed)
    sample = load_sample()
    entries = [entry(sample, publication, team_id) for publication in the_plan.publications]
    # Taken before the events: the slots every other job of the stack holds, for the check.
    others = job_repository.running_count() - job_repository.running_count(team_id)
    return Prepared(team_id, launched, the_plan, entries, seeding_s, others)


@dataclass
class Measured:
    """What a publication of the prepared events took, and what the function reported."""

    timings: Timings
    counter: HandledCounter


def measure(
    prepared: Prepared, events_client: Any, *, log_path: Path, timeout_s: float
) -> Measured:
    """Publishes the events, then waits until every job ended and every event was handled."""
    counter = HandledCounter(log_path)
    timings = Timings()
    watcher = threading.Thread(
        target=watch,
        args=(counter, len(prepared.jobs), len(prepared.entries), timings, timeout_s),
        name="watch",
        daemon=True,
    )
    watcher.start()
    timings.first_publish = publish(events_client, prepared.entries)
    timings.published = time.monotonic()
    watcher.join()
    counter.read()
    return Measured(timings, counter)


def verify(prepared: Prepared, measured: Measured) -> dict[str, Any]:
    """The figures, and every job checked against what one applied Completed leaves."""
    checked = check(prepared.jobs, prepared.team_id)
    checked["service_slots_before"] = prepared.service_slots_before
    checked["service_slots_after"] = job_repository.running_count()
    result = summarise(
        prepared.plan, measured.timings, measured.counter, checked, len(prepared.entries)
    )
    result["seeding_s"] = round(prepared.seeding_s, 1)
    return result


def ceiling(jobs: list[LaunchedJob], threads: int) -> dict[str, Any]:
    """record_state_change's writes without EventBridge or Lambda: the Completed reports
    applied by the same code (state_changes.apply), from `threads` threads in this process.
    What DynamoDB Local allows for these writes, give or take this process's own overhead."""

    def complete(job: LaunchedJob) -> bool:
        report = SageMakerReport(
            job_name=job.job_name,
            status=SageMakerStatus.COMPLETED,
            source="sagemaker",
            event_id=f"direct-{job.job_id}",
            arn=job.arn,
            ended_at=job.ended_at,
        )
        return apply(report) is not None

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        applied = sum(pool.map(complete, jobs))
    took = time.monotonic() - started
    return {
        "jobs": len(jobs),
        "threads": threads,
        "applied": applied,
        "seconds": round(took, 2),
        "completions_per_s": round(len(jobs) / took, 1) if took else None,
    }


def _seconds(end: float, start: float) -> float | None:
    return round(end - start, 3) if end else None


def summarise(
    the_plan: Plan, timings: Timings, counter: HandledCounter, checked: dict[str, Any], sent: int
) -> dict[str, Any]:
    completed_s = _seconds(timings.all_completed, timings.first_publish)
    handled_s = _seconds(timings.all_handled, timings.first_publish)
    return {
        "events_published": sent,
        "completed_events": the_plan.count("first"),
        "duplicate_completed_events": the_plan.count("duplicate"),
        "late_in_progress_events": the_plan.count("late"),
        "publish_s": _seconds(timings.published, timings.first_publish),
        "all_completed_s": completed_s,
        "all_handled_s": handled_s,
        "events_per_s": round(sent / handled_s, 1) if handled_s else None,
        "completions_per_s": (
            round(the_plan.count("first") / completed_s, 1) if completed_s else None
        ),
        "invocations_applied": counter.applied,
        "invocations_ignored": counter.ignored,
        "events_not_handled": max(0, sent - counter.handled),
        "check": checked,
    }
