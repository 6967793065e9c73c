"""An object written in parts that upload in the background: order, memory, errors, resume."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from transform_jobs.adapters import object_writer, s3_gateway
from transform_jobs.adapters.object_writer import ObjectWriter
from transform_jobs.models.job import MultipartState
from transform_jobs.s3_location import S3Location

LOCATION = S3Location("bucket", "out/a.csv.out")


@dataclass
class FakeS3:
    """The gateway calls an ObjectWriter makes, recorded; part uploads can be held back."""

    parts: dict[int, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    completed: list[str] | None = None
    put: bytes | None = None
    hold: threading.Event | None = None
    fail_part: int | None = None
    uploading: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_upload(self, location: S3Location, *, content_type: str) -> str:
        self.calls.append("start")
        return "upload-1"

    def upload_part(self, location: S3Location, upload_id: str, number: int, body: bytes) -> str:
        with self.lock:
            self.uploading += 1
            self.most_at_once = max(self.most_at_once, self.uploading)
        try:
            if self.hold is not None:
                assert self.hold.wait(10)
            if number == self.fail_part:
                raise s3_gateway.UploadGone(f"upload {upload_id} is gone")
            self.parts[number] = body
            self.calls.append(f"part {number}")
            return f'"etag-{number}"'
        finally:
            with self.lock:
                self.uploading -= 1

    def complete_upload(self, location: S3Location, upload_id: str, etags: Sequence[str]) -> None:
        self.calls.append("complete")
        self.completed = list(etags)

    def put_bytes(self, location: S3Location, body: bytes, *, content_type: str) -> None:
        self.calls.append("put")
        self.put = body

    def abort_upload(self, location: S3Location, upload_id: str) -> None:
        self.calls.append("abort")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeS3]:
    fake = FakeS3()
    for name in ("start_upload", "upload_part", "complete_upload", "put_bytes", "abort_upload"):
        monkeypatch.setattr(s3_gateway, name, getattr(fake, name))
    yield fake
    if fake.hold is not None:
        fake.hold.set()


def in_thread(call: object) -> threading.Thread:
    thread = threading.Thread(target=call, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


@settings(max_examples=examples(50), deadline=None)
@given(blocks=st.lists(st.binary(min_size=0, max_size=40), max_size=40))
def test_the_object_is_every_byte_written_in_order(blocks: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        fake = FakeS3()
        for name in ("start_upload", "upload_part", "complete_upload", "put_bytes"):
            patch.setattr(s3_gateway, name, getattr(fake, name))
        writer = ObjectWriter(LOCATION, part_bytes=64)
        cuts = [writer.write(block) for block in blocks]
        writer.close()
    data = b"".join(blocks)
    if fake.put is not None:
        assert fake.put == data and not fake.parts and not any(cuts)
        return
    assert b"".join(fake.parts[n] for n in sorted(fake.parts)) == data
    assert sorted(fake.parts) == list(range(1, len(fake.parts) + 1))
    assert fake.completed == [f'"etag-{n}"' for n in range(1, len(fake.parts) + 1)]
    assert all(len(fake.parts[n]) >= 64 for n in sorted(fake.parts)[:-1])
    assert sum(cuts) in (len(fake.parts), len(fake.parts) - 1)  # the last may go at close


def test_a_part_uploads_while_the_next_is_made_and_one_at_a_time(s3: FakeS3) -> None:
    s3.hold = threading.Event()
    writer = ObjectWriter(LOCATION, part_bytes=10)
    assert writer.write(b"a" * 10)  # part 1 is cut and goes out in the background
    assert not writer.write(b"b" * 5)  # made while part 1 is still under way
    second = in_thread(lambda: writer.write(b"b" * 5))  # cuts part 2: waits for part 1
    second.join(0.3)
    assert second.is_alive() and s3.parts == {}
    s3.hold.set()
    second.join(10)
    writer.close()
    assert s3.parts == {1: b"a" * 10, 2: b"b" * 10}
    assert s3.most_at_once == 1
    assert s3.calls == ["start", "part 1", "part 2", "complete"]


def test_the_upload_state_waits_for_the_part_under_way(s3: FakeS3) -> None:
    s3.hold = threading.Event()
    writer = ObjectWriter(LOCATION, part_bytes=4)
    assert writer.write(b"1234")
    threading.Timer(0.2, s3.hold.set).start()
    upload = writer.upload  # a checkpoint takes this: every part cut so far is in S3
    assert upload is not None and upload.ETags == ['"etag-1"']
    assert upload.UploadId == "upload-1" and upload.Key == LOCATION.key


def test_a_failed_part_is_raised_by_the_write_that_cuts_the_next(s3: FakeS3) -> None:
    s3.fail_part = 1
    writer = ObjectWriter(LOCATION, part_bytes=4)
    assert writer.write(b"1234")
    with pytest.raises(s3_gateway.UploadGone):
        writer.write(b"5678")


def test_a_failed_last_part_is_raised_by_close(s3: FakeS3) -> None:
    s3.fail_part = 1
    writer = ObjectWriter(LOCATION, part_bytes=4)
    assert writer.write(b"1234")
    with pytest.raises(s3_gateway.UploadGone):
        writer.close()
    assert "complete" not in s3.calls


def test_abort_lets_the_part_under_way_end_then_aborts(s3: FakeS3) -> None:
    s3.hold = threading.Event()
    writer = ObjectWriter(LOCATION, part_bytes=4)
    assert writer.write(b"1234")
    writer.write(b"56")
    threading.Timer(0.2, s3.hold.set).start()
    writer.abort()
    assert s3.calls == ["start", "part 1", "abort"]


def test_a_resumed_upload_goes_on_from_its_parts(s3: FakeS3) -> None:
    resumed = MultipartState(Key=LOCATION.key, UploadId="upload-0", ETags=['"a"', '"b"'])
    writer = ObjectWriter(LOCATION, part_bytes=4, resume=resumed)
    assert writer.write(b"1234")
    writer.close()
    assert s3.parts == {3: b"1234"}
    assert s3.completed == ['"a"', '"b"', '"etag-3"']
    assert "start" not in s3.calls


def test_a_small_object_is_one_put_at_close(s3: FakeS3) -> None:
    writer = ObjectWriter(LOCATION, part_bytes=100)
    assert not writer.write(b"a,b\n")
    assert writer.buffered == 4 and writer.upload is None
    writer.close()
    assert s3.calls == ["put"] and s3.put == b"a,b\n"


def test_parts_grow_after_many(s3: FakeS3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(object_writer, "PARTS_BEFORE_GROWTH", 2)
    writer = ObjectWriter(LOCATION, part_bytes=4)
    cuts = [writer.write(b"x" * 4) for _ in range(12)]
    writer.close()
    assert cuts == [True, True] + [False] * 7 + [True] + [False] * 2
    assert [len(s3.parts[n]) for n in sorted(s3.parts)] == [4, 4, 32, 8]
