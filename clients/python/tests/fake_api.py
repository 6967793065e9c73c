"""A fake of the service behind httpx.MockTransport: scripted answers, every request kept."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
from transform_jobs_client import RetryPolicy, TransformJobs

API = "https://api.example.test/dev"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def job(
    job_id: str = "01jbz3k9x2v5q8r7t6w4y3n2m1", status: str = "Submitted", **extra: Any
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "JobId": job_id,
        "Status": status,
        "StatusReason": None,
        "CreatedAt": "2026-11-30T10:00:00.000Z",
        "UpdatedAt": "2026-11-30T10:00:01.000Z",
        "TransformJobName": "nightly",
        "SageMakerJobName": f"tj-dev-{job_id}",
        "Progress": {"InputObjects": 2, "OutputObjects": 1},
        "Request": REQUEST,
    }
    document.update(extra)
    return document


REQUEST: dict[str, Any] = {
    "ModelName": "churn-xgb",
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/team-a/in/"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/team-a/out/", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
}


SCHEDULE_ID = "01jbz3k9x2v5q8r7t6w4y3n2s1"


def schedule(schedule_id: str = SCHEDULE_ID, **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ScheduleId": schedule_id,
        "Name": "nightly-churn",
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "Timezone": "Europe/Paris",
        "Enabled": True,
        "NextRunAt": "2026-12-01T01:00:00.000Z",
        "Job": {**REQUEST, "TransformJobName": "churn-{ScheduledTime:%Y-%m-%d}"},
        "CreatedAt": "2026-11-30T10:00:00.000Z",
        "UpdatedAt": "2026-11-30T10:00:00.000Z",
    }
    document.update(extra)
    return document


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/problem+json"}
    )


class FakeApi:
    def __init__(self) -> None:
        self.answers: deque[Answer] = deque()
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def json(self, status: int, body: Any, **headers: str) -> None:
        self.answers.append(httpx.Response(status, json=body, headers=headers))

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def client(self, **options: Any) -> TransformJobs:
        options.setdefault("retry", RetryPolicy(attempts=4))
        return TransformJobs(
            API,
            "tjk_secret",
            transport=httpx.MockTransport(self.handle),
            sleep=self.sleeps.append,
            **options,
        )
