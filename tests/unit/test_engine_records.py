"""Splitting objects into records for every SplitType, whatever the chunk boundaries."""

from __future__ import annotations

import pickle
import struct
from collections.abc import Iterator
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from local.engine.records import (
    RECORDIO_MAGIC,
    Record,
    RecordError,
    encode_recordio,
    encode_tfrecord,
    split_records,
)

MB = 1024 * 1024
MAGIC = struct.pack("<I", RECORDIO_MAGIC)


def cut(blob: bytes, points: list[int]) -> list[bytes]:
    """The blob in chunks cut at the given offsets (1-byte chunks and all)."""
    edges = sorted({0, len(blob), *(point % (len(blob) + 1) for point in points)})
    return [blob[start:end] for start, end in pairwise(edges)]


def payloads(records: Iterator[Record]) -> list[bytes]:
    return [record.data for record in records]


cut_points = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30)
binary_payloads = st.lists(
    st.one_of(
        st.binary(max_size=40),
        # payloads holding the magic word, aligned or not, which dmlc writes as several frames
        st.tuples(st.binary(max_size=9), st.binary(max_size=9)).map(lambda p: p[0] + MAGIC + p[1]),
    ),
    max_size=12,
)


# SplitType None


def test_none_makes_the_whole_object_one_record() -> None:
    records = list(split_records([b"a\nb", b"\nc"], "None"))

    assert records == [Record(b"a\nb\nc", b"a\nb\nc")]


@pytest.mark.parametrize("split_type", ["None", "Line", "RecordIO", "TFRecord"])
def test_empty_object_has_no_records(split_type: str) -> None:
    assert list(split_records([], split_type)) == []
    assert list(split_records([b"", b""], split_type)) == []


def test_unknown_split_type_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="'Lines' is not one of"):
        split_records([b"a"], "Lines")


# SplitType Line


def test_line_records_keep_their_newline() -> None:
    records = list(split_records([b"a,1\nb,2\n"], "Line"))

    assert records == [Record(b"a,1\n", b"a,1\n"), Record(b"b,2\n", b"b,2\n")]


def test_line_record_data_and_raw_are_the_same_bytes() -> None:
    record = next(split_records([b"a\n"], "Line"))

    assert record.data is record.raw


def test_file_ending_in_newline_has_no_empty_last_record() -> None:
    assert payloads(split_records([b"a\n", b"b\n"], "Line")) == [b"a\n", b"b\n"]


def test_last_line_without_newline_is_a_record_as_it_is() -> None:
    assert payloads(split_records([b"a\nb"], "Line")) == [b"a\n", b"b"]


def test_blank_lines_in_the_middle_are_records() -> None:
    assert payloads(split_records([b"a\n\n\nb\n"], "Line")) == [b"a\n", b"\n", b"\n", b"b\n"]


def test_only_newline_ends_a_line_carriage_returns_stay_in_the_record() -> None:
    assert payloads(split_records([b"a\r\nb\rc\x0bd\n"], "Line")) == [b"a\r\n", b"b\rc\x0bd\n"]


def test_line_across_many_chunks_is_joined() -> None:
    chunks = [b"ab", b"cd", b"e", b"f\ng", b"h", b"\n"]

    assert payloads(split_records(chunks, "Line")) == [b"abcdef\n", b"gh\n"]


@given(
    lines=st.lists(st.binary(max_size=20).filter(lambda line: b"\n" not in line), max_size=20),
    final_newline=st.booleans(),
    points=cut_points,
)
def test_any_chunking_of_lines_gives_back_the_lines(
    lines: list[bytes], final_newline: bool, points: list[int]
) -> None:
    expected = [line + b"\n" for line in lines]
    if lines and not final_newline and lines[-1]:
        expected[-1] = lines[-1]  # an unterminated last line stays as it is
    blob = b"".join(expected)

    records = list(split_records(cut(blob, points), "Line"))

    assert [record.data for record in records] == expected
    assert all(record.raw is record.data for record in records)


def test_line_split_of_50_mb_is_lazy_and_holds_about_two_chunks() -> None:
    line = b"x" * 999 + b"\n"
    stream = line * 2100  # 1 MB is no multiple of 1,000, so lines straddle chunks
    pulled = 0

    def source() -> Iterator[bytes]:
        nonlocal pulled
        for index in range(50):
            pulled += 1
            start = index * MB % len(line)  # where this chunk falls in the repeating lines
            yield stream[start : start + MB]

    records = split_records(source(), "Line")
    assert pulled == 0  # nothing is read before the first record is asked for

    first = next(records)
    assert pulled == 1
    consumed, longest = len(first.raw), len(first.raw)
    for record in records:
        consumed += len(record.raw)
        longest = max(longest, len(record.raw))
        assert pulled * MB - consumed <= 2 * MB  # read but not yet yielded
    assert longest == len(line)
    assert consumed == 50 * MB


