"""A transform job run on this machine: models up, objects shared among instances, outputs out.

Lifecycle and timestamps follow SageMaker: TransformStartTime when the job starts running
(before model processes start), TransformEndTime when its last output is written. An object
that fails does not stop the others; the job then ends Failed naming the object. A model process
that dies mid-job fails the object it was answering, and a fresh one takes the objects after it.
A stopped job ends Stopped with its model processes gone.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.engine import s3_store
from local.engine.data_processing import DataProcessing
from local.engine.invocation import ModelClient
from local.engine.objects import InputObject, JobStopped, ObjectFailed, ObjectTransform
from local.engine.progress import Progress
from local.engine.spec import EffectiveParameters, TransformSpec, effective_parameters
from local.model_host import archive
from local.model_host.host import RunningModel, container_environment, python_for, start_model

MANIFEST_LIMIT = 64 * 1024 * 1024
HEALTHY_WITHIN_S = 600.0
MAX_FAILURE_REASON = 1024  # SageMaker waits minutes for a container to answer /ping


@dataclass(frozen=True)
class ModelSource:
    """The Model as CreateModel described it (PrimaryContainer)."""

    name: str
    environment: dict[str, str] = field(default_factory=dict)
    model_data_url: str | None = None
    model_dir: Path | None = None
    image: str | None = None


@dataclass
class JobOutcome:
    status: str = "InProgress"
    failure_reason: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


def _now() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def list_inputs(spec: TransformSpec) -> list[InputObject]:
    """The input objects in key order, each named relative to its prefix as outputs are."""
    bucket, _, key = spec.input_uri.removeprefix("s3://").partition("/")
    if spec.data_type == "ManifestFile":
        entries = json.loads(s3_store.read_all(bucket, key, limit=MANIFEST_LIMIT))
        prefix_bucket, _, prefix = str(entries[0]["prefix"]).removeprefix("s3://").partition("/")
        return [
            InputObject(prefix_bucket, prefix + str(path), str(path).lstrip("/"), -1)
            for path in entries[1:]
        ]
    found = []
    for stored in s3_store.list_prefix(bucket, key):
        relative = stored.key[len(key) :].lstrip("/") or stored.key.rsplit("/", 1)[-1]
        found.append(InputObject(bucket, stored.key, relative, stored.size))
    return found


class TransformJob:
    """Runs one job to its end; `stop()` from another thread ends it Stopped."""

    def __init__(
        self,
        spec: TransformSpec,
        model: ModelSource,
        *,
        work_dir: Path,
        on_change: Callable[[TransformJob], None] | None = None,
        on_inputs_listed: Callable[[], None] | None = None,
        healthy_within_s: float = HEALTHY_WITHIN_S,
    ) -> None:
        self.spec, self.model, self.work_dir = spec, model, work_dir
        self.healthy_within_s = healthy_within_s
        self.on_change = on_change or (lambda job: None)
        # Called once the input is listed (the S3 client made by then), while models boot.
        self.on_inputs_listed = on_inputs_listed or (lambda: None)
        self.progress = Progress()
        self.outcome = JobOutcome()
        self._stop = threading.Event()
        self._models: list[RunningModel] = []
        self._lock = threading.Lock()
        self._unpacked: Path | None = None
        self._unpacking = threading.Lock()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for running in self._models:
                running.stop()

    def run(self) -> JobOutcome:
        self.outcome.start_time = _now()
        self.on_change(self)
        status, reason = "Completed", None
        try:
            failures = self._run()
            if failures:
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                status, reason = "Failed", f"ClientError: {failures[0]}{more}"
        except JobStopped:
            status = "Stopped"
        except Exception as error:  # the job ends Failed with the reason; nothing escapes
            status, reason = "Failed", str(error) or type(error).__name__
        # The end is when the last output was written, not when the models have shut down.
        ended = _now()
        self._stop_models()
        if self._stop.is_set():
            status, reason = "Stopped", None  # whatever broke while stopping, it was the stop
        return self._end(status, reason, ended)

    def _end(self, status: str, reason: str | None, ended: datetime) -> JobOutcome:
        if reason and len(reason) > MAX_FAILURE_REASON:  # SageMaker's FailureReason limit
            reason = reason[: MAX_FAILURE_REASON - 1] + "…"
        self.outcome.status, self.outcome.failure_reason = status, reason
        self.outcome.end_time = ended
        self.on_change(self)
        return self.outcome

    def _run(self) -> list[str]:
        # A request the engine cannot act on fails before any model starts.
        DataProcessing.from_request(self.spec.request)
        instances = max(1, self.spec.instance_count)
        # The model processes boot (a fraction of a second to minutes) while the input is listed.
        launched = [self._launch_model(index) for index in range(instances)]
        inputs = list_inputs(self.spec)
        self.on_inputs_listed()
        self.progress.add(objects_total=len(inputs))
        if not inputs:
            raise ObjectFailed(f"No input objects under {self.spec.input_uri}")
        models = [self._await_healthy(running) for running in launched]
        parameters = effective_parameters(self.spec, self._container_parameters(models[0]))
        shares = [inputs[index::instances] for index in range(instances)]
        failures: list[str] = []
        threads = [
            threading.Thread(
                target=self._run_instance,
                args=(index, running, share, parameters, failures),
                name=f"{self.spec.name}-instance-{index}",
                daemon=True,
            )
            for index, (running, share) in enumerate(zip(models, shares, strict=True))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._stop.is_set():
            raise JobStopped
        return failures

    def _container_parameters(self, running: RunningModel) -> dict[str, Any] | None:
        """GET /execution-parameters, asked only if the request left something unset; a
        container that answers badly is treated like one that does not answer."""
        spec = self.spec
        if spec.max_concurrent and spec.max_payload_mb is not None and spec.batch_strategy:
            return None
        try:
            return running.execution_parameters()
        except (OSError, ValueError):
            return None

    def _start_model(self, index: int) -> RunningModel:
        return self._await_healthy(self._launch_model(index))

    def _launch_model(self, index: int) -> RunningModel:
        """The model's process started, not yet answering; stop() ends it from here on."""
        if self._stop.is_set():
            raise JobStopped
        model_dir = self._model_dir()
        environment = container_environment(
            self.model.environment, self.spec.environment, self.spec.request
        )
        running = start_model(
            model_dir,
            environment=environment,
            serve_command=self.model.environment.get("TRANSFORM_JOBS_SERVE_COMMAND"),
            python=python_for(model_dir, self.work_dir / "model-envs"),
            log_path=self.work_dir / "logs" / f"{self.spec.name}-{index}.log",
        )
        with self._lock:
            self._models.append(running)
        return running

    def _await_healthy(self, running: RunningModel) -> RunningModel:
        if self._stop.is_set():
            raise JobStopped
        running.wait_healthy(self.healthy_within_s)
        return running

    def _model_dir(self) -> Path:
        if self.model.model_dir is not None:
            return self.model.model_dir
        # Downloaded and unpacked once per job: a restarted model process reuses it.
        with self._unpacking:
            if self._unpacked is None:
                self._unpacked = self._download_model()
            return self._unpacked

    def _download_model(self) -> Path:
        if not self.model.model_data_url:
            raise ValueError(f"Model {self.model.name} has neither ModelDataUrl nor a directory")
        bucket, _, key = self.model.model_data_url.removeprefix("s3://").partition("/")
        downloads = self.work_dir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        local_copy = downloads / f"{self.spec.name}-model.tar.gz"
        s3_store.download(bucket, key, str(local_copy))
        try:
            return archive.unpack(local_copy, self.work_dir / "models")
        finally:
            local_copy.unlink(missing_ok=True)

    def _run_instance(
        self,
        index: int,
        running: RunningModel,
        share: list[InputObject],
        parameters: EffectiveParameters,
        failures: list[str],
    ) -> None:
        client = self._client(running, parameters)
        done = 0
        try:
            with ThreadPoolExecutor(max_workers=parameters.max_concurrent) as pool:
                transform = self._object_transform(parameters, client, pool)
                for item in share:
                    if self._stop.is_set():
                        return
                    if running.ended() is not None:
                        client.close()
                        running = self._restart_model(index, running)
                        client = self._client(running, parameters)
                        transform = self._object_transform(parameters, client, pool)
                    if not self._transform_object(transform, item, failures):
                        return
                    done += 1
                    self.on_change(self)
        except JobStopped:
            return
        except Exception as error:
            # Nothing may die quietly in this thread: its objects fail, and the job with them.
            with self._lock:
                failures.append(f"instance {running.url}: {error}")
            self.progress.add(objects_failed=len(share) - done)
        finally:
            client.close()

    def _transform_object(
        self, transform: ObjectTransform, item: InputObject, failures: list[str]
    ) -> bool:
        """One object to its output, or its failure recorded; False once the job is stopping."""
        try:
            transform.run(item)
        except JobStopped:
            return False
        except ObjectFailed as failure:
            self.progress.add(objects_failed=1)
            with self._lock:
                failures.append(str(failure))
        except Exception as error:  # a model process killed by stop(), for one
            if self._stop.is_set():
                return False
            self.progress.add(objects_failed=1)
            with self._lock:
                failures.append(f"s3://{item.bucket}/{item.key}: {error}")
        return True

    def _object_transform(
        self, parameters: EffectiveParameters, client: ModelClient, pool: ThreadPoolExecutor
    ) -> ObjectTransform:
        return ObjectTransform(self.spec, parameters, client, pool, self.progress, self._stop)

    def _client(self, running: RunningModel, parameters: EffectiveParameters) -> ModelClient:
        return ModelClient(
            running.url,
            concurrency=parameters.max_concurrent,
            timeout_s=self.spec.invocation_timeout_s,
            max_retries=self.spec.invocation_retries,
            process_ended=running.ended,
        )

    def _restart_model(self, index: int, ended: RunningModel) -> RunningModel:
        """A fresh model process in place of one that ended mid-job (killed for its memory, say),
        so the objects after the one it failed still get transformed: a container's model server
        respawns its workers the same way."""
        with self._lock:
            self._models.remove(ended)
        ended.stop()  # collects its exit status and frees its port
        return self._start_model(index)

    def _stop_models(self) -> None:
        with self._lock:
            models, self._models = self._models, []
        for running in models:
            running.stop()

    def describe(self) -> dict[str, Any]:
        """What DescribeTransformJob would add about the run (status, reason, times)."""
        data: dict[str, Any] = {"TransformJobStatus": self.outcome.status}
        if self.outcome.failure_reason:
            data["FailureReason"] = self.outcome.failure_reason
        if self.outcome.start_time:
            data["TransformStartTime"] = self.outcome.start_time
        if self.outcome.end_time:
            data["TransformEndTime"] = self.outcome.end_time
        return data
