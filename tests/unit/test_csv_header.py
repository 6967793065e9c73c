"""Spotting a CSV header row (SageMaker would send it to the model as a record)."""

from __future__ import annotations

import pytest

from transform_jobs.csv_io.header import looks_like_header


@pytest.mark.parametrize(
    "sample",
    [
        "age,income,score\n34,52000,0.7\n29,48000,0.4\n",
        "id,label\nx-1,0.5\n",  # the text column stays text, the numeric one turns numeric
        "a,b\n1,2",  # no final newline
        "feature one ,feature two\n 1.5 , -2e3 \n",
    ],
)
def test_text_header_above_numeric_rows_is_a_header(sample: str) -> None:
    assert looks_like_header(sample) is True


def test_quoted_header_cells_with_commas_are_a_header() -> None:
    sample = '"last, first","income, yearly"\n"doe, jane",52000\n'

    assert looks_like_header(sample) is True


@pytest.mark.parametrize(
    "sample",
    [
        "1,2,3\n4,5,6\n",
        "0.5,-1,3e2\n7,8,9\n",
    ],
)
def test_numeric_data_without_header_is_not_a_header(sample: str) -> None:
    assert looks_like_header(sample) is False


@pytest.mark.parametrize("sample", ["a,b,c", "a,b,c\n", "", "\n"])
def test_a_single_line_is_not_a_header(sample: str) -> None:
    assert looks_like_header(sample) is False


@pytest.mark.parametrize(
    "sample",
    [
        "alice,paris\nbob,london\n",
        "name,city\nalice,paris\n",  # header or not, nothing numeric tells them apart
    ],
)
def test_all_text_rows_are_not_a_header(sample: str) -> None:
    assert looks_like_header(sample) is False


@pytest.mark.parametrize("sample", [",b,c\n1,2,3\n", " ,b\n1,2\n", "a,,c\n1,2,3\n"])
def test_first_line_with_an_empty_cell_is_not_a_header(sample: str) -> None:
    assert looks_like_header(sample) is False


def test_first_line_with_a_number_is_not_a_header() -> None:
    assert looks_like_header("id,2024\n1,2\n") is False


def test_empty_first_line_is_not_a_header() -> None:
    assert looks_like_header("\n1,2\n") is False
