"""The model server's hooks without HTTP: which script is loaded, the scikit-learn container's
default decoders and encoders, and the forms output_fn may return."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import numpy as np
import pytest

from local.model_host.handlers import (
    ScriptError,
    UnsupportedContentType,
    accept_type,
    default_input_fn,
    default_output_fn,
    default_predict_fn,
    invoke,
    load_handlers,
    media_type,
    request_body,
    response,
    script_path,
)
from local.model_host.serve import BadRequest, read_chunked


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Scripts are imported into this process: each test gets its sys.path and module names back."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write_script(model_dir: Path, source: str, name: str = "inference.py") -> Path:
    path = model_dir / "code" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(source))
    return path


class Doubler:
    def predict(self, data: Any) -> Any:
        return np.asarray(data) * 2


# Decoding (input_fn's default)


def test_csv_decodes_to_a_2d_float_array() -> None:
    data = default_input_fn("1,2,3\n4,5.5,6\n", "text/csv")

    assert data.dtype == np.float64
    assert data.tolist() == [[1, 2, 3], [4, 5.5, 6]]


def test_one_csv_row_is_still_2d_so_a_single_record_can_be_predicted() -> None:
    assert default_input_fn("5.1,3.5,1.4,0.2", "text/csv").shape == (1, 4)
    assert default_input_fn("1\n2\n3\n", "text/csv").shape == (3, 1)


def test_csv_header_row_is_an_error_naming_the_cell() -> None:
    with pytest.raises(ValueError, match="sepal_length"):
        default_input_fn("sepal_length,width\n1,2\n", "text/csv")


def test_json_decodes_to_an_array_of_the_parsed_value() -> None:
    data = default_input_fn("[[1, 2], [3, 4]]", "application/json")

    assert isinstance(data, np.ndarray)
    assert data.tolist() == [[1, 2], [3, 4]]


def test_jsonlines_decode_each_line_skipping_blank_ones() -> None:
    data = default_input_fn(b"[1, 2]\n\n[3, 4]\n", "application/jsonlines")

    assert data.tolist() == [[1, 2], [3, 4]]


def test_npy_round_trips() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6).reshape(2, 3))

    assert default_input_fn(buffer.getvalue(), "application/x-npy").tolist() == [
        [0, 1, 2],
        [3, 4, 5],
    ]


def test_npy_with_pickled_objects_is_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)

    with pytest.raises(ValueError, match="pickle"):
        default_input_fn(buffer.getvalue(), "application/x-npy")


@pytest.mark.parametrize("content_type", ["text/plain", "image/png", ""])
def test_unsupported_content_type_names_what_is_supported(content_type: str) -> None:
    with pytest.raises(UnsupportedContentType, match="text/csv") as raised:
        default_input_fn(b"x", content_type)

    assert raised.value.media_type == content_type


def test_an_empty_body_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        default_input_fn("\n", "text/csv")


# What input_fn receives, media types, Accept


def test_csv_and_json_reach_input_fn_as_text_everything_else_as_bytes() -> None:
    assert request_body(b"1,2\n", "text/csv") == "1,2\n"
    assert request_body(b"[1]", "application/json") == "[1]"
    assert request_body(b"{}\n", "application/jsonlines") == b"{}\n"
    assert request_body(b"\x93NUMPY", "application/x-npy") == b"\x93NUMPY"


def test_media_type_drops_parameters_and_case() -> None:
    assert media_type("Text/CSV; charset=utf-8") == "text/csv"
    assert media_type(None) == ""


@pytest.mark.parametrize("header", [None, "", "*/*"])
def test_missing_accept_means_json(header: str | None) -> None:
    assert accept_type(header, {}) == "application/json"


def test_default_accept_can_be_set_by_the_environment() -> None:
    env = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}

    assert accept_type(None, env) == "text/csv"
    assert accept_type("application/jsonlines", env) == "application/jsonlines"


# Encoding (output_fn's default)


def test_json_output_is_the_prediction_as_a_list() -> None:
    body, content_type = default_output_fn(np.array([0, 2, 1]), "application/json")

    assert (json.loads(body), content_type) == ([0, 2, 1], "application/json")


def test_csv_output_is_one_line_per_row_values_comma_joined() -> None:
    assert default_output_fn(np.array([0, 2]), "text/csv") == (b"0\n2\n", "text/csv")
    assert default_output_fn(np.array([[0.5, 1.0], [2.0, 3.25]]), "text/csv")[0] == (
        b"0.5,1.0\n2.0,3.25\n"
    )


def test_csv_output_quotes_cells_with_commas() -> None:
    assert default_output_fn(np.array([["a,b", "c"]]), "text/csv")[0] == b'"a,b",c\n'


def test_jsonlines_output_is_one_json_value_per_row() -> None:
    body, _ = default_output_fn(np.array([[1, 2], [3, 4]]), "application/jsonlines")

    assert body == b"[1, 2]\n[3, 4]\n"


def test_npy_output_loads_back() -> None:
    body, content_type = default_output_fn(np.array([1.5, 2.5]), "application/x-npy")

    assert content_type == "application/x-npy"
    assert np.load(io.BytesIO(body)).tolist() == [1.5, 2.5]


def test_unsupported_accept_is_refused() -> None:
    with pytest.raises(UnsupportedContentType, match="Accept text/html"):
        default_output_fn(np.array([1]), "text/html")


def test_default_predict_calls_the_models_predict() -> None:
    assert default_predict_fn(np.array([1, 2]), Doubler()).tolist() == [2, 4]


# output_fn's return forms


def test_a_str_is_sent_as_utf8_labelled_with_accept() -> None:
    assert response("é\n", "text/csv") == ("é\n".encode(), "text/csv")


def test_bytes_are_sent_as_they_are() -> None:
    assert response(b"\x00\x01", "application/octet-stream") == (
        b"\x00\x01",
        "application/octet-stream",
    )


def test_a_pair_names_its_own_content_type() -> None:
    assert response(("[1]", "application/json"), "text/csv") == (b"[1]", "application/json")
    assert response((b"1\n", "text/csv"), "application/json") == (b"1\n", "text/csv")


@pytest.mark.parametrize("result", [[1, 2], 3, None, ("body", 5)])
def test_anything_else_is_an_error(result: Any) -> None:
    with pytest.raises(TypeError, match="output_fn returned"):
        response(result, "text/csv")


# Loading the script


def test_inference_py_with_only_model_fn_gets_every_default(tmp_path: Path) -> None:
    write_script(tmp_path, "def model_fn(model_dir):\n    return model_dir\n")

    handlers = load_handlers(tmp_path, {})

    assert handlers.script == tmp_path / "code" / "inference.py"
    assert handlers.model_fn(str(tmp_path)) == str(tmp_path)
    assert handlers.input_fn is default_input_fn
    assert handlers.predict_fn is default_predict_fn
    assert handlers.output_fn is default_output_fn
    assert handlers.execution_parameters is None


def test_sagemaker_program_picks_the_script(tmp_path: Path) -> None:
    write_script(tmp_path, "def model_fn(model_dir):\n    return 'inference'\n")
    write_script(tmp_path, "def model_fn(model_dir):\n    return 'predict'\n", "predict.py")

    handlers = load_handlers(tmp_path, {"SAGEMAKER_PROGRAM": "predict.py"})

    assert handlers.script.name == "predict.py"
    assert handlers.model_fn(str(tmp_path)) == "predict"


@pytest.mark.parametrize(
    ("submit_directory", "expected"),
    [
        ("/opt/ml/model/code", "code"),  # what the SageMaker SDK sets when it repacks a model
        ("/opt/ml/model", "."),
        ("src", "src"),
    ],
)
def test_submit_directory_names_the_code_dir(
    tmp_path: Path, submit_directory: str, expected: str
) -> None:
    env = {"SAGEMAKER_SUBMIT_DIRECTORY": submit_directory, "SAGEMAKER_PROGRAM": "serve.py"}

    assert script_path(tmp_path, env) == (tmp_path / expected / "serve.py")


def test_a_remote_submit_directory_is_a_clear_error(tmp_path: Path) -> None:
    env = {"SAGEMAKER_SUBMIT_DIRECTORY": "s3://bucket/sourcedir.tar.gz"}

    with pytest.raises(ScriptError, match="remote source archive"):
        script_path(tmp_path, env)


def test_a_model_dir_without_a_script_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"no inference script .*code/inference\.py"):
        load_handlers(tmp_path, {})


def test_a_script_without_model_fn_is_a_clear_error(tmp_path: Path) -> None:
    write_script(tmp_path, "def predict_fn(data, model):\n    return data\n")

    with pytest.raises(ScriptError, match="defines no model_fn"):
        load_handlers(tmp_path, {})


def test_a_script_that_fails_to_import_says_why(tmp_path: Path) -> None:
    write_script(tmp_path, "import no_such_module_here\n")

    with pytest.raises(ScriptError, match="no_such_module_here"):
        load_handlers(tmp_path, {})


def test_the_script_can_import_its_neighbours(tmp_path: Path) -> None:
    write_script(tmp_path, "SCALE = 3\n", "helpers.py")
    write_script(
        tmp_path,
        """
        from helpers import SCALE

        def model_fn(model_dir):
            return SCALE
        """,
    )

    assert load_handlers(tmp_path, {}).model_fn(str(tmp_path)) == 3


def test_a_full_script_runs_positionally_through_invoke(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        """
        calls = []

        def model_fn(model_dir):
            return {"offset": 10}

        def input_fn(body, content_type):
            calls.append((type(body).__name__, content_type))
            return [int(line) for line in body.splitlines()]

        def predict_fn(data, model):
            return [value + model["offset"] for value in data]

        def output_fn(prediction, accept):
            return "\\n".join(map(str, prediction)) + "\\n", "text/plain"

        def execution_parameters():
            return {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD"}
        """,
    )
    handlers = load_handlers(tmp_path, {})
    model = handlers.model_fn(str(tmp_path))

    body, content_type = invoke(handlers, model, b"1\n2\n", "text/csv", "text/csv")

    assert (body, content_type) == (b"11\n12\n", "text/plain")
    assert sys.modules["inference"].calls == [("str", "text/csv")]
    assert handlers.execution_parameters is not None
    assert handlers.execution_parameters()["BatchStrategy"] == "SINGLE_RECORD"


def test_defaults_run_end_to_end_through_invoke(tmp_path: Path) -> None:
    handlers = load_handlers(
        write_script(tmp_path, "def model_fn(model_dir):\n    return None\n").parents[1], {}
    )

    body, content_type = invoke(handlers, Doubler(), b"1,2\n3,4\n", "text/csv", "text/csv")

    assert (body, content_type) == (b"2.0,4.0\n6.0,8.0\n", "text/csv")


# Chunked request bodies (the engine's framing when MaxPayloadInMB is 0)


def test_chunked_body_is_joined_with_extensions_and_trailers_ignored() -> None:
    wire = b"4;name=x\r\nabcd\r\n2\r\nef\r\n0\r\nX-Checksum: 1\r\n\r\n"

    assert read_chunked(io.BytesIO(wire)) == b"abcdef"


@pytest.mark.parametrize(
    "wire",
    [b"zz\r\nab\r\n0\r\n\r\n", b"4\r\nab", b"2\r\nabcd\r\n0\r\n\r\n", b"2\r\nab\r\n0\r\n"],
)
def test_malformed_chunked_bodies_are_bad_requests(wire: bytes) -> None:
    with pytest.raises(BadRequest):
        read_chunked(io.BytesIO(wire))
