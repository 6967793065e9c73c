"""What every event source shares: the polling loop, filters, and failure destinations."""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from local.runtime.patterns import matches

log = logging.getLogger(__name__)

IDLE_POLLER_WAKE_S = 1.0  # how often a resting poller looks whether it is needed again


class ClientFactory(Protocol):
    def __call__(self, service: str) -> Any: ...


class SharedClients:
    """One client per service for the life of a source, made on first use.

    Making a botocore client (and its connection pool) costs more CPU than most calls made with
    it, and a poller calls several times a second; clients are thread-safe, so one is enough.
    """

    def __init__(self, make: ClientFactory) -> None:
        self._make = make
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            if service not in self._made:
                self._made[service] = self._make(service)
            return self._made[service]


class EventSource(Protocol):
    def start(self) -> None: ...

    def signal_stop(self) -> None:
        """Asks the source to stop; returns at once (stop() then waits)."""

    def stop(self) -> None: ...


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def filters_of(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    criteria = properties.get("FilterCriteria") or {}
    out = []
    for item in criteria.get("Filters") or []:
        pattern = item.get("Pattern")
        out.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return out


def passes(filters: list[dict[str, Any]], record: Mapping[str, Any]) -> bool:
    """Lambda event filtering: no filters pass everything; otherwise any filter may match."""
    return not filters or any(matches(pattern, record) for pattern in filters)


class Loop:
    """A daemon thread running `tick` until stopped; errors are logged, never fatal."""

    def __init__(self, name: str, tick: Callable[[], float]) -> None:
        self.name = name
        self._tick = tick
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                pause = self._tick()
            except (BotoCoreError, ClientError, OSError) as error:
                if self._stopping.is_set():
                    return
                log.warning("%s: %s; retrying", self.name, error)
                pause = 1.0
            except Exception:  # a poller must outlive any one bad message or invocation
                if self._stopping.is_set():
                    return
                log.exception("%s: unexpected error; going on", self.name)
                pause = 1.0
            if pause:
                self._stopping.wait(pause)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout_s: float = 10) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def wait(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True when the loop is being stopped."""
        return self._stopping.wait(seconds)


class LoopSource:
    """A source whose work is one Loop: stopping it is stopping the loop."""

    _loop: Loop

    def signal_stop(self) -> None:
        self._loop.signal_stop()

    def stop(self) -> None:
        self._loop.stop()


class Pollers:
    """Loops receiving from one queue side by side, as Lambda runs several pollers for a queue.

    The first always polls. The others join while it finds messages and rest once it finds the
    queue empty, as Lambda adds pollers while a backlog lasts: an idle stack makes one request
    a second per queue, not one per poller.
    """

    def __init__(self, name: str, count: int, receive: Callable[[], bool]) -> None:
        """`receive` handles one batch and says whether there was one."""
        self._receive = receive
        self._busy = threading.Event()
        self._loops = [
            Loop(f"{name}-{number}", functools.partial(self._poll, number))
            for number in range(count)
        ]

    def _poll(self, number: int) -> float:
        if number and not self._busy.wait(IDLE_POLLER_WAKE_S):
            return 0.0
        if self._receive():
            self._busy.set()
        elif number == 0:
            self._busy.clear()
        return 0.0

    @property
    def stopping(self) -> bool:
        return any(loop.stopping for loop in self._loops)

    def start(self) -> None:
        for loop in self._loops:
            loop.start()

    def signal_stop(self) -> None:
        for loop in self._loops:
            loop.signal_stop()

    def stop(self) -> None:
        for loop in self._loops:
            loop.stop()


def send_to_destination(clients: ClientFactory, arn: str, record: Mapping[str, Any]) -> None:
    """Delivers an on-failure record to an SQS destination (the kind this template uses)."""
    if not arn.startswith("arn:aws:sqs:"):
        log.error("on-failure destination %s is not an SQS queue; record dropped: %s", arn, record)
        return
    sqs = clients("sqs")
    name = arn.rsplit(":", 1)[-1]
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))


def base64_binaries(value: Any) -> Any:
    """Binary attribute values as Lambda delivers them: base64 text, not bytes."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: base64_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [base64_binaries(item) for item in value]
    return value
