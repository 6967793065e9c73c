"""One object through the engine's pipeline: when answers leave for the output, and in what order.

The model and S3 are stand-ins here: a model that answers at once (its futures are resolved when
submitted), and a writer that logs what it is given. Everything runs in this thread, so the order
of reads and writes is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from local.engine import s3_store
from local.engine.invocation import InvocationError
from local.engine.objects import InputObject, ObjectFailed, ObjectTransform
from local.engine.progress import Progress
from local.engine.spec import EffectiveParameters, TransformSpec

CHUNKS = 8
LINES_PER_CHUNK = 10_485  # 100-byte lines: just under 1 MiB, so each chunk closes the batch before


def chunk(index: int) -> bytes:
    """Chunk `index`, its lines telling it from every other chunk."""
    return (bytes([97 + index]) * 99 + b"\n") * LINES_PER_CHUNK


INPUT = b"".join(chunk(index) for index in range(CHUNKS))
CONCURRENT = 4


class AnsweredAtOnce:
    """An executor whose calls run as they are submitted: every future is done when returned."""

    def submit(self, call: Callable[..., bytes], *args: Any, **kwargs: Any) -> Future[bytes]:
        future: Future[bytes] = Future()
        future.set_result(call(*args, **kwargs))
        return future


class _AskedFor(Future[bytes]):
    """A future answered only when its result is asked for."""

    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self._answer = answer

    def result(self, timeout: float | None = None) -> bytes:
        if not self.done():
            self.set_result(self._answer)
        return super().result(timeout)


class AnsweredOutOfOrder:
    """Every second request is answered at once, the one before it only when its answer is
    asked for: a later answer is in while an earlier one is not."""

    def __init__(self) -> None:
        self.requests = 0

    def submit(self, call: Callable[..., bytes], *args: Any, **kwargs: Any) -> Future[bytes]:
        self.requests += 1
        answer = call(*args, **kwargs)
        if self.requests % 2:
            return _AskedFor(answer)
        future: Future[bytes] = Future()
        future.set_result(answer)
        return future


class Echo:
    def invoke(self, body: Any, **_: Any) -> bytes:
        return body if isinstance(body, bytes) else b"".join(bytes(piece) for piece in body)


def spec() -> TransformSpec:
    return TransformSpec.from_request(
        {
            "TransformJobName": "tj-unit",
            "ModelName": "echo",
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": 1,
            "MaxConcurrentTransforms": CONCURRENT,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": "s3://b/out", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        }
    )


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """("read", i) as chunk i is handed over, ("write", bytes) as the output gets them, then
    ("complete", everything written) or ("abort", None)."""
    events: list[tuple[str, Any]] = []

    def chunks(bucket: str, key: str) -> Iterator[bytes]:
        for index in range(CHUNKS):
            events.append(("read", index))
            yield chunk(index)

    class Writer:
        def __init__(self, bucket: str, key: str) -> None:
            self.written: list[bytes] = []

        def write(self, data: bytes) -> None:
            events.append(("write", data))
            self.written.append(data)

        def complete(self) -> None:
            events.append(("complete", b"".join(self.written)))

        def abort(self) -> None:
            events.append(("abort", None))

    monkeypatch.setattr(s3_store, "iter_chunks", chunks)
    monkeypatch.setattr(s3_store, "OutputWriter", Writer)
    return events


def transform(pool: Any) -> ObjectTransform:
    parameters = EffectiveParameters(CONCURRENT, 1, "MultiRecord")
    return ObjectTransform(spec(), parameters, Echo(), pool, Progress(), threading.Event())


def run(log: list[tuple[str, Any]], pool: Any = None) -> None:
    item = InputObject("b", "in/data.csv", "data.csv", len(INPUT))
    transform(pool or AnsweredAtOnce()).run(item)


def test_an_answer_goes_to_the_output_as_soon_as_it_is_in_not_when_the_window_fills(
    log: list[tuple[str, Any]],
) -> None:
    run(log)

    first_write = next(index for index, event in enumerate(log) if event[0] == "write")
    # The first batch is closed by reading chunk 1 and its answer is in at once: it is written
    # when the next batch is ready (chunk 2), not after CONCURRENT batches have been read.
    assert log[:first_write] == [("read", 0), ("read", 1), ("read", 2)]
    assert log[first_write] == ("write", chunk(0))


@pytest.mark.parametrize("pool", [AnsweredAtOnce, AnsweredOutOfOrder])
def test_answers_written_as_they_come_keep_the_input_order(
    log: list[tuple[str, Any]], pool: Callable[[], Any]
) -> None:
    run(log, pool())

    assert log[-1] == ("complete", INPUT)
    writes = [data for kind, data in log if kind == "write"]
    assert writes == [chunk(index) for index in range(CHUNKS)]


class SecondRequestFails(AnsweredAtOnce):
    def __init__(self) -> None:
        self.requests = 0

    def submit(self, call: Callable[..., bytes], *args: Any, **kwargs: Any) -> Future[bytes]:
        self.requests += 1
        if self.requests != 2:
            return super().submit(call, *args, **kwargs)
        future: Future[bytes] = Future()
        future.set_exception(InvocationError("HTTP 500 after 1 attempt"))
        return future


def test_a_failed_answer_fails_the_object_and_leaves_no_output(log: list[tuple[str, Any]]) -> None:
    failure = r"s3://b/in/data\.csv: records 10485\.\.20969: HTTP 500 after 1 attempt"
    with pytest.raises(ObjectFailed, match=failure):
        run(log, SecondRequestFails())

    assert log[-1] == ("abort", None)
    assert [data for kind, data in log if kind == "write"] == [chunk(0)]
    assert not [event for event in log if event[0] == "complete"]
