"""Job ids: 26 lower-case Crockford base32 characters, time-ordered, safe in SageMaker names."""

from __future__ import annotations

import re
import time

import pytest

from transform_jobs.identifiers import is_job_id, new_job_id

SAGEMAKER_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
VALID = "0123456789abcdefghjkmnpqrs"


def test_new_job_id_is_26_characters_and_a_job_id() -> None:
    for _ in range(100):
        job_id = new_job_id()
        assert len(job_id) == 26
        assert is_job_id(job_id), job_id


def test_new_job_ids_are_distinct() -> None:
    assert len({new_job_id() for _ in range(1000)}) == 1000


def test_later_job_id_sorts_after_an_earlier_one() -> None:
    earlier = new_job_id()
    time.sleep(0.002)
    later = new_job_id()

    assert earlier < later


def test_job_id_starts_with_the_time_in_milliseconds() -> None:
    before = int(time.time() * 1000)
    job_id = new_job_id()
    after = int(time.time() * 1000)

    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    value = 0
    for char in job_id:
        value = value * 32 + alphabet.index(char)
    assert before <= value >> 80 <= after


def test_every_crockford_character_is_accepted() -> None:
    assert is_job_id(VALID)
    assert is_job_id("tvwxyz" + "0" * 20)


@pytest.mark.parametrize("char", ["i", "l", "o", "u", "A", "Z", "-", "_", " "])
def test_job_id_with_a_character_outside_the_alphabet_is_refused(char: str) -> None:
    assert not is_job_id(VALID[:-1] + char)
    assert not is_job_id(char + VALID[1:])


def test_upper_case_job_id_is_refused() -> None:
    assert not is_job_id(VALID.upper())


@pytest.mark.parametrize("length", [0, 1, 25, 27, 52])
def test_job_id_of_another_length_is_refused(length: int) -> None:
    assert not is_job_id(("0123456789abcdefghjkmnpqrs" * 3)[:length])


def test_job_id_with_a_trailing_newline_is_refused() -> None:
    assert not is_job_id(VALID + "\n")


@pytest.mark.parametrize("stage", ["dev", "a" * 12, "qa1"])
def test_service_job_name_is_a_valid_sagemaker_name(stage: str) -> None:
    name = f"tj-{stage}-{new_job_id()}"

    assert SAGEMAKER_JOB_NAME.fullmatch(name)
    assert len(name) <= 63


def test_service_job_name_for_a_12_character_stage_is_42_characters() -> None:
    assert len(f"tj-{'a' * 12}-{new_job_id()}") == 42
