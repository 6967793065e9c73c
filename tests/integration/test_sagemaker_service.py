"""The local SageMaker API as boto3 sees it: the service in its own process, S3 on a moto server,
the scikit-learn example model run through CreateModel and CreateTransformJob."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from local.engine import s3_store
from local.model_host.host import free_port
from local.sagemaker_service.service import ACCOUNT, SageMakerService
from tests.support.sagemaker_event_schema import aws_shape_violations

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "sagemaker-service"
REGION = "us-east-1"
INTERRUPTED = "The local SageMaker service stopped while the job was running."
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iris")
    subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "examples/sklearn_iris/train.py"), "--out", str(out)],
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def s3_server(iris: Path) -> Iterator[str]:
    """moto's S3 with the model archive and the input uploaded."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, **_keys())
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(iris / "model.tar.gz"), BUCKET, "models/iris/model.tar.gz")
        s3.upload_file(str(iris / "iris.csv"), BUCKET, "in/iris.csv")
        yield url
    finally:
        server.stop()


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Service:
    """`python -m local.sagemaker_service` in a subprocess, stopped by its PID."""

    def __init__(
        self,
        data_dir: Path,
        s3_url: str,
        *,
        extra_args: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"service-{self.port}.log"
        env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL_S3": s3_url, **(extra_env or {})}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "local.sagemaker_service",
                    "--data-dir",
                    str(data_dir),
                    "--port",
                    str(self.port),
                    *extra_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_listening()
        self.client = boto3.client(
            "sagemaker", endpoint_url=self.url, region_name=REGION, **_keys()
        )

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("the service did not listen within 20 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def service(tmp_path: Path, s3_server: str) -> Iterator[Service]:
    running = Service(tmp_path / "data", s3_server)
    try:
        yield running
    finally:
        running.stop()


def create_iris_model(client: Any, name: str = "iris") -> str:
    reply = client.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
            "ModelDataUrl": f"s3://{BUCKET}/models/iris/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
    )
    arn: str = reply["ModelArn"]
    return arn


def job_request(name: str, model: str = "iris") -> dict[str, Any]:
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/iris.csv"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/out/{name}/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }


def wait_until_ended(client: Any, name: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described: dict[str, Any] = client.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            return described
        time.sleep(0.5)
    pytest.fail(f"{name} did not end within {timeout_s} s")


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = error.value.response["Error"]["Code"]
    return code


def test_a_transform_job_runs_the_model_from_s3_and_writes_one_line_per_record(
    service: Service, s3_server: str
) -> None:
    client = service.client
    model_arn = create_iris_model(client)
    assert model_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/iris"
    described_model = client.describe_model(ModelName="iris")
    assert described_model["PrimaryContainer"]["ModelDataUrl"].endswith("model.tar.gz")
    assert described_model["CreationTime"].year >= 2024
    assert [m["ModelName"] for m in client.list_models()["Models"]] == ["iris"]

    created = client.create_transform_job(
        **job_request("tj-iris"), Tags=[{"Key": "team", "Value": "ml"}]
    )
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/tj-iris"
    assert created["TransformJobArn"] == arn
    assert client.describe_transform_job(TransformJobName="tj-iris")["TransformJobStatus"] in (
        "InProgress",
        "Completed",
    )
    described = wait_until_ended(client, "tj-iris")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["TransformJobArn"] == arn
    assert described["ModelName"] == "iris"
    assert described["TransformInput"]["ContentType"] == "text/csv"
    assert described["CreationTime"] <= described["TransformStartTime"]
    assert described["TransformStartTime"] <= described["TransformEndTime"]
    assert "FailureReason" not in described

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name=REGION, **_keys())
    body = s3.get_object(Bucket=BUCKET, Key="out/tj-iris/iris.csv.out")["Body"].read()
    assert len(body.decode().splitlines()) == 150

    summaries = client.list_transform_jobs(StatusEquals="Completed")["TransformJobSummaries"]
    assert [(s["TransformJobName"], s["TransformJobArn"]) for s in summaries] == [("tj-iris", arn)]
    assert client.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    client.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    assert client.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "stage", "Value": "dev"},
    ]

    # A job that has ended cannot be stopped; a name cannot be used twice.
    with pytest.raises(ClientError) as stopped:
        client.stop_transform_job(TransformJobName="tj-iris")
    assert error_code(stopped) == "ValidationException"
    with pytest.raises(ClientError) as duplicate:
        client.create_transform_job(**job_request("tj-iris"))
    assert error_code(duplicate) == "ResourceInUse"


def test_a_stopped_job_goes_through_stopping_to_stopped(service: Service) -> None:
    client = service.client
    create_iris_model(client)
    client.create_transform_job(**job_request("tj-stop"))
    client.stop_transform_job(TransformJobName="tj-stop")
    status = client.describe_transform_job(TransformJobName="tj-stop")["TransformJobStatus"]
    assert status in ("Stopping", "Stopped")
    described = wait_until_ended(client, "tj-stop")
    assert described["TransformJobStatus"] == "Stopped"
    assert "TransformEndTime" in described


