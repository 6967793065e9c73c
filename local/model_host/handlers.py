"""A model dir's inference script (model_fn, input_fn, predict_fn, output_fn) and the defaults the
SageMaker scikit-learn container uses for the functions a script leaves out."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"

# The scikit-learn container hands input_fn a str for exactly these; every other type gets bytes.
TEXT_TYPES = frozenset({CSV, JSON})

DEFAULT_SCRIPT = "inference.py"
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"
CONTAINER_MODEL_DIR = "/opt/ml/model"


class ScriptError(Exception):
    """The inference script is missing, cannot be imported, or lacks model_fn."""


class UnsupportedContentType(ValueError):
    """No decoder (Content-Type) or encoder (Accept) for this media type: the server answers 415."""

    def __init__(self, media_type: str, header: str, supported: tuple[str, ...]) -> None:
        hook = "input_fn" if header == "Content-Type" else "output_fn"
        super().__init__(
            f"unsupported {header} {media_type or '(none)'}: the default {hook} handles "
            f"{', '.join(supported)}; the inference script can define its own {hook}"
        )
        self.media_type = media_type


@dataclass(frozen=True)
class Handlers:
    """The four hooks, each the script's own or the default, plus the optional
    execution_parameters() whose dict GET /execution-parameters answers (404 without it)."""

    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    execution_parameters: Callable[[], Any] | None
    script: Path


def media_type(header: str | None) -> str:
    """`Text/CSV; charset=utf-8` → `text/csv`: hooks see the bare, lower-case media type."""
    return (header or "").split(";", 1)[0].strip().lower()


def accept_type(header: str | None, env: Mapping[str, str]) -> str:
    """The Accept to encode for; absent or */* means the container's default (application/json
    unless SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT names another)."""
    # Batch Transform sends TransformOutput.Accept verbatim; a list is taken at its first entry.
    first = media_type((header or "").split(",", 1)[0])
    if first in {"", "*/*"}:
        return media_type(env.get(DEFAULT_ACCEPT_ENV)) or JSON
    return first


def code_dir(model_dir: Path, env: Mapping[str, str]) -> Path:
    """Where the script lives: SAGEMAKER_SUBMIT_DIRECTORY if set, else <model dir>/code."""
    submit = env.get(SUBMIT_DIRECTORY_ENV, "").strip()
    if not submit:
        return model_dir / "code"
    if "://" in submit:
        raise ScriptError(
            f"{SUBMIT_DIRECTORY_ENV}={submit} names a remote source archive; locally the code "
            "must be inside the model archive (code/, or a directory named by a path)"
        )
    # The SageMaker SDK repacks models with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code.
    if submit == CONTAINER_MODEL_DIR or submit.startswith(CONTAINER_MODEL_DIR + "/"):
        return model_dir / submit[len(CONTAINER_MODEL_DIR) :].lstrip("/")
    path = Path(submit)
    return path if path.is_absolute() else model_dir / path


def script_path(model_dir: Path, env: Mapping[str, str]) -> Path:
    """The inference script: SAGEMAKER_PROGRAM (a file name) in the code dir, else inference.py."""
    program = env.get(PROGRAM_ENV, "").strip() or DEFAULT_SCRIPT
    return code_dir(model_dir, env) / program


def load_handlers(model_dir: Path, env: Mapping[str, str]) -> Handlers:
    """Import the script (its dir first on sys.path, as in the containers) and pick its hooks."""
    script = script_path(model_dir, env)
    if not script.is_file():
        raise ScriptError(
            f"no inference script at {script}: put code/{DEFAULT_SCRIPT} in the model archive, "
            f"or name the file with {PROGRAM_ENV}"
        )
    module = _import(script)
    model_fn = getattr(module, "model_fn", None)
    if not callable(model_fn):
        raise ScriptError(
            f"{script} defines no model_fn(model_dir); the scikit-learn container has no default "
            "for it, so the script must load the model itself"
        )
    execution_parameters = getattr(module, "execution_parameters", None)
    return Handlers(
        model_fn=model_fn,
        input_fn=_hook(module, "input_fn", default_input_fn),
        predict_fn=_hook(module, "predict_fn", default_predict_fn),
        output_fn=_hook(module, "output_fn", default_output_fn),
        execution_parameters=execution_parameters if callable(execution_parameters) else None,
        script=script,
    )


