"""TransformJobs: the service's API as Python calls, safe to retry.

Every submit carries an Idempotency-Key (generated unless given), so a POST whose answer was
lost is sent again without making a second job. 429 and 5xx answers and network errors are
retried with exponential backoff and full jitter, honouring Retry-After; a request that may
not be repeated (creating a webhook subscription, say) is retried only when it provably did
not run (the connection failed, or the answer was 429 or 503). Errors raise ApiError
subclasses carrying the problem+json document.
"""

from __future__ import annotations

import builtins
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from transform_jobs_client import models
from transform_jobs_client.errors import (
    ApiError,
    ConnectionFailed,
    ServerError,
    TransformJobsError,
)

__all__ = ["RetryPolicy", "TransformJobs", "UnexpectedResponse", "WaitTimedOut"]

Model = TypeVar("Model", bound=BaseModel)
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answers that mean the request was not acted on: safe to send again whatever it was.
_NOT_PROCESSED = frozenset({429, 503})
# With an Idempotency-Key, 409 means the first attempt is still being processed: ask again.
_IN_FLIGHT = 409


class UnexpectedResponse(TransformJobsError):
    """The service answered something this client cannot read (not JSON, not the model)."""


class WaitTimedOut(TransformJobsError):
    """wait() gave up before the job ended; `job` is the job as last seen."""

    def __init__(self, job: models.JobResource, timeout: float) -> None:
        self.job = job
        super().__init__(f"job {job.JobId} is still {job.Status} after {timeout:g} s")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    # A Retry-After longer than this is not waited for: the error is raised instead.
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311 - jitter


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _body(request: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(request)


class TransformJobs:
    """A client for one deployment (its API URL, with the stage) and one team's API key."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._transport = transport
        self._http = httpx.Client(
            base_url=self.api_url + "/",
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TransformJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ jobs

    def submit(
        self,
        request: models.JobRequest | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> models.JobResource:
        """POST /v1/jobs: a CreateTransformJob-shaped dict or a models.JobRequest."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        answer = self._call("POST", "v1/jobs", json=_body(request), headers=headers)
        return _parsed(models.JobResource, answer)

    def validate(self, request: models.JobRequest | Mapping[str, Any]) -> models.JobValidation:
        """POST /v1/jobs/validate: every check of a submission and its launch, nothing started.
        A request that breaks a rule comes back with Valid false and its Errors (no exception)."""
        answer = self._call("POST", "v1/jobs/validate", json=_body(request), replayable=True)
        return _parsed(models.JobValidation, answer)

    def rerun(
        self,
        job_id: str,
        overrides: models.RerunOverrides | Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> models.JobResource:
        """POST /v1/jobs/{jobId}/rerun: a new job with the original's request and `overrides`
        (ModelName, TransformOutput.S3OutputPath, Environment, TransformResources,
        TransformJobName); its outputs go under <original output>/reruns/<new id>/ by default."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        body = _body(overrides) if overrides is not None else {}
        answer = self._call("POST", f"v1/jobs/{job_id}/rerun", json=body, headers=headers)
        return _parsed(models.JobResource, answer)

    def get(self, job_id: str) -> models.JobResource:
        return _parsed(models.JobResource, self._call("GET", f"v1/jobs/{job_id}"))

    def list(
        self,
        *,
        status: str | None = None,
        model_name: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        schedule_id: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[models.JobResource]:
        """The team's jobs, newest first, following NextToken page after page."""
        params = {
            "Status": status,
            "ModelName": model_name,
            "CreatedAfter": _time(created_after),
            "CreatedBefore": _time(created_before),
            "ScheduleId": schedule_id,
            "MaxResults": page_size,
        }
        for page in self._pages("v1/jobs", params, models.JobPage):
            yield from page.Jobs

    def cancel(self, job_id: str) -> models.JobResource:
        """Cancel (repeatable); raises Conflict for a job that already Completed or Failed."""
        answer = self._call("POST", f"v1/jobs/{job_id}/cancel", replayable=True)
        return _parsed(models.JobResource, answer)

    def events(self, job_id: str) -> builtins.list[models.JobEvent]:
        answer = self._call("GET", f"v1/jobs/{job_id}/events")
        return _parsed(models.JobEventList, answer).Events

    def outputs(self, job_id: str) -> Iterator[models.OutputObject]:
        """The job's output objects, each with a presigned URL."""
        for page in self._pages(f"v1/jobs/{job_id}/outputs", {}, models.OutputList):
            yield from page.Outputs

    def download_outputs(self, job_id: str, folder: str | Path) -> builtins.list[Path]:
        """Downloads every output into `folder` (keeping the keys' sub-folders); returns the
        files written. A file appears whole or not at all."""
        root = Path(folder)
        written = []
        with httpx.Client(timeout=self._http.timeout, transport=self._transport) as plain:
            for output in self.outputs(job_id):
                target = root.joinpath(*_safe_parts(output.Key))
                target.parent.mkdir(parents=True, exist_ok=True)
                self._download(plain, output, target)
                written.append(target)
        return written

    def _download(self, plain: httpx.Client, output: models.OutputObject, target: Path) -> None:
        """One output, whole or not at all (a `.part` file renamed once complete)."""
        partial = target.with_name(target.name + ".part")
        try:
            # The presigned URL carries its own signature: no API key goes to S3.
            with plain.stream("GET", output.Url) as response:
                if response.status_code != 200:
                    raise ApiError(
                        response.status_code,
                        f"download of {output.Key} failed",
                        "the presigned link was refused or has expired; list the outputs again",
                    )
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            if partial.stat().st_size != output.Size:
                raise TransformJobsError(
                    f"download of {output.Key} stopped at {partial.stat().st_size} of "
                    f"{output.Size} bytes; download it again"
                )
            partial.replace(target)
        except httpx.HTTPError as error:
            raise ConnectionFailed(f"download of {output.Key} failed: {error}") from error
        finally:
            partial.unlink(missing_ok=True)

    def wait(
        self,
        job: models.JobResource | str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[models.JobResource], None] | None = None,
        poll_interval: float = 2.0,
    ) -> models.JobResource:
        """Polls until the job ends (Completed, Failed or Stopped) and returns it; calls
        `on_progress` with every version of the job seen. Raises WaitTimedOut."""
        job_id = job if isinstance(job, str) else job.JobId
        deadline = None if timeout is None else time.monotonic() + timeout
        current: models.JobResource | None = None
        while True:
            try:
                current = self.get(job_id)
            except (ConnectionFailed, ServerError):
                # A short outage must not end a wait of hours: poll on until the deadline.
                if current is None or (deadline is not None and time.monotonic() >= deadline):
                    raise
                self._sleep(poll_interval)
                continue
            if on_progress is not None:
                on_progress(current)
            if current.Status.value in TERMINAL:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimedOut(current, timeout or 0)
            pause = poll_interval
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - time.monotonic()))
            self._sleep(pause)

    # ------------------------------------------------------------------ schedules

    def create_schedule(
        self, schedule: models.ScheduleCreate | Mapping[str, Any]
    ) -> models.Schedule:
        """POST /v1/schedules: Name, ScheduleExpression (rate(...) or cron(...)), Timezone, and a
        Job whose S3 URIs and TransformJobName may hold {ScheduledTime:<strftime>}."""
        answer = self._call("POST", "v1/schedules", json=_body(schedule), replayable=False)
        return _parsed(models.Schedule, answer)

    def list_schedules(self) -> Iterator[models.Schedule]:
        for page in self._pages("v1/schedules", {}, models.SchedulePage):
            yield from page.Schedules

    def get_schedule(self, schedule_id: str) -> models.Schedule:
        return _parsed(models.Schedule, self._call("GET", f"v1/schedules/{schedule_id}"))

    def update_schedule(
        self, schedule_id: str, changes: models.ScheduleUpdate | Mapping[str, Any]
    ) -> models.Schedule:
        """PATCH: the fields to change (Enabled false pauses it; StartAt/EndAt null clear)."""
        answer = self._call(
            "PATCH", f"v1/schedules/{schedule_id}", json=_body(changes), replayable=True
        )
        return _parsed(models.Schedule, answer)

    def delete_schedule(self, schedule_id: str) -> None:
        """Deletes the schedule; the jobs it started stay."""
        self._call("DELETE", f"v1/schedules/{schedule_id}", replayable=True)

    def run_schedule(
        self, schedule_id: str, *, scheduled_time: datetime | str | None = None
    ) -> models.JobResource:
        """One job now, for `scheduled_time` (default now); raises Conflict if that time has its
        job already (so it is not retried: a retry of a run that was made would be refused)."""
        body = {"ScheduledTime": _time(scheduled_time)} if scheduled_time is not None else {}
        answer = self._call("POST", f"v1/schedules/{schedule_id}/run", json=body, replayable=False)
        return _parsed(models.JobResource, answer)

    # ------------------------------------------------------------------ webhooks

    def create_webhook(
        self, url: str, event_types: builtins.list[str], *, description: str | None = None
    ) -> models.WebhookWithSecret:
        """Subscribes; the answer's Secret is shown this once."""
        body: dict[str, Any] = {"Url": url, "EventTypes": event_types}
        if description is not None:
            body["Description"] = description
        answer = self._call("POST", "v1/webhooks", json=body, replayable=False)
        return _parsed(models.WebhookWithSecret, answer)

    def list_webhooks(self) -> Iterator[models.Webhook]:
        for page in self._pages("v1/webhooks", {}, models.WebhookPage):
            yield from page.Webhooks

    def get_webhook(self, webhook_id: str) -> models.Webhook:
        return _parsed(models.Webhook, self._call("GET", f"v1/webhooks/{webhook_id}"))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        event_types: builtins.list[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> models.Webhook:
        changes: dict[str, Any] = {
            "Url": url,
            "EventTypes": event_types,
            "Description": description,
            "Enabled": enabled,
        }
        body = {name: value for name, value in changes.items() if value is not None}
        answer = self._call("PATCH", f"v1/webhooks/{webhook_id}", json=body, replayable=True)
        return _parsed(models.Webhook, answer)

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", f"v1/webhooks/{webhook_id}", replayable=True)

    def rotate_webhook_secret(self, webhook_id: str) -> models.RotatedSecret:
        answer = self._call("POST", f"v1/webhooks/{webhook_id}/rotate-secret", replayable=False)
        return _parsed(models.RotatedSecret, answer)

    def test_webhook(self, webhook_id: str) -> models.TestResult:
        answer = self._call("POST", f"v1/webhooks/{webhook_id}/test", replayable=False)
        return _parsed(models.TestResult, answer)

    def deliveries(self, webhook_id: str) -> Iterator[models.Delivery]:
        for page in self._pages(f"v1/webhooks/{webhook_id}/deliveries", {}, models.DeliveryPage):
            yield from page.Deliveries

    def redeliver(self, webhook_id: str, delivery_id: str) -> models.Delivery:
        path = f"v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
        return _parsed(models.Delivery, self._call("POST", path, replayable=False))

    # ------------------------------------------------------------------ plumbing

    def _pages(
        self, path: str, params: Mapping[str, Any], page_model: type[Model]
    ) -> Iterator[Model]:
        query = {name: value for name, value in params.items() if value is not None}
        seen: set[str] = set()
        while True:
            page = _parsed(page_model, self._call("GET", path, params=query))
            yield page
            token = getattr(page, "NextToken", None)
            if not token or token in seen:  # a token given twice would loop for ever
                return
            seen.add(token)
            query["NextToken"] = token

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        replayable: bool | None = None,
    ) -> Any:
        """One API call with retries; the decoded JSON answer (None for 204)."""
        if replayable is None:  # GETs, and POSTs made safe by an Idempotency-Key
            replayable = method == "GET" or bool(headers and "Idempotency-Key" in headers)
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except httpx.TransportError as error:
                # A connection that never opened sent nothing; anything else may have run.
                if attempt == attempts or not (replayable or isinstance(error, httpx.ConnectError)):
                    raise ConnectionFailed(
                        f"{method} {self.api_url}/{path} failed: {error or type(error).__name__}"
                    ) from error
                self._sleep(self.retry.delay(attempt, None))
                continue
            status = response.status_code
            retry_after = _retry_after(response)
            keyed = bool(headers and "Idempotency-Key" in headers)
            retried = status in _RETRIED_STATUSES and (replayable or status in _NOT_PROCESSED)
            if (
                (retried or (keyed and status == _IN_FLIGHT))
                and attempt < attempts
                and (retry_after is None or retry_after <= self.retry.max_retry_after)
            ):
                self._sleep(self.retry.delay(attempt, retry_after))
                continue
            if method == "DELETE" and status == 404 and attempt > 1:
                return None  # an earlier attempt deleted it; its answer was lost
            return _decoded(response)
        raise AssertionError("unreachable")  # pragma: no cover