def test_a_line_longer_than_a_chunk_comes_out_once_complete() -> None:
    pulled = 0

    def source() -> Iterator[bytes]:
        nonlocal pulled
        for piece in (b"x" * MB, b"x" * MB, b"x" * 10 + b"\nrest\n"):
            pulled += 1
            yield piece

    records = split_records(source(), "Line")

    assert len(next(records).data) == 2 * MB + 11
    assert pulled == 3
    assert next(records).data == b"rest\n"


# SplitType RecordIO


def test_recordio_frame_is_magic_length_data_and_zero_padding() -> None:
    encoded = encode_recordio([b"abcde"])

    assert encoded == b"\x0a\x23\xd7\xce" + b"\x05\0\0\0" + b"abcde" + b"\0\0\0"


def test_recordio_record_has_its_payload_as_data_and_its_frame_as_raw() -> None:
    encoded = encode_recordio([b"abcde", b"wxyz"])

    records = list(split_records([encoded], "RecordIO"))

    assert [record.data for record in records] == [b"abcde", b"wxyz"]
    assert [record.raw for record in records] == [encoded[:16], encoded[16:]]


def test_recordio_payload_with_an_aligned_magic_word_is_written_in_frames_and_read_whole() -> None:
    payload = b"abcd" + MAGIC + b"efgh" + MAGIC + b"ij"
    encoded = encode_recordio([payload])
    flags = [
        struct.unpack_from("<I", encoded, offset + 4)[0] >> 29 for offset in (0, 12, 24)
    ]  # frames of 8 + 4, 8 + 4, 8 + 2 + 2 bytes

    records = list(split_records([encoded], "RecordIO"))

    assert flags == [1, 2, 3]
    assert records == [Record(payload, encoded)]


def test_recordio_magic_word_off_the_4_byte_grid_is_plain_data() -> None:
    payload = b"ab" + MAGIC + b"cd"

    assert len(encode_recordio([payload])) == 8 + 8
    assert payloads(split_records([encode_recordio([payload])], "RecordIO")) == [payload]


@given(items=binary_payloads, points=cut_points)
def test_any_chunking_of_recordio_gives_back_the_payloads_and_frames(
    items: list[bytes], points: list[int]
) -> None:
    encoded = encode_recordio(items)

    records = list(split_records(cut(encoded, points), "RecordIO"))

    assert [record.data for record in records] == items
    assert b"".join(record.raw for record in records) == encoded


def test_bad_recordio_magic_names_the_record_and_byte_offset() -> None:
    encoded = bytearray(encode_recordio([b"abcd", b"efgh", b"ijkl"]))
    encoded[12:16] = b"\xef\xbe\xad\xde"

    with pytest.raises(RecordError) as caught:
        list(split_records([bytes(encoded)], "RecordIO"))

    assert caught.value.position == 1
    assert caught.value.offset == 12
    assert str(caught.value) == (
        "record 1: bad RecordIO magic 0xDEADBEEF (not 0xCED7230A) at byte offset 12"
    )


def test_records_before_a_bad_one_are_yielded_first() -> None:
    records = split_records([encode_recordio([b"abcd"]) + b"garbage!"], "RecordIO")

    assert next(records).data == b"abcd"
    with pytest.raises(RecordError, match="bad RecordIO magic"):
        next(records)


@pytest.mark.parametrize(
    ("cut_at", "problem"),
    [
        (16 + 5, r"truncated RecordIO header \(5 of 8 bytes\)"),
        (16 + 8 + 2, r"truncated RecordIO record \(2 of 8 bytes after the header\)"),
        (16 + 8 + 7, r"truncated RecordIO record \(7 of 8 bytes after the header\)"),  # padding
    ],
)
def test_truncated_recordio_names_the_cut_record(cut_at: int, problem: str) -> None:
    encoded = encode_recordio([b"abcdefgh", b"abcdefg"])

    with pytest.raises(RecordError, match=f"^record 1: {problem} at byte offset 16$") as caught:
        list(split_records([encoded[:cut_at]], "RecordIO"))

    assert caught.value.position == 1


def test_recordio_ending_inside_a_multi_part_record_is_an_error() -> None:
    encoded = encode_recordio([b"abcd" + MAGIC + b"efgh"])

    with pytest.raises(RecordError, match="object ends inside a multi-part record"):
        list(split_records([encoded[:12]], "RecordIO"))


@pytest.mark.parametrize("flag", [2, 3, 4, 7])
def test_recordio_frame_that_cannot_start_a_record_is_an_error(flag: int) -> None:
    frame = struct.pack("<II", RECORDIO_MAGIC, flag << 29 | 4) + b"abcd"

    with pytest.raises(RecordError, match=f"continuation flag {flag} out of sequence"):
        list(split_records([frame], "RecordIO"))


