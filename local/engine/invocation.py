"""POST /invocations to a model process, with SageMaker's timeout and retry rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import urllib3

SUCCESS = 200
ANSWER_EXCERPT_BYTES = 300
# A killed process's sockets are closed a moment before its exit status can be collected.
EXIT_GRACE_S = 0.5

# How the model's process ended ("was killed by SIGKILL"), waiting up to the given seconds;
# None while it runs.
ProcessEnded = Callable[[float], str | None]


class InvocationError(Exception):
    """The model did not answer 200 within the allowed attempts; the message says what it did."""


class ModelProcessEnded(InvocationError):
    """The model's process ended before it answered: no retry can reach it."""


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what happened, and what the model said if it said anything."""

    what: str
    answer: str = ""


class ModelClient:
    """One connection pool per model process, sized for MaxConcurrentTransforms in flight."""

    def __init__(
        self,
        url: str,
        *,
        concurrency: int,
        timeout_s: float,
        max_retries: int,
        process_ended: ProcessEnded | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._process_ended = process_ended
        self._timeout = urllib3.Timeout(connect=10.0, read=timeout_s)
        self._pool = urllib3.PoolManager(maxsize=max(1, concurrency), block=True)

    def invoke(
        self,
        body: bytes | Iterable[bytes] | Sequence[bytes | memoryview],
        *,
        content_type: str | None,
        accept: str | None,
        length: int | None = None,
    ) -> bytes:
        """The model's answer to one request; retried InvocationsMaxRetries times on failure.

        A body given as pieces with their total `length` is sent as they are, with that
        Content-Length, and replayed like bytes. Any other iterable body is sent with chunked
        encoding (MaxPayloadInMB 0) and, being a stream, cannot be replayed: it gets one attempt.
        """
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        if length is not None:
            headers["Content-Length"] = str(length)
        streamed = not isinstance(body, bytes) and length is None
        attempts = 1 if streamed else 1 + self.max_retries
        failures: list[_Failure] = []
        for _ in range(attempts):
            try:
                reply = self._pool.request(
                    "POST",
                    f"{self.url}/invocations",
                    # Pieces may be memoryviews: sent as they are (sendall takes any buffer).
                    body=cast("bytes | Iterable[bytes]", body),
                    headers=headers,
                    timeout=self._timeout,
                    retries=False,
                    chunked=streamed,
                    preload_content=True,
                )
            except urllib3.exceptions.ReadTimeoutError:
                failures.append(_Failure(f"no answer within {self.timeout_s:g} s"))
                continue
            except urllib3.exceptions.HTTPError as error:
                self._raise_if_process_ended()
                failures.append(_Failure(_connection_failure(error)))
                continue
            if reply.status == SUCCESS:
                return reply.data
            excerpt = reply.data[:ANSWER_EXCERPT_BYTES].decode("utf-8", "replace").strip()
            failures.append(_Failure(f"HTTP {reply.status}", excerpt))
        raise InvocationError(_summary(failures))

    def _raise_if_process_ended(self) -> None:
        ended = self._process_ended(EXIT_GRACE_S) if self._process_ended else None
        if ended:
            raise ModelProcessEnded(f"the model process {ended} before it answered")

    def close(self) -> None:
        self._pool.clear()


def _connection_failure(error: urllib3.exceptions.HTTPError) -> str:
    # NewConnectionError is a ConnectTimeoutError too: it is checked first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "no connection to the model (refused)"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return "no connection to the model within 10 s"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "the model closed the connection without answering"
    return f"{type(error).__name__}: {error}"


def _summary(failures: list[_Failure]) -> str:
    """`HTTP 500 after 2 attempts: <the answer's first bytes>`, or, when the attempts failed in
    different ways, the last way with the others named."""
    last = failures[-1]
    count = f"{len(failures)} attempt{'s' if len(failures) > 1 else ''}"
    others = sorted({failure.what for failure in failures[:-1]} - {last.what})
    what = (
        f"{last.what} after {count}"
        if not others
        else f"{last.what} on the last of {count} (before: {'; '.join(others)})"
    )
    return f"{what}: {last.answer}" if last.answer else what
