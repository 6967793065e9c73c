"""Grouping records into request bodies under BatchStrategy and MaxPayloadInMB."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.engine.batching import MB, Batch, RecordTooLarge, batches
from local.engine.records import Record, encode_recordio, encode_tfrecord, split_records


def lines(*sizes: int) -> list[Record]:
    """Line records of the given sizes, each ending in b"\\n" and telling itself apart."""
    records = []
    for index, size in enumerate(sizes):
        data = (bytes([97 + index % 26]) * (size - 1)) + b"\n"
        records.append(Record(data, data))
    return records


def shape(found: Iterator[Batch]) -> list[tuple[int, int]]:
    return [(batch.first, batch.count) for batch in found]


# MultiRecord


def test_multi_record_body_is_the_records_as_they_are() -> None:
    records = lines(3, 4)

    (batch,) = batches(records, strategy="MultiRecord", max_payload_bytes=100)

    assert batch == Batch(b"aa\nbbb\n", first=0, count=2)


def test_multi_record_fills_each_batch_with_whole_records_up_to_the_limit() -> None:
    found = batches(lines(10, 10, 10, 10, 10), strategy="MultiRecord", max_payload_bytes=25)

    assert shape(found) == [(0, 2), (2, 2), (4, 1)]


def test_records_exactly_filling_the_limit_share_one_batch() -> None:
    found = list(batches(lines(10, 20, 30), strategy="MultiRecord", max_payload_bytes=60))

    assert shape(iter(found)) == [(0, 3)]
    assert len(found[0].body) == 60


def test_one_byte_over_the_limit_starts_a_new_batch() -> None:
    found = batches(lines(10, 20, 31), strategy="MultiRecord", max_payload_bytes=60)

    assert shape(found) == [(0, 2), (2, 1)]


def test_a_record_exactly_the_limit_is_a_batch_of_its_own() -> None:
    found = batches(lines(5, 60, 5), strategy="MultiRecord", max_payload_bytes=60)

    assert shape(found) == [(0, 1), (1, 1), (2, 1)]


def test_multi_record_without_a_limit_makes_the_object_one_batch() -> None:
    found = list(batches(lines(*[1000] * 50), strategy="MultiRecord", max_payload_bytes=0))

    assert shape(iter(found)) == [(0, 50)]
    assert len(found[0].body) == 50_000


def test_multi_record_sends_recordio_and_tfrecord_frames_as_they_are() -> None:
    for split_type, encoded in (
        ("RecordIO", encode_recordio([b"abc", b"defgh"])),
        ("TFRecord", encode_tfrecord([b"abc", b"defgh"])),
    ):
        records = split_records([encoded], split_type)

        (batch,) = batches(records, strategy="MultiRecord", max_payload_bytes=MB)

        assert batch.body == encoded


def test_multi_record_limit_counts_the_framing() -> None:
    encoded = encode_tfrecord([b"x" * 10, b"y" * 10])  # 26 bytes a frame

    found = batches(
        split_records([encoded], "TFRecord"), strategy="MultiRecord", max_payload_bytes=51
    )

    assert shape(found) == [(0, 1), (1, 1)]


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=50), max_size=30),
    limit=st.integers(min_value=50, max_value=200),
)
def test_multi_record_batches_are_greedy_in_order_and_within_the_limit(
    sizes: list[int], limit: int
) -> None:
    records = lines(*sizes)

    found = list(batches(records, strategy="MultiRecord", max_payload_bytes=limit))

    assert b"".join(batch.body for batch in found) == b"".join(r.raw for r in records)
    assert [batch.first for batch in found] == [
        sum(batch.count for batch in found[:index]) for index in range(len(found))
    ]
    assert all(0 < len(batch.body) <= limit for batch in found)
    for batch, following in pairwise(found):
        # a batch closes only when the next record would not fit
        assert len(batch.body) + len(records[following.first].raw) > limit


# SingleRecord


def test_single_record_sends_each_record_alone() -> None:
    found = list(batches(lines(2, 3), strategy="SingleRecord", max_payload_bytes=MB))

    assert found == [Batch(b"a\n", 0, 1), Batch(b"bb\n", 1, 1)]


@pytest.mark.parametrize(
    ("split_type", "encode"), [("RecordIO", encode_recordio), ("TFRecord", encode_tfrecord)]
)
def test_single_record_drops_recordio_and_tfrecord_framing(
    split_type: str, encode: Callable[[Iterable[bytes]], bytes]
) -> None:
    encoded = encode([b"abc", b"", b"defgh"])

    found = batches(
        split_records([encoded], split_type), strategy="SingleRecord", max_payload_bytes=6
    )

    assert [batch.body for batch in found] == [b"abc", b"", b"defgh"]


def test_single_record_limit_is_on_the_payload_not_the_frame() -> None:
    records = split_records([encode_tfrecord([b"x" * 10])], "TFRecord")  # a 26-byte frame

    (batch,) = batches(records, strategy="SingleRecord", max_payload_bytes=10)

    assert batch.body == b"x" * 10


def test_single_record_without_a_limit_takes_any_size() -> None:
    (batch,) = batches(lines(7 * MB), strategy="SingleRecord", max_payload_bytes=0)

    assert len(batch.body) == 7 * MB


# Records over the limit


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_record_over_the_limit_fails_naming_its_position_and_size(strategy: str) -> None:
    records = [*lines(*[100] * 12), *lines(7 * MB)]

    with pytest.raises(RecordTooLarge) as caught:
        list(batches(records, strategy=strategy, max_payload_bytes=6 * MB))

    assert (caught.value.position, caught.value.size) == (12, 7 * MB)
    assert (
        str(caught.value) == "record 12 is 7,340,032 bytes, over MaxPayloadInMB 6 (6,291,456 bytes)"
    )


def test_a_record_one_byte_over_the_limit_is_never_cut() -> None:
    with pytest.raises(
        RecordTooLarge, match=r"^record 0 is 61 bytes, over the payload limit of 60 bytes$"
    ):
        list(batches(lines(61), strategy="MultiRecord", max_payload_bytes=60))


def test_batches_before_a_too_large_record_come_out_first() -> None:
    found = batches(lines(10, 10, 100, 10), strategy="MultiRecord", max_payload_bytes=50)

    assert next(found) == Batch(b"a" * 9 + b"\n" + b"b" * 9 + b"\n", 0, 2)
    with pytest.raises(RecordTooLarge, match=r"^record 2 is 100 bytes"):
        next(found)


def test_record_too_large_survives_pickling_for_worker_processes() -> None:
    error = RecordTooLarge(12, 7 * MB, 6 * MB)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)

    assert (copy.position, copy.size, copy.limit, str(copy)) == (12, 7 * MB, 6 * MB, str(error))


# Streaming and arguments


def test_batching_pulls_records_only_as_batches_are_taken() -> None:
    pulled = 0

    def source() -> Iterator[Record]:
        nonlocal pulled
        for record in lines(*[10] * 1000):
            pulled += 1
            yield record

    found = batches(source(), strategy="MultiRecord", max_payload_bytes=30)

    assert next(found).count == 3
    assert pulled == 4  # the fourth record is what showed the batch was full


def test_no_records_make_no_batches() -> None:
    assert list(batches([], strategy="MultiRecord", max_payload_bytes=0)) == []
    assert list(batches([], strategy="SingleRecord", max_payload_bytes=MB)) == []


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="'Multi' is not MultiRecord or SingleRecord"):
        batches(lines(1), strategy="Multi", max_payload_bytes=0)


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="must be 0 \\(no limit\\) or more"):
        batches(lines(1), strategy="MultiRecord", max_payload_bytes=-1)


@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    final_newline=st.booleans(),
    limit=st.integers(min_value=41, max_value=400),
    chunk=st.integers(min_value=1, max_value=97),
)
def test_line_batches_are_exactly_the_general_multi_record_batches(
    lines: list[bytes], final_newline: bool, limit: int, chunk: int
) -> None:
    from local.engine.batching import line_batches
    from local.engine.records import split_records

    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    general = list(
        batches(split_records(chunks, "Line"), strategy="MultiRecord", max_payload_bytes=limit)
    )
    assert list(line_batches(chunks, max_payload_bytes=limit)) == general


def test_line_batches_refuse_a_line_over_the_limit_naming_it() -> None:
    from local.engine.batching import line_batches

    chunks = [b"a\nb\n" + b"x" * 50 + b"\nc\n"]
    with pytest.raises(RecordTooLarge) as refused:
        list(line_batches(chunks, max_payload_bytes=10))
    assert refused.value.position == 2


def _line_batches_reference(chunks: Iterable[bytes], limit: int) -> Iterator[Batch]:
    """line_batches as first written: a growing buffer, cut at its last b"\\n" within the limit."""
    buffer = bytearray()
    first = 0
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > limit:
            cut = buffer.rfind(b"\n", 0, limit)
            if cut < 0:
                end = buffer.find(b"\n")
                raise RecordTooLarge(first, end + 1 if end >= 0 else len(buffer), limit)
            body = bytes(buffer[: cut + 1])
            del buffer[: cut + 1]
            yield Batch(body, first, body.count(b"\n"))
            first += body.count(b"\n")
    if buffer:
        body = bytes(buffer)
        yield Batch(body, first, body.count(b"\n") + (0 if body.endswith(b"\n") else 1))


def _outcome(found: Iterator[Batch]) -> tuple[list[Batch], tuple[int, int] | None]:
    """The batches until an error, and the error's (position, size) if one came."""
    taken: list[Batch] = []
    try:
        taken.extend(found)
    except RecordTooLarge as error:
        return taken, (error.position, error.size)
    return taken, None