def _import(script: Path) -> ModuleType:
    name = script.stem
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ScriptError(f"cannot import {script}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    # Registered under its name so pickled objects that refer to the script's classes resolve.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ScriptError(f"importing {script} failed: {type(error).__name__}: {error}") from error
    return module


def _hook(module: ModuleType, name: str, default: Callable[..., Any]) -> Callable[..., Any]:
    hook = getattr(module, name, None)
    return hook if callable(hook) else default


def request_body(body: bytes, content_type: str) -> str | bytes:
    """What input_fn receives: UTF-8 text for CSV and JSON, the raw bytes otherwise."""
    return body.decode("utf-8") if content_type in TEXT_TYPES else body


def default_input_fn(body: str | bytes, content_type: str) -> Any:
    """Decode a batch by its media type into a numpy array (CSV rows always 2-D)."""
    decoder = _DECODERS.get(content_type)
    if decoder is None:
        raise UnsupportedContentType(content_type, "Content-Type", tuple(_DECODERS))
    text_or_bytes = body
    if content_type != NPY and isinstance(body, bytes):
        text_or_bytes = body.decode("utf-8")
    return decoder(text_or_bytes)


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """Encode a prediction for the media type in Accept."""
    encoder = _ENCODERS.get(accept)
    if encoder is None:
        raise UnsupportedContentType(accept, "Accept", tuple(_ENCODERS))
    return encoder(prediction), accept


def response(result: Any, accept: str) -> tuple[bytes, str]:
    """output_fn's result as (body, content type): str (sent as UTF-8), bytes, or a
    (body, content type) pair; a bare body is labelled with the Accept it was made for."""
    content_type = accept
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
        if not isinstance(content_type, str):
            raise TypeError(
                f"output_fn returned a content type of {type(content_type).__name__}, not str"
            )
    if isinstance(result, str):
        return result.encode("utf-8"), content_type
    if isinstance(result, bytes | bytearray | memoryview):
        return bytes(result), content_type
    raise TypeError(
        f"output_fn returned {type(result).__name__}; return str, bytes or (body, content_type)"
    )


def invoke(
    handlers: Handlers, model: Any, body: bytes, content_type: str, accept: str
) -> tuple[bytes, str]:
    """One /invocations request through input_fn → predict_fn → output_fn."""
    data = handlers.input_fn(request_body(body, content_type), content_type)
    prediction = handlers.predict_fn(data, model)
    return response(handlers.output_fn(prediction, accept), accept)


def _text(body: str | bytes) -> str:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not text.strip():
        raise ValueError("the request body is empty")
    return text


def _decode_csv(body: str | bytes) -> Any:
    # 2-D even for one row, so a single record can go straight to model.predict.
    return np.loadtxt(io.StringIO(_text(body)), delimiter=",", dtype=float, ndmin=2, quotechar='"')


def _decode_json(body: str | bytes) -> Any:
    return np.asarray(json.loads(_text(body)))


def _decode_jsonlines(body: str | bytes) -> Any:
    return np.asarray([json.loads(line) for line in _text(body).splitlines() if line.strip()])


def _decode_npy(body: str | bytes) -> Any:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    # No pickles: a request body must not be able to run code in the model process.
    return np.load(io.BytesIO(raw), allow_pickle=False)


_DECODERS: dict[str, Callable[[str | bytes], Any]] = {
    CSV: _decode_csv,
    JSON: _decode_json,
    JSONLINES: _decode_jsonlines,
    NPY: _decode_npy,
}


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and Python numbers, so json can write them."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode_json(prediction: Any) -> bytes:
    return json.dumps(prediction, default=_plain).encode("utf-8")


def _rows(prediction: Any) -> list[Any]:
    values = _plain(prediction) if isinstance(prediction, np.ndarray | np.generic) else prediction
    return list(values) if isinstance(values, list | tuple) else [values]


def _encode_jsonlines(prediction: Any) -> bytes:
    return "".join(json.dumps(row, default=_plain) + "\n" for row in _rows(prediction)).encode()


def _encode_csv(prediction: Any) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in _rows(prediction):
        writer.writerow(row if isinstance(row, list | tuple) else [row])
    return out.getvalue().encode("utf-8")


def _encode_npy(prediction: Any) -> bytes:
    out = io.BytesIO()
    np.save(out, np.asarray(prediction), allow_pickle=False)
    return out.getvalue()


_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    JSON: _encode_json,
    CSV: _encode_csv,
    JSONLINES: _encode_jsonlines,
    NPY: _encode_npy,
}
