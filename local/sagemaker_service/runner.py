"""Runs transform jobs with the local engine, one background thread each, and reports every
change of a job's run to a callback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.engine.job import ModelSource, TransformJob
from local.engine.spec import TransformSpec

log = logging.getLogger(__name__)

# (job name, what the engine says: TransformJobStatus, FailureReason, times)
OnChange = Callable[[str, dict[str, Any]], None]


def model_source(model: dict[str, Any]) -> ModelSource:
    """The engine's view of a Model: its PrimaryContainer (or first of Containers)."""
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return ModelSource(
        name=model["ModelName"],
        environment=dict(container.get("Environment") or {}),
        model_data_url=container.get("ModelDataUrl"),
        image=container.get("Image"),
    )


class Runner:
    def __init__(self, work_root: Path, on_change: OnChange) -> None:
        self.work_root = work_root
        self.on_change = on_change
        self._jobs: dict[str, TransformJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closing = False

    def check(self, request: dict[str, Any]) -> None:
        """Raises KeyError, TypeError or ValueError for a request the engine cannot read."""
        TransformSpec.from_request(request)

    def start(self, request: dict[str, Any], model: dict[str, Any]) -> None:
        spec = TransformSpec.from_request(request)
        job = TransformJob(
            spec,
            model_source(model),
            work_dir=self.work_root / spec.name,
            on_change=self._changed,
        )
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"transform-{spec.name}", daemon=True
        )
        with self._lock:
            self._jobs[spec.name] = job
            self._threads[spec.name] = thread
        thread.start()

    def _changed(self, job: TransformJob) -> None:
        if not self._closing:
            self.on_change(job.spec.name, job.describe())

    def _run(self, job: TransformJob) -> None:
        try:
            job.run()
        except Exception as error:  # the engine promises nothing escapes; should it, fail
            log.exception("transform job %s broke", job.spec.name)
            job.outcome.status = "Failed"
            job.outcome.failure_reason = f"InternalServerError: {error}"
            self._changed(job)
        finally:
            with self._lock:
                self._jobs.pop(job.spec.name, None)
                self._threads.pop(job.spec.name, None)

    def stop(self, name: str) -> bool:
        """Asks a running job to stop; False when this process is not running it."""
        with self._lock:
            job = self._jobs.get(name)
        if job is None:
            return False
        threading.Thread(target=job.stop, name=f"stop-{name}", daemon=True).start()
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Stops every job's model processes without recording an outcome: the records stay
        as they were, and the next start marks them as interrupted."""
        self._closing = True
        with self._lock:
            jobs, threads = list(self._jobs.values()), list(self._threads.values())
        for job in jobs:
            job.stop()
        for thread in threads:
            thread.join(timeout_s)
