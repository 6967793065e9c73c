"""The submission half of `make bench-load`: POST /v1/jobs from concurrent clients over HTTP.

Half of the submissions carry an Idempotency-Key, and each keyed one is sent a second time with
the same key and body: most a little after the first answer (an answer lost on the way back),
a share while the first is still in flight (a client that gave up waiting). A client retries as
a careful one would: 429 after Retry-After; a keyed request also after 409 (the first is still
being processed), a 5xx or a broken connection. A request without a key is retried only after
429, when it cannot have run.

Every job reads an input prefix that holds no objects, so launch_job's preflight fails it
straight away: the jobs leave nothing running behind them.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_FAILURES = 5  # 5xx answers or broken connections before a client gives a request up
GIVE_UP_S = 120.0  # how long a client keeps waiting out 429 and 409 answers
IN_FLIGHT_WAIT_S = 0.25  # a 409 for a key still being processed says "retry shortly"
BACKOFF_S = 0.5
REQUEST_TIMEOUT_S = 60.0  # beyond API Gateway's 29 s: the gateway answers first
LATER_RETRY_S = (0.05, 2.0)  # when a keyed retry follows its first answer
IN_FLIGHT_DELAY_S = (0.005, 0.05)  # how long after the first an in-flight retry leaves
PAGE_SIZE = 100
SETTLE_POLL_S = 2.0
STALL_S = 60.0  # no job ended for this long: those left are reported, not waited for
TERMINAL = {"Completed", "Failed", "Stopped"}
WARM_UP_REQUESTS = 8  # twice the workers the local runtime runs per function


@dataclass(frozen=True)
class Submission:
    """One job a client wants; `retry` is how its keyed copy is sent ("" without a key)."""

    number: int
    key: str | None
    retry: str  # "", "after-answer" or "in-flight"
    body: dict[str, Any]


@dataclass
class Request:
    """One logical POST (a first send or a keyed retry) and the HTTP answers it took."""

    submission: Submission
    role: str  # "first" or "retry"
    statuses: list[int] = field(default_factory=list)  # 0: no answer (connection error)
    latencies_s: list[float] = field(default_factory=list)
    job_id: str | None = None
    elapsed_s: float = 0.0
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.job_id is not None


def job_body(bucket: str, run: str, number: int) -> dict[str, Any]:
    prefix = f"s3://{bucket}/bench-load/{run}/submissions/{number}"
    return {
        "ModelName": "echo",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{prefix}/input/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"{prefix}/output/", "Accept": "text/csv"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }


def number_of(job: dict[str, Any], run: str) -> int | None:
    """Which submission a listed job came from (its input prefix), None if not this run's."""
    uri = job["Request"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    marker = f"/bench-load/{run}/submissions/"
    if marker not in uri:
        return None
    return int(uri.split(marker, 1)[1].split("/", 1)[0])


def plan(
    count: int, *, in_flight_share: float, bucket: str, run: str, seed: int
) -> list[Submission]:
    """Every other submission keyed; of the keyed, `in_flight_share` retried in flight."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    submissions = []
    for number in range(count):
        keyed = number % 2 == 0
        retry = ("in-flight" if rng.random() < in_flight_share else "after-answer") if keyed else ""
        key = f"bench-load-{run}-{number}" if keyed else None
        submissions.append(Submission(number, key, retry, job_body(bucket, run, number)))
    return submissions


# ---------------------------------------------------------------------------- one request


def _retry_after_s(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


async def post(client: httpx.AsyncClient, request: Request, rng: random.Random) -> Request:
    """Sends one submission until it is answered 2xx or the client gives up."""
    submission = request.submission
    headers = {"Idempotency-Key": submission.key} if submission.key else {}
    started = time.perf_counter()
    failures = 0  # 5xx and broken connections; 429 and 409 are waited out until GIVE_UP_S
    while request.refusal is None and request.job_id is None:
        sent = time.perf_counter()
        try:
            response = await client.post("/v1/jobs", json=submission.body, headers=headers)
        except httpx.TransportError as error:
            request.statuses.append(0)
            request.latencies_s.append(time.perf_counter() - sent)
            failures += 1
            if submission.key is None or failures >= MAX_FAILURES:
                request.refusal = f"no answer ({failures} times): {error!r}"
            else:
                await asyncio.sleep(BACKOFF_S * 2**failures * rng.random())
            continue
        request.statuses.append(response.status_code)
        request.latencies_s.append(time.perf_counter() - sent)
        if response.is_success:
            request.job_id = str(response.json()["JobId"])
            continue
        failures += response.status_code >= 500
        wait = _wait_before_retry(response, keyed=submission.key is not None, failures=failures)
        if wait is None or failures >= MAX_FAILURES or time.perf_counter() - started > GIVE_UP_S:
            request.refusal = f"{response.status_code}: {response.text[:300]}"
        else:
            await asyncio.sleep(wait * (1 + rng.random() / 2))  # never sooner than asked
    request.elapsed_s = time.perf_counter() - started
    return request


def _wait_before_retry(response: httpx.Response, *, keyed: bool, failures: int) -> float | None:
    """How long to wait before sending again, or None when the client must not retry."""
    status = response.status_code
    if status == 429:
        return _retry_after_s(response)
    if keyed and status == 409:
        return IN_FLIGHT_WAIT_S
    if keyed and status >= 500:
        return float(BACKOFF_S * 2**failures)
    return None


# ---------------------------------------------------------------------------- clients


@dataclass
class Work:
    """What the clients share: submissions to send, retries to send later, what came back."""

    queue: asyncio.Queue[Request]
    done: list[Request] = field(default_factory=list)
    later: set[asyncio.Task[None]] = field(default_factory=set)


async def _later_retry(work: Work, retry: Request, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    await work.queue.put(retry)


async def client_loop(client_number: int, http: httpx.AsyncClient, work: Work, seed: int) -> None:
    rng = random.Random(seed * 1000 + client_number)  # noqa: S311 - jitter, not a secret
    while True:
        request = await work.queue.get()
        try:
            submission = request.submission
            if request.role == "first" and submission.retry == "in-flight":
                retry = Request(submission, "retry")
                await asyncio.gather(
                    post(http, request, rng), _post_after(http, retry, rng, IN_FLIGHT_DELAY_S)
                )
                work.done.append(retry)
            else:
                await post(http, request, rng)
            work.done.append(request)
            if request.role == "first" and submission.retry == "after-answer":
                task = asyncio.create_task(
                    _later_retry(work, Request(submission, "retry"), rng.uniform(*LATER_RETRY_S))
                )
                work.later.add(task)  # submit_all waits for it: the queue counts it once put
        finally:
            work.queue.task_done()


async def _post_after(
    http: httpx.AsyncClient, request: Request, rng: random.Random, delay_s: tuple[float, float]
) -> None:
    await asyncio.sleep(rng.uniform(*delay_s))
    await post(http, request, rng)


async def submit_all(
    api_url: str, api_key: str, submissions: list[Submission], clients: int, seed: int
) -> tuple[list[Request], float]:
    work = Work(queue=asyncio.Queue())
    for submission in submissions:
        work.queue.put_nowait(Request(submission, "first"))
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    # Two connections a client: its in-flight retries go beside the first send.
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    sessions = [
        httpx.AsyncClient(
            base_url=api_url, headers=headers, limits=limits, timeout=REQUEST_TIMEOUT_S
        )
        for _ in range(clients)
    ]
    started = time.perf_counter()
    tasks = [
        asyncio.create_task(client_loop(number, http, work, seed))
        for number, http in enumerate(sessions)
    ]
    try:
        while True:
            await work.queue.join()
            pending = {task for task in work.later if not task.done()}
            if pending:
                await asyncio.wait(pending)  # retries still to be put, then sent
            elif work.queue.empty():
                break
        took = time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in sessions:
            await http.aclose()
    return work.done, took


# ---------------------------------------------------------------------------- checking


async def list_jobs(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every job of the team, through GET /v1/jobs page by page (429 waited out)."""
    jobs: list[dict[str, Any]] = []
    params: dict[str, Any] = {"MaxResults": PAGE_SIZE}
    while True:
        response = await http.get("/v1/jobs", params=params)
        if response.status_code == 429:
            await asyncio.sleep(_retry_after_s(response))
            continue
        response.raise_for_status()
        page = response.json()
        jobs.extend(page["Jobs"])
        if not page.get("NextToken"):
            return jobs
        params["NextToken"] = page["NextToken"]


async def settled_jobs(
    api_url: str, api_key: str, run: str, timeout_s: float
) -> tuple[list[dict[str, Any]], float]:
    """This run's jobs once none is left running, and how long that took; or as they are when
    none has ended for STALL_S (or at the timeout)."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    started = time.perf_counter()
    progress_at, ended = started, -1
    async with httpx.AsyncClient(
        base_url=api_url, headers=headers, timeout=REQUEST_TIMEOUT_S
    ) as http:
        while True:
            jobs = [job for job in await list_jobs(http) if number_of(job, run) is not None]
            now = time.perf_counter()
            ended_now = sum(1 for job in jobs if job["Status"] in TERMINAL)
            if ended_now != ended:
                progress_at, ended = now, ended_now
            if ended == len(jobs) or now - progress_at > STALL_S or now - started > timeout_s:
                return jobs, now - started
            await asyncio.sleep(SETTLE_POLL_S)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def latency(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50_ms": _ms(percentile(values, 0.5)),
        "p99_ms": _ms(percentile(values, 0.99)),
        "max_ms": _ms(max(values) if values else None),
        "mean_ms": _ms(statistics.fmean(values) if values else None),
    }


def verify(
    submissions: list[Submission], requests: list[Request], jobs: list[dict[str, Any]], run: str
) -> dict[str, Any]:
    """Lost and duplicated, from the answers and from what GET /v1/jobs lists."""
    listed = {job["JobId"]: job for job in jobs}
    jobs_of: dict[int, set[str]] = {}
    for job in jobs:
        number = number_of(job, run)
        if number is not None:
            jobs_of.setdefault(number, set()).add(job["JobId"])
    answered: dict[int, set[str]] = {}
    for request in requests:
        if request.job_id:
            answered.setdefault(request.submission.number, set()).add(request.job_id)
    never_accepted = sorted(
        {r.submission.number for r in requests if not r.accepted and r.role == "first"}
    )
    not_listed = sorted(
        number for number, ids in answered.items() if any(job_id not in listed for job_id in ids)
    )
    no_job = sorted(s.number for s in submissions if not jobs_of.get(s.number))
    lost = sorted({*never_accepted, *not_listed, *no_job})
    two_answers = sorted(number for number, ids in answered.items() if len(ids) > 1)
    two_jobs = sorted(number for number, ids in jobs_of.items() if len(ids) > 1)
    duplicated = sorted({*two_answers, *two_jobs})
    return {
        "lost": len(lost),
        "lost_submissions": lost[:20],
        "never_accepted": len(never_accepted),
        "answered_but_not_listed": len(not_listed),
        "without_a_job": len(no_job),
        "duplicated": len(duplicated),
        "duplicated_submissions": duplicated[:20],
        "keys_answered_with_two_job_ids": len(two_answers),
        "submissions_with_two_jobs": len(two_jobs),
        "keyed_retries_not_accepted": sum(
            1 for r in requests if r.role == "retry" and not r.accepted
        ),
        "jobs_listed": len(jobs),
        "refusals": [r.refusal for r in requests if r.refusal][:10],
    }


def what_the_jobs_did(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """Statuses, and the commonest reasons with each job's own S3 location left out."""
    reasons = Counter(
        re.sub(r"s3://\S+", "s3://…", job.get("StatusReason") or "")[:200] for job in jobs
    )
    return {
        "statuses": dict(Counter(job["Status"] for job in jobs)),
        "reasons": [{"reason": reason, "jobs": count} for reason, count in reasons.most_common(3)],
    }


def http_counts(requests: list[Request]) -> dict[str, Any]:
    statuses = Counter(status for request in requests for status in request.statuses)
    return {
        "requests": sum(statuses.values()),
        "by_status": {str(status): count for status, count in sorted(statuses.items())},
        "5xx": sum(count for status, count in statuses.items() if status >= 500),
        "429": statuses.get(429, 0),
        "409_in_flight": statuses.get(409, 0),
        "no_answer": statuses.get(0, 0),
    }


def latencies(requests: list[Request]) -> dict[str, Any]:
    """Each HTTP request timed alone; 429 and 409 answers (and the waits after them) are not in
    the 2xx figures, and `submission` is first send to 2xx, waits and retries included."""
    ok = [
        latency_s
        for request in requests
        for status, latency_s in zip(request.statuses, request.latencies_s, strict=True)
        if 200 <= status < 300
    ]
    first = [r.latencies_s[-1] for r in requests if r.accepted and r.role == "first"]
    replayed = [r.latencies_s[-1] for r in requests if r.accepted and r.role == "retry"]
    return {
        "post_2xx": latency(ok),
        "first_send_2xx": latency(first),
        "keyed_retry_2xx": latency(replayed),
        "submission": latency([r.elapsed_s for r in requests if r.accepted and r.role == "first"]),
    }


async def warm_up(api_url: str, api_key: str, workers: int, rounds: int = 3) -> None:
    """Rounds of concurrent GET /v1/jobs before the clock starts, so the functions behind the
    API have their workers started: the figures are then the steady state, not cold starts."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    async with httpx.AsyncClient(
        base_url=api_url, headers=headers, timeout=REQUEST_TIMEOUT_S
    ) as http:
        for _ in range(rounds):
            await asyncio.gather(
                *(http.get("/v1/jobs", params={"MaxResults": 1}) for _ in range(workers))
            )


def run(
    info: dict[str, Any],
    *,
    submissions: int,
    clients: int,
    in_flight_share: float,
    run_id: str,
    drain_timeout_s: float,
    seed: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    wanted = plan(
        submissions,
        in_flight_share=in_flight_share,
        bucket=info["bucket"],
        run=run_id,
        seed=seed,
    )
    asyncio.run(warm_up(info["api_url"], info["api_key"], WARM_UP_REQUESTS))
    requests, took = asyncio.run(
        submit_all(info["api_url"], info["api_key"], wanted, clients, seed)
    )
    progress(f"{len(requests)} submissions and retries answered in {took:.1f} s; jobs ending")
    jobs, settle_s = asyncio.run(
        settled_jobs(info["api_url"], info["api_key"], run_id, drain_timeout_s)
    )
    counts = http_counts(requests)
    return {
        "submissions": submissions,
        "clients": clients,
        "keyed": sum(1 for s in wanted if s.key),
        "keyed_retries_in_flight": sum(1 for s in wanted if s.retry == "in-flight"),
        "keyed_retries_after_answer": sum(1 for s in wanted if s.retry == "after-answer"),
        "posts_s": round(took, 2),
        "posts_per_s": round(counts["requests"] / took, 1) if took else None,
        "http": counts,
        "latency": latencies(requests),
        **verify(wanted, requests, jobs, run_id),
        "jobs": what_the_jobs_did(jobs),
        "jobs_not_ended": sum(1 for job in jobs if job["Status"] not in TERMINAL),
        "jobs_ended_s": round(settle_s, 1),
    }