@given(
    lines=st.lists(
        st.binary(max_size=90).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=60
    ),
    endings=st.sampled_from([b"\n", b"\r\n"]),
    final_newline=st.booleans(),
    limit=st.integers(min_value=1, max_value=300),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
)
def test_line_batches_match_the_growing_buffer_reference_records_over_the_limit_included(
    lines: list[bytes], endings: bytes, final_newline: bool, limit: int, cuts: list[int]
) -> None:
    from local.engine.batching import line_batches

    data = endings.join(lines) + (endings if final_newline else b"")
    # Chunks of any size, empty ones included, as a stream may deliver them.
    points = sorted({0, len(data), *(cut for cut in cuts if cut <= len(data))})
    chunks = [data[start:end] for start, end in pairwise(points)] + [b""]
    chunks.insert(len(chunks) // 2, b"")

    expected = _outcome(_line_batches_reference(chunks, limit))
    found = _outcome(line_batches(chunks, max_payload_bytes=limit))

    assert found == expected
    if expected[1] is None:
        assert b"".join(batch.body for batch in found[0]) == data


def test_line_batches_cut_a_record_spanning_many_chunks_at_its_end() -> None:
    from local.engine.batching import line_batches

    data = b"a" * 9 + b"\n" + b"b" * 25 + b"\n" + b"c\n"
    chunks = [data[i : i + 4] for i in range(0, len(data), 4)]

    found = list(line_batches(chunks, max_payload_bytes=30))

    assert found == [
        Batch(b"a" * 9 + b"\n", 0, 1),
        Batch(b"b" * 25 + b"\n" + b"c\n", 1, 2),
    ]


def test_line_pieces_are_the_chunks_themselves_with_the_batch_size_and_count() -> None:
    from local.engine.batching import line_pieces

    chunks = [b"a,1\nb,2\n", b"c,3\nd,4\n", b"e,5\nf"]

    found = list(line_pieces(chunks, max_payload_bytes=12))

    assert [(b"".join(p.pieces), p.size, p.first, p.count) for p in found] == [
        (b"a,1\nb,2\nc,3\n", 12, 0, 3),
        (b"d,4\ne,5\nf", 9, 3, 3),
    ]
    assert found[0].pieces[0] is chunks[0]  # whole chunks are sent as they were read
    assert all(piece for batch in found for piece in batch.pieces)  # never an empty piece
