"""The engine on the real examples: the scikit-learn model from its archive in S3, and the CLI
as a person runs it (a separate process talking to an S3 server over HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import joblib
import numpy as np
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from local.engine import s3_store
from local.engine.job import ModelSource, TransformJob
from local.engine.spec import TransformSpec
from local.model_host.host import free_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "engine-examples"


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iris")
    subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "examples/sklearn_iris/train.py"), "--out", str(out)],
        check=True,
    )
    return out


def expected_predictions(iris: Path) -> list[int]:
    with tarfile.open(iris / "model.tar.gz") as archive:
        archive.extractall(iris / "unpacked", filter="data")
    model = joblib.load(iris / "unpacked" / "model.joblib")
    features = np.loadtxt(iris / "iris.csv", delimiter=",", ndmin=2)
    return [int(value) for value in model.predict(features)]


def iris_request(content_type: str, key: str) -> dict[str, Any]:
    return {
        "TransformJobName": "tj-iris",
        "ModelName": "iris",
        "MaxConcurrentTransforms": 2,
        "MaxPayloadInMB": 1,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/{key}"}
            },
            "ContentType": content_type,
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/out/",
            "Accept": content_type,
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }


@pytest.mark.parametrize(
    ("content_type", "key"), [("text/csv", "iris.csv"), ("application/jsonlines", "iris.jsonl")]
)
def test_the_sklearn_example_predicts_one_line_per_input_line_as_the_model_does(
    iris: Path, tmp_path: Path, content_type: str, key: str
) -> None:
    with mock_aws():
        s3_store.client.cache_clear()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(iris / "model.tar.gz"), BUCKET, "models/iris/model.tar.gz")
        s3.upload_file(str(iris / key), BUCKET, f"in/{key}")
        model = ModelSource(name="iris", model_data_url=f"s3://{BUCKET}/models/iris/model.tar.gz")
        job = TransformJob(
            TransformSpec.from_request(iris_request(content_type, key)), model, work_dir=tmp_path
        )
        outcome = job.run()
        assert outcome.status == "Completed", outcome.failure_reason
        lines = (
            s3.get_object(Bucket=BUCKET, Key=f"out/{key}.out")["Body"].read().decode().splitlines()
        )
    s3_store.client.cache_clear()
    if content_type == "text/csv":
        predictions = [int(float(line)) for line in lines]
    else:
        predictions = [json.loads(line)["prediction"] for line in lines]
    assert predictions == expected_predictions(iris)
    assert len(set(predictions)) == 3


@pytest.fixture
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_the_cli_runs_a_job_and_prints_its_outcome(
    iris: Path, tmp_path: Path, s3_server: str
) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_S3": s3_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(iris / "model.tar.gz"), BUCKET, "models/iris/model.tar.gz")
    s3.upload_file(str(iris / "iris.csv"), BUCKET, "in/iris.csv")
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(iris_request("text/csv", "iris.csv")))
    reply = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "local.engine",
            "run-transform",
            str(job_file),
            "--model-data",
            f"s3://{BUCKET}/models/iris/model.tar.gz",
            "--work-dir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert reply.returncode == 0, reply.stderr[-2000:]
    outcome = json.loads(reply.stdout)
    assert outcome["TransformJobStatus"] == "Completed"
    assert outcome["Progress"]["objects_done"] == 1
    assert outcome["Progress"]["records_done"] == 150
    assert "objects 1/1" in reply.stderr
    body = s3.get_object(Bucket=BUCKET, Key="out/iris.csv.out")["Body"].read().decode()
    assert [int(float(line)) for line in body.splitlines()] == expected_predictions(iris)
