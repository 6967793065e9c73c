"""Lambda's asynchronous invocation: retries, then the OnFailure destination."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.runtime.event_sources.polling import (
    ClientFactory,
    SharedClients,
    now_iso,
    send_to_destination,
)
from local.runtime.functions import FunctionPool

log = logging.getLogger(__name__)

ASYNC_RETRY_DELAYS_S = (60.0, 120.0)  # Lambda retries async invocations after ~1 and ~2 minutes


class AsyncInvoker:
    """Lambda's asynchronous invocation of one function: retries, then the OnFailure destination."""

    def __init__(
        self,
        pool: FunctionPool,
        clients: ClientFactory,
        *,
        retry_delays_s: tuple[float, ...] = ASYNC_RETRY_DELAYS_S,
    ) -> None:
        self.pool = pool
        self.clients = SharedClients(clients)
        config = pool.function.event_invoke_config
        self.max_retries = int(config.get("MaximumRetryAttempts", 2))
        self.retry_delays_s = retry_delays_s
        destination = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
        self.on_failure = str(destination.get("Destination", "")) or None
        self._executor = ThreadPoolExecutor(4, thread_name_prefix=f"async-{pool.function.name}")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._first_attempts = 0  # events submitted whose first attempt has not ended

    def submit(self, event: Any) -> None:
        with self._lock:
            self._first_attempts += 1
        self._executor.submit(self._run, event, str(uuid.uuid4()))

    @property
    def busy(self) -> bool:
        """Whether an event is queued or in its first attempt (not waiting for a retry)."""
        with self._lock:
            return self._first_attempts > 0

    def _run(self, event: Any, request_id: str) -> None:
        try:
            answer = self.pool.invoke_raw(event, request_id=request_id)
        finally:
            with self._lock:
                self._first_attempts -= 1
        if answer["ok"]:
            return
        for attempt in range(1, self.max_retries + 1):
            delay = self.retry_delays_s[min(attempt, len(self.retry_delays_s)) - 1]
            if self._stopping.wait(delay):
                log.warning(
                    "%s: stopped before retry %d; event dropped: %s",
                    self.pool.function.name,
                    attempt,
                    json.dumps(event, default=str)[:500],
                )
                return
            answer = self.pool.invoke_raw(event, request_id=request_id)
            if answer["ok"]:
                return
        self._send_failure(event, request_id, answer, self.max_retries + 1)

    def _send_failure(
        self, event: Any, request_id: str, answer: Mapping[str, Any], attempts: int
    ) -> None:
        if not self.on_failure:
            log.error("%s: event dropped after %d attempts", self.pool.function.name, attempts)
            return
        record = {
            "version": "1.0",
            "timestamp": now_iso(),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{self.pool.function.arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": answer.get("error"),
        }
        send_to_destination(self.clients, self.on_failure, record)

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """Waiting retries end now; a running invocation ends with its pool (stopped next)."""
        self._stopping.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
