"""POST /invocations to a model process, with SageMaker's timeout and retry rules."""

from __future__ import annotations

from collections.abc import Iterable

import urllib3

SUCCESS = 200


class InvocationError(Exception):
    """The model did not answer 200 within the allowed attempts; the message says what it did."""


class ModelClient:
    """One connection pool per model process, sized for MaxConcurrentTransforms in flight."""

    def __init__(self, url: str, *, concurrency: int, timeout_s: float, max_retries: int) -> None:
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        self._timeout = urllib3.Timeout(connect=10.0, read=timeout_s)
        self._pool = urllib3.PoolManager(maxsize=max(1, concurrency), block=True)

    def invoke(
        self,
        body: bytes | Iterable[bytes],
        *,
        content_type: str | None,
        accept: str | None,
    ) -> bytes:
        """The model's answer to one request; retried InvocationsMaxRetries times on failure.

        An iterable body is sent with chunked encoding (MaxPayloadInMB 0) and, being a stream,
        cannot be replayed: it gets one attempt.
        """
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        streamed = not isinstance(body, bytes)
        attempts = 1 if streamed else 1 + self.max_retries
        last = "no attempt made"
        for _ in range(attempts):
            try:
                reply = self._pool.request(
                    "POST",
                    f"{self.url}/invocations",
                    body=body,
                    headers=headers,
                    timeout=self._timeout,
                    retries=False,
                    chunked=streamed,
                    preload_content=True,
                )
            except urllib3.exceptions.HTTPError as error:
                last = f"{type(error).__name__}: {error}"
                continue
            if reply.status == SUCCESS:
                return reply.data
            last = f"HTTP {reply.status}: {reply.data[:300].decode('utf-8', 'replace').strip()}"
        raise InvocationError(f"the model failed {attempts} attempt(s); last: {last}")

    def close(self) -> None:
        self._pool.clear()
