"""What a running job has done so far; read from other threads while it runs."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass


@dataclass
class ProgressSnapshot:
    objects_total: int = 0
    objects_done: int = 0
    objects_failed: int = 0
    records_done: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Progress:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = ProgressSnapshot()

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self._state, name, getattr(self._state, name) + value)

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return ProgressSnapshot(**self._state.as_dict())