def test_unknown_names_and_missing_models_are_validation_errors(service: Service) -> None:
    client = service.client
    with pytest.raises(ClientError) as missing_model:
        client.create_transform_job(**job_request("tj-nomodel", model="absent"))
    assert error_code(missing_model) == "ValidationException"
    assert 'model/absent"' in missing_model.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown_job:
        client.describe_transform_job(TransformJobName="no-such-job")
    assert error_code(unknown_job) == "ValidationException"
    assert "Could not find requested job with name no-such-job" in str(unknown_job.value)
    with pytest.raises(ClientError) as unknown_model:
        client.describe_model(ModelName="absent")
    assert error_code(unknown_model) == "ValidationException"
    assert (
        unknown_model.value.response["Error"]["Message"]
        == f'Could not find model "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/absent".'
    )
    with pytest.raises(ClientError) as stop_unknown:
        client.stop_transform_job(TransformJobName="no-such-job")
    assert error_code(stop_unknown) == "ValidationException"
    assert client.list_transform_jobs()["TransformJobSummaries"] == []

    create_iris_model(client, "to-delete")
    client.delete_model(ModelName="to-delete")
    with pytest.raises(ClientError) as deleted:
        client.delete_model(ModelName="to-delete")
    assert error_code(deleted) == "ValidationException"


def test_a_job_running_when_the_service_stopped_is_failed_on_restart(
    tmp_path: Path, s3_server: str
) -> None:
    data = tmp_path / "data"
    (data / "jobs").mkdir(parents=True)
    request = job_request("tj-interrupted")
    description = {
        **request,
        "TransformJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/tj-interrupted",
        "TransformJobStatus": "InProgress",
        "CreationTime": time.time() - 60,
        "TransformStartTime": time.time() - 59,
    }
    record = {"Description": description, "Tags": [], "LastModifiedTime": time.time() - 59}
    (data / "jobs" / "tj-interrupted.json").write_text(json.dumps(record))
    restarted = Service(data, s3_server)
    try:
        described = restarted.client.describe_transform_job(TransformJobName="tj-interrupted")
    finally:
        restarted.stop()
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == INTERRUPTED
    assert "TransformEndTime" in described


def test_every_status_change_is_published(
    tmp_path: Path, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, to see the hook: created, then the engine's end; and recovery's Failed."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    s3_store.client.cache_clear()
    published: list[tuple[str, str]] = []

    def publish(description: dict[str, Any]) -> None:
        published.append((description["TransformJobName"], description["TransformJobStatus"]))

    service = SageMakerService(tmp_path / "data", publish=publish)
    try:
        service.call(
            "CreateModel",
            {
                "ModelName": "iris",
                "PrimaryContainer": {
                    "Image": "sklearn",
                    "ModelDataUrl": f"s3://{BUCKET}/models/iris/model.tar.gz",
                },
            },
        )
        service.call("CreateTransformJob", job_request("tj-published"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(published) < 2:
            time.sleep(0.2)
        assert published == [("tj-published", "InProgress"), ("tj-published", "Completed")]
        described = service.call("DescribeTransformJob", {"TransformJobName": "tj-published"})
        assert described["TransformJobStatus"] == "Completed"
    finally:
        service.close()
        s3_store.client.cache_clear()

    record_path = tmp_path / "data" / "jobs" / "tj-published.json"
    record = json.loads(record_path.read_text())
    record["Description"]["TransformJobStatus"] = "Stopping"
    record_path.write_text(json.dumps(record))
    published.clear()
    assert SageMakerService(tmp_path / "data", publish=publish).recover() == ["tj-published"]
    assert published == [("tj-published", "Failed")]


def test_state_changes_reach_eventbridge_in_the_shape_record_state_change_parses(
    tmp_path: Path, s3_server: str
) -> None:
    from transform_jobs.models.sagemaker_event import TransformJobDetail

    aws = {"endpoint_url": s3_server, "region_name": REGION, **_keys()}
    events, sqs = boto3.client("events", **aws), boto3.client("sqs", **aws)
    queue = sqs.create_queue(QueueName="state-changes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Transform Job State Change"],
        "detail": {"TransformJobName": [{"prefix": "tj-dev-"}]},
    }
    events.put_rule(Name="transform-jobs", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="transform-jobs", Targets=[{"Id": "queue", "Arn": queue_arn}])
    running = Service(
        tmp_path / "data",
        s3_server,
        extra_args=("--event-bus", "default"),
        extra_env={"AWS_ENDPOINT_URL_EVENTBRIDGE": s3_server},
    )
    try:
        create_iris_model(running.client)
        name = "tj-dev-01m89tzw4mbp9z2kgnr6jvqxvf"
        running.client.create_transform_job(
            **job_request(name), Tags=[{"Key": "team", "Value": "a"}]
        )
        assert wait_until_ended(running.client, name)["TransformJobStatus"] == "Completed"
    finally:
        running.stop()
    seen: list[dict[str, Any]] = []
    for _ in range(5):
        reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        seen += [json.loads(message["Body"]) for message in reply.get("Messages", [])]
        if len(seen) >= 2:
            break
    # moto's envelope lacks `account` (AWS always sends it), so the detail is checked against
    # AWS's schema and with the parser model record_state_change uses, the envelope by hand.
    assert [event["source"] for event in seen] == ["aws.sagemaker"] * 2
    assert {event["detail-type"] for event in seen} == {"SageMaker Transform Job State Change"}
    assert [aws_shape_violations(event["detail"], detail_only=True) for event in seen] == [[], []]
    details = [TransformJobDetail.model_validate(event["detail"]) for event in seen]
    assert [detail.TransformJobStatus for detail in details] == ["InProgress", "Completed"]
    assert details[-1].TransformJobName == name
    assert details[-1].TransformEndTime is not None
    assert details[-1].model_extra is not None
    assert details[-1].model_extra["Tags"] == {"team": "a"}