@given(items=binary_payloads.filter(bool), data=st.data())
def test_recordio_cut_inside_a_record_fails_at_that_record(
    items: list[bytes], data: st.DataObject
) -> None:
    encoded = encode_recordio(items)
    ends = [len(encode_recordio(items[: index + 1])) for index in range(len(items))]
    cut_at = data.draw(st.integers(0, len(encoded) - 1).filter(lambda n: n not in {0, *ends}))

    with pytest.raises(RecordError) as caught:
        list(split_records([encoded[:cut_at]], "RecordIO"))

    assert caught.value.position == sum(end <= cut_at for end in ends)


# SplitType TFRecord


def test_tfrecord_crc_matches_an_independent_known_value() -> None:
    # masked CRC32C of b"1234567890asdfghjkl" is 4134599430, from a separate TFRecord library
    encoded = encode_tfrecord([b"1234567890asdfghjkl"])

    assert encoded[:8] == struct.pack("<Q", 19)
    assert encoded[-4:] == struct.pack("<I", 4134599430)


def test_tfrecord_record_has_its_payload_as_data_and_its_frame_as_raw() -> None:
    encoded = encode_tfrecord([b"abc", b""])

    records = list(split_records([encoded], "TFRecord"))

    assert [record.data for record in records] == [b"abc", b""]
    assert [record.raw for record in records] == [encoded[:19], encoded[19:]]


@given(items=st.lists(st.binary(max_size=40), max_size=12), points=cut_points)
def test_any_chunking_of_tfrecords_gives_back_the_payloads_and_frames(
    items: list[bytes], points: list[int]
) -> None:
    encoded = encode_tfrecord(items)

    records = list(split_records(cut(encoded, points), "TFRecord"))

    assert [record.data for record in records] == items
    assert b"".join(record.raw for record in records) == encoded


@pytest.mark.parametrize(
    ("cut_at", "problem"),
    [
        (19 + 7, r"truncated TFRecord header \(7 of 12 bytes\)"),
        (19 + 12 + 2, r"truncated TFRecord \(2 of 9 bytes after the header\)"),
        (19 + 12 + 7, r"truncated TFRecord \(7 of 9 bytes after the header\)"),  # data CRC cut
    ],
)
def test_truncated_tfrecord_names_the_cut_record(cut_at: int, problem: str) -> None:
    encoded = encode_tfrecord([b"abc", b"defgh"])

    with pytest.raises(RecordError, match=f"^record 1: {problem} at byte offset 19$") as caught:
        list(split_records([encoded[:cut_at]], "TFRecord"))

    assert caught.value.position == 1


@pytest.mark.parametrize(
    ("flip", "problem"),
    [(19 + 9, "TFRecord length CRC mismatch"), (19 + 13, "TFRecord data CRC mismatch")],
)
def test_tfrecord_crc_mismatch_names_the_record(flip: int, problem: str) -> None:
    encoded = bytearray(encode_tfrecord([b"abc", b"defgh", b"ij"]))
    encoded[flip] ^= 0x01

    with pytest.raises(RecordError, match=f"^record 1: {problem} at byte offset 19$") as caught:
        list(split_records([bytes(encoded)], "TFRecord"))

    assert caught.value.position == 1


def test_corrupt_tfrecord_length_fails_before_reading_on() -> None:
    encoded = bytearray(encode_tfrecord([b"abc"]))
    encoded[7] = 0x7F  # a length of petabytes, which the length CRC catches
    pulled = 0

    def source() -> Iterator[bytes]:
        nonlocal pulled
        for chunk in (bytes(encoded), *([b"\0" * 1024] * 100)):
            pulled += 1
            yield chunk

    with pytest.raises(RecordError, match="length CRC mismatch"):
        list(split_records(source(), "TFRecord"))
    assert pulled == 1


def test_record_error_survives_pickling_for_worker_processes() -> None:
    error = RecordError(3, 96, "TFRecord data CRC mismatch")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)

    assert (copy.position, copy.offset, str(copy)) == (3, 96, str(error))


@pytest.mark.parametrize("split_type", ["None", "Line"])
def test_an_oversized_record_is_refused_before_it_is_read_whole(split_type: str) -> None:
    from local.engine.records import RecordOverLimit

    pulled = 0

    def chunks() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(1000):  # 1000 MiB without a newline
            pulled += 1
            yield b"x" * (1024 * 1024)

    with pytest.raises(RecordOverLimit, match="record 0"):
        list(split_records(chunks(), split_type, max_record_bytes=6 * 1024 * 1024))
    assert pulled <= 8


def test_an_oversized_tfrecord_is_refused_from_its_header() -> None:
    from local.engine.records import RecordOverLimit

    data = encode_tfrecord([b"a" * 100, b"b" * 5000])
    with pytest.raises(RecordOverLimit, match="record 1"):
        list(split_records([data], "TFRecord", max_record_bytes=1000))
