"""A job with InputPreparation through launch_job, prepare_job, record_state_change and
finalize_job, driven with the events/ files (moto, SageMaker stubbed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.conftest import ARTIFACTS_BUCKET, BUCKET, load_event
from tests.support.jobs import make_job
from tests.support.lambda_context import FakeContext
from tests.support.sagemaker import SageMakerStub, job_arn
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs import work_area
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus

# Trained on sepal, petal; the file has them in another order, a text column and a header.
TRAINING_ORDER = ["sepal", "petal", "note"]
DATA = b'id,petal,note,sepal\r\n1,0.2,"two\r\nlines",5.1\r\n2,1.4,plain,7.0\r\n'


@pytest.fixture
def queues(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    register_team("team-a")
    sqs = boto3.client("sqs")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("prepare", "finalize")}
    monkeypatch.setenv("PREPARE_QUEUE_URL", urls["prepare"])
    monkeypatch.setenv("FINALIZE_QUEUE_URL", urls["finalize"])

    return {**urls, "launch": aws["queue_url"]}


def sqs_event(name: str, body: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    event["Records"][0]["body"] = json.dumps(body)
    return event


def messages(queue_url: str) -> list[dict[str, Any]]:
    reply = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in reply.get("Messages", [])]


def launch(job_id: str) -> None:
    from launch_job import app

    assert app.handler(sqs_event("sqs_launch_job.json", {"JobId": job_id}), FakeContext()) == {
        "batchItemFailures": []
    }


def job_of(job_id: str) -> Job:
    job = job_repository.get_job(job_id)
    assert job is not None
    return job


def preparing_job(**block: Any) -> Job:
    boto3.client("s3").put_object(Bucket=BUCKET, Key="team-a/in/iris.csv", Body=DATA)
    return make_job(InputPreparation=block, MaxPayloadInMB=1, MaxConcurrentTransforms=1)


def test_header_auto_is_sniffed_and_said_in_the_history_then_the_job_is_prepared(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    job = preparing_job(Columns=TRAINING_ORDER, Reassemble=True)
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)  # no CreateTransformJob yet: the stub would refuse it

    prepared = job_of(job.JobId)
    assert prepared.Status is JobStatus.PREPARING
    note = job_repository.job_history(job.JobId)[-1].Reason
    assert note is not None and "looks like a header (Header Auto)" in note
    assert messages(queues["prepare"]) == [{"JobId": job.JobId, "Step": 0}]

    from prepare_job import app

    event = sqs_event("sqs_prepare_job.json", {"JobId": job.JobId, "Step": 0})
    assert app.handler(event, FakeContext()) == {"batchItemFailures": []}
    prepared = job_of(job.JobId)
    assert prepared.Preparation is not None and prepared.Preparation.Done
    assert prepared.Progress.RowsRead == 2 and prepared.Progress.ShardsWritten == 1
    assert messages(queues["launch"]) == [{"JobId": job.JobId}]

    # Launched on the shards: one request per shard (a cell spans lines), output to the work
    # area, so the service can reassemble.
    expected = prepared.Request.to_sagemaker(
        job_name=prepared.SageMakerJobName,
        tags=[
            {"Key": "transform-jobs:job-id", "Value": job.JobId},
            {"Key": "transform-jobs:team", "Value": "team-a"},
        ],
    )
    expected["TransformInput"].update(
        DataSource={
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/team-a/out/.transform-jobs/{job.JobId}/input/",
            }
        },
        SplitType="None",
        CompressionType="None",
    )
    expected["TransformOutput"].update(
        S3OutputPath=f"s3://{BUCKET}/team-a/out/.transform-jobs/{job.JobId}/output/",
        AssembleWith="Line",
    )
    sagemaker.stubber.add_response(
        "create_transform_job", {"TransformJobArn": job_arn(job.SageMakerJobName)}, expected
    )
    launch(job.JobId)
    assert job_of(job.JobId).Status is JobStatus.IN_PROGRESS

    # SageMaker's Completed: Finalizing (the slot freed), and finalize_job reassembles.
    shard = work_area.shard_output(prepared, "iris.csv", 0)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=shard.key, Body=b"0\n2\n")
    from record_state_change import app as record_app

    completed = copy.deepcopy(load_event("eventbridge_transform_completed.json"))
    completed["detail"]["TransformJobName"] = job.SageMakerJobName
    record_app.handler(completed, FakeContext())
    finalizing = job_of(job.JobId)
    assert finalizing.Status is JobStatus.FINALIZING
    assert not finalizing.HoldsCapacity and job_repository.running_count("team-a") == 0
    assert messages(queues["finalize"]) == [{"JobId": job.JobId, "Step": 0}]

    from finalize_job import app as finalize_app

    event = sqs_event("sqs_finalize_job.json", {"JobId": job.JobId, "Step": 0})
    assert finalize_app.handler(event, FakeContext()) == {"batchItemFailures": []}
    done = job_of(job.JobId)
    assert done.Status is JobStatus.COMPLETED
    output = boto3.client("s3").get_object(Bucket=BUCKET, Key="team-a/out/iris.csv.out")
    assert output["Body"].read() == (
        b'id,petal,note,sepal,prediction\r\n1,0.2,"two\r\nlines",5.1,0\r\n2,1.4,plain,7.0,2\r\n'
    )


def test_a_column_missing_from_the_header_fails_in_preflight_with_its_name(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    job = preparing_job(Header="Present", Columns=["sepal", "petal_width"])
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    failed = job_of(job.JobId)
    assert failed.Status is JobStatus.FAILED
    assert failed.StatusReason is not None
    assert "has no column 'petal_width'" in failed.StatusReason
    assert "'sepal'" in failed.StatusReason  # the columns it does have
    assert messages(queues["prepare"]) == []


def test_header_absent_takes_every_row_as_data(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    job = preparing_job(Header="Absent")
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    prepared = job_of(job.JobId)
    assert prepared.Preparation is not None and not prepared.Preparation.HeaderPresent
    note = job_repository.job_history(job.JobId)[-1].Reason
    assert note is not None and "Header Absent" in note


def test_a_cancel_while_preparing_stops_the_job_and_preparation_with_it(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    from transform_jobs.jobs.cancel import cancel

    job = preparing_job()
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert cancel(job_of(job.JobId)).Status is JobStatus.STOPPED
    from prepare_job import app

    app.handler(sqs_event("sqs_prepare_job.json", {"JobId": job.JobId, "Step": 0}), FakeContext())
    assert job_of(job.JobId).Status is JobStatus.STOPPED
    assert messages(queues["launch"]) == []


def test_the_job_resource_shows_preparation_progress_but_not_its_checkpoints(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    from transform_jobs.models.job import JobResource

    job = preparing_job()
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    shown = JobResource.of(job_of(job.JobId)).model_dump(mode="json")
    assert shown["Progress"]["RowsRead"] == 0
    assert "Preparation" not in shown and "Finalization" not in shown
    assert shown["Request"]["InputPreparation"]["Header"] == "Auto"


def test_a_step_that_keeps_failing_fails_the_job_on_its_last_attempt(
    queues: dict[str, str], sagemaker: SageMakerStub
) -> None:
    from prepare_job import app

    job = preparing_job()
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    # The plan is gone: an error the step cannot handle, retried until its last attempt.
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="team-a/in/iris.csv")
    plan = job_of(job.JobId).Preparation
    assert plan is not None
    boto3.client("s3").delete_object(Bucket=ARTIFACTS_BUCKET, Key=plan.PlanKey)
    event = sqs_event("sqs_prepare_job.json", {"JobId": job.JobId, "Step": 0})
    with pytest.raises(BatchProcessingError):  # the message goes back to SQS for a retry
        app.handler(event, FakeContext())
    assert job_of(job.JobId).Status is JobStatus.PREPARING
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    assert app.handler(event, FakeContext()) == {"batchItemFailures": []}
    failed = job_of(job.JobId)
    assert failed.Status is JobStatus.FAILED
    assert failed.StatusReason is not None and "failed repeatedly" in failed.StatusReason