def _decoded(response: httpx.Response) -> Any:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = _NOT_JSON
    status = response.status_code
    if status >= 400:
        document = None if body is _NOT_JSON else body
        raise ApiError.from_response(status, document, response.reason_phrase)
    if status >= 300 or body is _NOT_JSON or (body is None and status != 204):
        # A proxy's page or a redirect: not the API (check the URL and its stage).
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} answered {status} "
            f"{response.headers.get('Content-Type', 'without a body')}, not the API's JSON"
        )
    return body


_NOT_JSON = object()


def _parsed(model: type[Model], body: Any) -> Model:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise UnexpectedResponse(
            f"the answer is not a {model.__name__} as this client knows it: "
            f"{error.error_count()} problem(s), first: {error.errors()[0]['msg']} at "
            f"{'.'.join(str(part) for part in error.errors()[0]['loc'])}"
        ) from None


def _time(value: datetime | str | None) -> str | None:
    """An RFC 3339 time, as the API takes it; a datetime without a zone is read as UTC."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def _safe_parts(key: str) -> builtins.list[str]:
    """An output key as path parts under the download folder (never above it)."""
    parts = [part for part in PurePosixPath(key).parts if part not in ("", ".", "/")]
    if not parts or ".." in parts or any("\\" in part or ":" in part for part in parts):
        raise TransformJobsError(f"output key {key!r} cannot be written safely")
    return parts
