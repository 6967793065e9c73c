"""A minimal HTTP client for the API, as a team's service would call it (standard library)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TERMINAL = {"Completed", "Failed", "Stopped"}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    def __init__(self, api_url: str, key: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.key = key

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        request = urllib.request.Request(  # noqa: S310 - loopback http in tests
            self.api_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                **({"Authorization": f"Bearer {self.key}"} if self.key else {}),
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310
                raw, status, reply_headers = reply.read(), reply.status, dict(reply.headers)
        except urllib.error.HTTPError as error:
            raw, status, reply_headers = error.read(), error.code, dict(error.headers)
        return Reply(status, reply_headers, json.loads(raw) if raw else None)

    def submit(self, request: dict[str, Any]) -> Reply:
        return self.call("POST", "/v1/jobs", request)

    def job(self, job_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/v1/jobs/{job_id}")
        assert reply.status == 200, reply
        body: dict[str, Any] = reply.body
        return body

    def wait(
        self, job_id: str, statuses: set[str] = TERMINAL, timeout_s: float = 90
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["Status"] in statuses:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is {job['Status']} after {timeout_s} s")
            time.sleep(0.25)

    def resolve(self, location: str) -> str:
        """A Location header as an absolute URL (it is relative to the API's host)."""
        return urllib.parse.urljoin(self.api_url + "/", location)
