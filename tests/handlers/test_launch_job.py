"""launch_job driven with events/sqs_launch_job.json: preflight, capacity, CreateTransformJob."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import boto3
import pytest

from tests.conftest import ARTIFACTS_BUCKET, BUCKET, load_event
from tests.support.jobs import make_job, status_of
from tests.support.lambda_context import FakeContext
from tests.support.sagemaker import SageMakerStub
from tests.support.teams import register_team
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs.transitions import move
from transform_jobs.models.job_status import JobStatus

CSV_ROWS = b"1,0.5,3\n2,0.7,4\n"


@pytest.fixture
def team(aws: dict[str, str]) -> str:
    register_team("team-a", max_running_jobs=2)
    return "team-a"


def put(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)


def launch(job_id: str) -> dict[str, Any]:
    from launch_job import app

    event = copy.deepcopy(load_event("sqs_launch_job.json"))
    event["Records"][0]["body"] = json.dumps({"JobId": job_id})
    reply: dict[str, Any] = app.handler(event, FakeContext())
    return reply


def reason_of(job_id: str) -> str:
    job = job_repository.get_job(job_id)
    assert job is not None and job.StatusReason is not None
    return job.StatusReason


def test_a_valid_job_is_launched_under_the_service_name_with_its_tags(
    team: str, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    put("team-a/in/b.csv", CSV_ROWS)
    job = make_job()
    name = f"tj-dev-{job.JobId}"
    sagemaker.model_exists("churn-xgb")
    sagemaker.creates(job)

    assert launch(job.JobId) == {"batchItemFailures": []}

    launched = job_repository.get_job(job.JobId)
    assert launched is not None
    assert launched.Status is JobStatus.IN_PROGRESS
    assert launched.SageMakerJobArn and launched.SageMakerJobArn.endswith(name)
    assert launched.Progress.InputObjects == 2
    assert job_repository.running_count("team-a") == 1
    assert [e.Status for e in job_repository.job_history(job.JobId)] == [
        JobStatus.SUBMITTED,
        JobStatus.VALIDATING,
        JobStatus.IN_PROGRESS,
    ]


def test_a_missing_model_fails_the_job_before_any_money_is_spent(
    team: str, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    job = make_job()
    sagemaker.model_missing("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "Model 'churn-xgb' does not exist" in reason_of(job.JobId)


def test_an_empty_input_prefix_fails_the_job(team: str, sagemaker: SageMakerStub) -> None:
    put("team-a/in-other/a.csv", CSV_ROWS)  # a sibling, not under team-a/in/
    job = make_job()
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "holds no objects" in reason_of(job.JobId)


@pytest.mark.parametrize("compress", [False, True])
def test_a_csv_header_row_fails_the_job_quoting_the_line(
    team: str, sagemaker: SageMakerStub, compress: bool
) -> None:
    body = b"customer_id,tenure,spend\n1,0.5,3\n2,0.7,4\n"
    put("team-a/in/a.csv", gzip.compress(body) if compress else body)
    change: dict[str, Any] = {}
    if compress:
        change = {"TransformInput": {**make_job_input(), "CompressionType": "Gzip"}}
    job = make_job(**change)
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    reason = reason_of(job.JobId)
    assert "'customer_id,tenure,spend'" in reason
    assert "Remove the header row" in reason


def make_job_input() -> dict[str, Any]:
    from tests.support.jobs import request_body

    transform_input: dict[str, Any] = request_body()["TransformInput"]
    return transform_input


def test_an_object_over_the_payload_limit_fails_when_split_type_is_none(
    team: str, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/big.json", b"x" * (1024 * 1024 + 1))
    job = make_job(
        MaxPayloadInMB=1,
        TransformInput={**make_job_input(), "ContentType": "application/json", "SplitType": "None"},
    )
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "big.json is 1.0 MB" in reason_of(job.JobId)


def manifest_input(uri: str) -> dict[str, Any]:
    return {
        **make_job_input(),
        "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": uri}},
    }


def test_a_manifest_outside_the_team_prefixes_fails(team: str, sagemaker: SageMakerStub) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/team-b/data/"}, "a.csv"]
    put("team-a/in/manifest.json", json.dumps(manifest).encode())
    job = make_job(TransformInput=manifest_input(f"s3://{BUCKET}/team-a/in/manifest.json"))
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "outside the team's input prefixes" in reason_of(job.JobId)


def test_a_manifest_entry_with_dot_dot_fails(team: str, sagemaker: SageMakerStub) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/team-a/in/"}, "a.csv", "../../team-b/secret.csv"]
    put("team-a/in/manifest.json", json.dumps(manifest).encode())
    job = make_job(TransformInput=manifest_input(f"s3://{BUCKET}/team-a/in/manifest.json"))
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "not a plain relative path" in reason_of(job.JobId)


def test_a_valid_manifest_is_pinned_where_the_team_cannot_rewrite_it(
    team: str, sagemaker: SageMakerStub
) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/team-a/in/"}, "a.csv", "b.csv", "c.csv"]
    put("team-a/in/manifest.json", json.dumps(manifest).encode())
    put("team-a/in/a.csv", CSV_ROWS)
    job = make_job(TransformInput=manifest_input(f"s3://{BUCKET}/team-a/in/manifest.json"))
    pinned = f"s3://{ARTIFACTS_BUCKET}/manifests/{job.JobId}.json"
    sagemaker.model_exists("churn-xgb")
    sagemaker.creates(job, input_uri=pinned)
    launch(job.JobId)
    launched = job_repository.get_job(job.JobId)
    assert launched is not None and launched.Status is JobStatus.IN_PROGRESS
    assert launched.Progress.InputObjects == 3
    assert launched.PinnedManifestUri == pinned
    copy_ = boto3.client("s3").get_object(
        Bucket=ARTIFACTS_BUCKET, Key=f"manifests/{job.JobId}.json"
    )
    assert json.loads(copy_["Body"].read()) == manifest


def test_a_queued_manifest_job_launches_from_the_pinned_copy_even_if_the_team_rewrote_it(
    aws: dict[str, str], sagemaker: SageMakerStub
) -> None:
    register_team("team-a", max_running_jobs=1)
    put("team-a/in/a.csv", CSV_ROWS)
    blocker = job_repository.take_capacity(
        make_job(JobStatus.VALIDATING), team_limit=1, service_limit=5
    )
    manifest = [{"prefix": f"s3://{BUCKET}/team-a/in/"}, "a.csv"]
    put("team-a/in/manifest.json", json.dumps(manifest).encode())
    job = make_job(TransformInput=manifest_input(f"s3://{BUCKET}/team-a/in/manifest.json"))
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.QUEUED
    # The team now points its manifest at another team's data...
    put("team-a/in/manifest.json", json.dumps([{"prefix": f"s3://{BUCKET}/team-b/"}, "x"]).encode())
    job_repository.update_job(
        blocker.JobId, lambda current: move(current, JobStatus.COMPLETED, source="t")
    )
    # ...but SageMaker is given the copy that was checked.
    sagemaker.creates(job, input_uri=f"s3://{ARTIFACTS_BUCKET}/manifests/{job.JobId}.json")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.IN_PROGRESS


def test_a_team_at_its_limit_waits_in_queued(team: str, sagemaker: SageMakerStub) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    running = [make_job(), make_job()]
    for job in running:
        sagemaker.model_exists("churn-xgb")
        sagemaker.creates(job)
        launch(job.JobId)
    waiting = make_job()
    sagemaker.model_exists("churn-xgb")
    launch(waiting.JobId)
    assert status_of(waiting.JobId) is JobStatus.QUEUED
    assert "team's limit of 2" in reason_of(waiting.JobId)
    assert job_repository.running_count("team-a") == 2


def test_the_service_limit_queues_jobs_of_every_team(
    aws: dict[str, str], sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    register_team("team-a", max_running_jobs=10)
    jobs = [make_job() for _ in range(4)]  # SERVICE_MAX_RUNNING_JOBS is 3 in tests
    for job in jobs[:3]:
        sagemaker.model_exists("churn-xgb")
        sagemaker.creates(job)
    sagemaker.model_exists("churn-xgb")
    for job in jobs:
        launch(job.JobId)
    assert [status_of(job.JobId) for job in jobs].count(JobStatus.QUEUED) == 1
    assert "service's limit of 3" in reason_of(jobs[3].JobId)


@pytest.mark.parametrize("code", ["ResourceLimitExceeded", "ThrottlingException"])
def test_sagemaker_capacity_refusals_queue_the_job_and_free_the_slot(
    team: str, sagemaker: SageMakerStub, code: str
) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    job = make_job()
    sagemaker.model_exists("churn-xgb")
    sagemaker.create_fails(code, "Account quota of 4 ml.m5.xlarge instances reached")
    assert launch(job.JobId) == {"batchItemFailures": []}
    assert status_of(job.JobId) is JobStatus.QUEUED
    assert "quota" in reason_of(job.JobId)
    assert job_repository.running_count("team-a") == 0
    assert job_repository.running_count() == 0


def test_a_queued_job_launches_without_repeating_preflight(
    team: str, sagemaker: SageMakerStub
) -> None:
    job = make_job(JobStatus.QUEUED)
    sagemaker.creates(job)  # no DescribeModel, no listing
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.IN_PROGRESS


def test_a_retried_launch_accepts_the_job_it_already_started(
    team: str, sagemaker: SageMakerStub
) -> None:
    job = make_job(JobStatus.QUEUED)
    sagemaker.create_fails("ResourceInUse", "Job name must be unique")
    sagemaker.describes(job.SageMakerJobName, "InProgress")
    sagemaker.tags(job.SageMakerJobName, {"transform-jobs:job-id": job.JobId})
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.IN_PROGRESS


def test_a_name_taken_by_a_job_that_is_not_ours_fails(team: str, sagemaker: SageMakerStub) -> None:
    job = make_job(JobStatus.QUEUED)
    sagemaker.create_fails("ResourceInUse", "Job name must be unique")
    sagemaker.describes(job.SageMakerJobName, "Completed")
    sagemaker.tags(job.SageMakerJobName, {"transform-jobs:job-id": "someone-else"})
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert job_repository.running_count("team-a") == 0


def test_sagemaker_validation_errors_fail_the_job_with_its_message(
    team: str, sagemaker: SageMakerStub
) -> None:
    job = make_job(JobStatus.QUEUED)
    sagemaker.create_fails("ValidationException", "KMS key not found")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "KMS key not found" in reason_of(job.JobId)


@pytest.mark.parametrize("volume_key", [None, "alias/team-a-volumes"])
def test_an_access_denied_from_sagemaker_fails_the_job_at_once_and_frees_its_slot(
    team: str, sagemaker: SageMakerStub, volume_key: str | None
) -> None:
    """A denial is the same on every attempt: no retries, no dead letter, a reason to act on."""
    resources: dict[str, Any] = {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}
    if volume_key:
        resources["VolumeKmsKeyId"] = volume_key
    put("team-a/in/a.csv", CSV_ROWS)
    job = make_job(TransformResources=resources)
    sagemaker.model_exists("churn-xgb")
    sagemaker.create_fails(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/launch/fn is not authorized to perform: "
        "kms:CreateGrant on resource: arn:aws:kms:us-east-1:123456789012:key/k-1",
    )

    # the first receive of the message, not the last
    assert launch(job.JobId) == {"batchItemFailures": []}

    assert status_of(job.JobId) is JobStatus.FAILED
    reason = reason_of(job.JobId)
    assert "denied the service permission" in reason
    assert "kms:CreateGrant" in reason  # SageMaker's own words are kept
    if volume_key:
        assert "TransformResources.VolumeKmsKeyId" in reason
        assert "TransformVolumeKmsKeyArns" in reason
    else:
        assert "contact its operators" in reason
    assert job_repository.running_count("team-a") == 0
    assert job_repository.running_count() == 0


def test_a_cancel_while_launching_stops_what_was_started(
    team: str, sagemaker: SageMakerStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform_jobs.adapters import sagemaker_gateway
    from transform_jobs.jobs import cancel

    job = make_job(JobStatus.QUEUED)
    real_create = sagemaker_gateway.create_transform_job

    def create_then_cancel(request: dict[str, Any]) -> str:
        arn = real_create(request)
        current = job_repository.get_job(job.JobId)
        assert current is not None
        cancel.cancel(current)  # the team cancels while the launcher is between calls
        return arn

    monkeypatch.setattr(sagemaker_gateway, "create_transform_job", create_then_cancel)
    sagemaker.creates(job)
    # The cancel sees a launch holding a slot, finds the SageMaker job and stops it...
    sagemaker.describes(job.SageMakerJobName, "InProgress")
    sagemaker.stops(job.SageMakerJobName)
    # ...and the launcher, finding the job cancelled, stops it too (a no-op the second time).
    sagemaker.stops(job.SageMakerJobName)
    launch(job.JobId)
    stopping = job_repository.get_job(job.JobId)
    assert stopping is not None and stopping.Status is JobStatus.STOPPING
    assert stopping.CancelRequested


def test_a_cancel_before_sagemaker_has_the_job_stops_it_at_once(
    team: str, sagemaker: SageMakerStub
) -> None:
    from transform_jobs.jobs import cancel
    from transform_jobs.launch import launcher as launching

    job = make_job(JobStatus.QUEUED)
    held = job_repository.take_capacity(job, team_limit=5, service_limit=5)  # a launch in flight
    sagemaker.describe_missing(job.SageMakerJobName)
    assert cancel.cancel(held).Status is JobStatus.STOPPED
    assert job_repository.running_count("team-a") == 0
    # The launch in flight then creates the SageMaker job, finds the job cancelled, stops it.
    sagemaker.creates(job)
    sagemaker.stops(job.SageMakerJobName)
    assert launching._create(held) is JobStatus.STOPPED


def test_sagemakers_own_in_progress_event_during_a_launch_does_not_stop_the_job(
    team: str, sagemaker: SageMakerStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transform_jobs.adapters import sagemaker_gateway
    from transform_jobs.jobs import state_changes
    from transform_jobs.models.job_status import SageMakerStatus

    job = make_job(JobStatus.QUEUED)
    real_create = sagemaker_gateway.create_transform_job

    def create_then_event(request: dict[str, Any]) -> str:
        arn = real_create(request)
        state_changes.apply(
            state_changes.SageMakerReport(
                job_name=job.SageMakerJobName,
                status=SageMakerStatus.IN_PROGRESS,
                source="sagemaker",
            )
        )
        return arn

    monkeypatch.setattr(sagemaker_gateway, "create_transform_job", create_then_event)
    sagemaker.creates(job)  # and no StopTransformJob: the stub fails on any other call
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.IN_PROGRESS


def test_the_last_attempt_fails_the_job_and_frees_its_slot_instead_of_a_dlq(
    team: str, sagemaker: SageMakerStub
) -> None:
    job = make_job(JobStatus.QUEUED)
    sagemaker.stubber.add_client_error(
        "create_transform_job", "InternalFailure", http_status_code=500
    )
    event = copy.deepcopy(load_event("sqs_launch_job.json"))
    event["Records"][0]["body"] = json.dumps({"JobId": job.JobId})
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    from launch_job import app

    assert app.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "after 5 attempts" in reason_of(job.JobId)
    assert job_repository.running_count("team-a") == 0


def test_gzip_declared_on_plain_csv_fails_the_job_with_the_fix(
    team: str, sagemaker: SageMakerStub
) -> None:
    put("team-a/in/a.csv", CSV_ROWS)
    job = make_job(TransformInput={**make_job_input(), "CompressionType": "Gzip"})
    sagemaker.model_exists("churn-xgb")
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.FAILED
    assert "is not gzip data" in reason_of(job.JobId)


@pytest.mark.parametrize("status", [JobStatus.IN_PROGRESS, JobStatus.COMPLETED, JobStatus.STOPPED])
def test_a_duplicate_message_for_a_launched_or_ended_job_does_nothing(
    team: str, sagemaker: SageMakerStub, status: JobStatus
) -> None:
    job = make_job(status)
    launch(job.JobId)  # the stub would fail on any SageMaker call
    assert status_of(job.JobId) is status


def test_an_unknown_job_id_is_ignored(team: str) -> None:
    assert launch("01m89tzw4mbp9z2kgnr6jvqxvf") == {"batchItemFailures": []}


def test_an_unexpected_error_fails_the_invocation_so_sqs_retries_the_message(
    team: str, sagemaker: SageMakerStub
) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    job = make_job(JobStatus.QUEUED)
    sagemaker.stubber.add_client_error(
        "create_transform_job", "InternalFailure", http_status_code=500
    )
    with pytest.raises(BatchProcessingError):
        launch(job.JobId)
    retried = job_repository.get_job(job.JobId)
    assert retried is not None and retried.Status is JobStatus.QUEUED
    assert retried.HoldsCapacity, "the slot stays with the job for the retry"
    sagemaker.creates(retried)
    launch(job.JobId)
    assert status_of(job.JobId) is JobStatus.IN_PROGRESS
    assert job_repository.running_count("team-a") == 1
