"""Iris classifier hooks for the SageMaker scikit-learn container contract: CSV rows or JSON
Lines records in, one predicted class per record out.

CSV is read as RFC 4180 with the csv module, not line by line: a quoted cell may hold commas and
line breaks (a shard of a job with InputPreparation is sent whole when one does). Each row holds
the four measurements in training order; cells after them (free text, such as notes) are read
and not used.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import joblib
import numpy as np

FEATURES = 4


def model_fn(model_dir: str) -> Any:
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    # The container passes text/csv as str and application/jsonlines as bytes.
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if content_type == "text/csv":
        records = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
        short = next((row for row in records if len(row) < FEATURES), None)
        if short is not None:
            raise ValueError(f"each record needs {FEATURES} features, got {len(short)}")
        rows = np.array([row[:FEATURES] for row in records], dtype=float, ndmin=2)
    elif content_type == "application/jsonlines":
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = np.array([record["features"] for record in records], dtype=float, ndmin=2)
    else:
        raise ValueError(f"this model reads text/csv or application/jsonlines, not {content_type}")
    if rows.shape[1] != FEATURES:
        raise ValueError(f"each record needs {FEATURES} features, got {rows.shape[1]}")
    return rows


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    return np.asarray(model.predict(data))


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    classes = [int(value) for value in prediction]
    if accept == "application/jsonlines":
        return "".join(json.dumps({"prediction": c}) + "\n" for c in classes), accept
    if accept == "text/csv":
        return "".join(f"{c}\n" for c in classes), accept
    if accept == "application/json":
        # What a job without TransformOutput.Accept gets: the container's default Accept.
        return json.dumps(classes), accept
    raise ValueError(f"this model answers text/csv, application/jsonlines or JSON, not {accept}")
