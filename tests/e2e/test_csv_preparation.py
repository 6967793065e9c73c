"""A CSV as teams have it (a header, columns in another order than training, a quoted text
column with line breaks) through the whole local stack: prepared, transformed, reassembled."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import StackProcess
from tests.e2e.support import IRIS_ROWS, fresh_prefix, request_for, upload
from tests.e2e.test_jobs import expected_predictions

pytestmark = pytest.mark.e2e

TRAINING_ORDER = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
FILE_ORDER = ["id", "petal_width", "notes", "sepal_length", "petal_length", "sepal_width"]
# Enough rows for several shards of MaxPayloadInMB 1.
REPEATS = 300


def team_csv(iris_csv: bytes) -> tuple[bytes, list[list[str]], bytes]:
    """The file (CRLF, a BOM), its rows as read, and the model's columns in training order."""
    measurements = list(csv.reader(io.StringIO(iris_csv.decode())))
    rows, training = [], io.StringIO(newline="")
    for n in range(REPEATS * IRIS_ROWS):
        sepal_length, sepal_width, petal_length, petal_width = measurements[n % IRIS_ROWS]
        note = f'seen by "{n % 7}", twice\nsecond line' if n % 3 == 0 else f"plain {n}"
        rows.append([str(n), petal_width, note, sepal_length, petal_length, sepal_width])
        training.write(",".join((sepal_length, sepal_width, petal_length, petal_width)) + "\n")
    data = io.StringIO(newline="")
    csv.writer(data, lineterminator="\r\n").writerows([FILE_ORDER, *rows])
    return b"\xef\xbb\xbf" + data.getvalue().encode(), rows, training.getvalue().encode()


def test_a_csv_with_header_reordered_columns_and_multiline_text_runs_to_completed(
    stack: StackProcess, iris_csv: bytes
) -> None:
    api, bucket, prefix = stack.api(), stack.info["bucket"], fresh_prefix()
    data, rows, training = team_csv(iris_csv)
    upload(stack, f"{prefix}in/data.csv", data)
    request = request_for(
        bucket,
        prefix,
        MaxPayloadInMB=1,
        MaxConcurrentTransforms=2,
        InputPreparation={
            "Columns": [*TRAINING_ORDER, "notes"],
            "Reassemble": True,
            "OutputColumns": ["species"],
        },
    )
    reply = api.submit(request)
    assert reply.status == 202, reply.body
    job = api.wait(reply.body["JobId"], timeout_s=300)
    assert job["Status"] == "Completed", job["StatusReason"]

    progress = job["Progress"]
    assert progress["RowsRead"] == len(rows)
    assert progress["ShardsWritten"] >= 2 and progress["ShardsDone"] == progress["ShardsWritten"]
    assert progress["OutputObjects"] == 1
    events = api.call("GET", f"/v1/jobs/{job['JobId']}/events").body["Events"]
    statuses = [event["Status"] for event in events]
    assert statuses.index("Preparing") < statuses.index("InProgress") < statuses.index("Finalizing")
    preparing = next(event for event in events if event["Status"] == "Preparing")
    assert "looks like a header (Header Auto)" in preparing["Reason"]

    # One output, named as SageMaker would name the input's, with every row as it was and the
    # model's prediction beside it; the work area is gone.
    outputs = api.call("GET", f"/v1/jobs/{job['JobId']}/outputs").body["Outputs"]
    assert [output["Key"] for output in outputs] == ["data.csv.out"]
    body = stack.aws("s3").get_object(Bucket=bucket, Key=f"{prefix}out/data.csv.out")["Body"].read()
    header, *joined = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert header == [*FILE_ORDER, "species"]
    assert [row[:-1] for row in joined] == rows
    assert [row[-1] for row in joined] == expected_predictions(stack, training)
    listing = stack.aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"{prefix}out/")
    assert [entry["Key"] for entry in listing["Contents"]] == [f"{prefix}out/data.csv.out"]
