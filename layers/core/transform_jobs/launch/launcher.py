"""Launching a job: preflight, a running-job slot, then CreateTransformJob under the service's name.

Safe to run twice for the same job (SQS delivers at least once): the SageMaker name is fixed
(`tj-<stage>-<job id>`), so a second CreateTransformJob answers ResourceInUse, accepted only when
the existing job carries this job's id tag. A job without capacity waits in Queued for
dispatch_jobs; a cancel that lands while launching stops what was started.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from transform_jobs import clock
from transform_jobs.adapters import queue_gateway, s3_gateway, sagemaker_gateway
from transform_jobs.adapters.dynamodb import job_repository, team_repository
from transform_jobs.jobs import work_area
from transform_jobs.jobs.steps import StepClock, fail
from transform_jobs.jobs.transitions import move
from transform_jobs.launch import preflight
from transform_jobs.models.job import Job, ListingState
from transform_jobs.models.job_status import JobStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.models.plan import PlannedObject, PreparationPlan
from transform_jobs.models.request import SERVICE_TAG_PREFIX
from transform_jobs.preparation import prepare
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

logger = Logger(child=True)

JOB_ID_TAG = f"{SERVICE_TAG_PREFIX}job-id"
TEAM_TAG = f"{SERVICE_TAG_PREFIX}team"
_LAUNCHABLE = (JobStatus.VALIDATING, JobStatus.PREPARING, JobStatus.QUEUED)


def launch(job_id: str, *, deadline: float | None = None) -> JobStatus | None:
    """Take the job as far as it can go now; returns its status, or None if it is unknown.

    An input listing that would run past `deadline` (time.monotonic()) is checkpointed and
    continues in the next launch message, so the invocation never times out while listing.
    """
    job = job_repository.update_job(
        job_id, lambda job: move(job, JobStatus.VALIDATING, source="launch")
    )
    job = job or job_repository.get_job(job_id)
    if job is None:
        logger.warning("Launch requested for an unknown job", job_id=job_id)
        return None
    if job.Status not in _LAUNCHABLE:
        return job.Status  # already launched, ended, or cancelled: a duplicate message
    if job.Status is JobStatus.PREPARING and not (job.Preparation and job.Preparation.Done):
        return job.Status  # prepare_job hands the job back when the shards are written
    team = team_repository.get_team(job.TeamId)
    if team is None:
        return _fail(job_id, f"Team {job.TeamId!r} no longer exists.")
    if job.Status is JobStatus.VALIDATING:
        step_clock = StepClock(deadline) if deadline is not None else None
        try:
            result = preflight.run(team, job.Request, clock=step_clock, listed=_listed_so_far(job))
        except preflight.PreflightFailed as failure:
            return _fail(job_id, str(failure))
        except preflight.ListingUnfinished as unfinished:
            return _continue_listing(job, unfinished.objects)
        if result.header is not None:
            return _start_preparation(job_id, result, result.header)
        pinned = _pin_manifest(job_id, result.verified_manifest)
        job = _record_preflight(job_id, result.input_objects, pinned) or job
    try:
        job = job_repository.take_capacity(
            job,
            team_limit=team.MaxRunningJobs,
            service_limit=get_settings().service_max_running_jobs,
        )
    except job_repository.CapacityFull as full:
        return _queue(job_id, f"Waiting for capacity: {full}.")
    if job.Status not in _LAUNCHABLE:
        return job.Status
    return _create(job)


def _create(job: Job) -> JobStatus:
    tags = [{"Key": JOB_ID_TAG, "Value": job.JobId}, {"Key": TEAM_TAG, "Value": job.TeamId}]
    request = job.Request.to_sagemaker(job_name=job.SageMakerJobName, tags=tags)
    if job.PinnedManifestUri:
        request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = job.PinnedManifestUri
    if job.Preparation is not None:
        _use_prepared_input(job, request)
    try:
        arn = sagemaker_gateway.create_transform_job(request)
    except sagemaker_gateway.JobNameTaken:
        existing = sagemaker_gateway.describe_transform_job(job.SageMakerJobName)
        arn = str(existing["TransformJobArn"]) if existing else ""
        if not arn or sagemaker_gateway.tags_of(arn).get(JOB_ID_TAG) != job.JobId:
            return _fail(
                job.JobId,
                f"SageMaker already has a job named {job.SageMakerJobName} that is not this job's.",
            )
    except sagemaker_gateway.NoCapacity as refusal:
        return _queue(job.JobId, f"Waiting for capacity: SageMaker said {refusal}", release=True)
    except sagemaker_gateway.Rejected as refusal:
        return _fail(job.JobId, f"SageMaker refused the job: {refusal}")
    except sagemaker_gateway.NotPermitted as denial:
        # Not transient: failing now beats five identical attempts and a dead letter.
        return _fail(job.JobId, _not_permitted_reason(job, denial))
    started = job_repository.update_job(job.JobId, lambda current: _started(current, arn))
    if started is not None:
        return started.Status
    # Someone else moved the job while we launched: SageMaker's own InProgress event or another
    # launcher (leave the job running), or a cancel or failure (stop what we started).
    current = job_repository.get_job(job.JobId)
    if current is None or current.CancelRequested or current.Status.is_terminal:
        logger.info("Job was cancelled or ended while launching; stopping it", job_id=job.JobId)
        sagemaker_gateway.stop_transform_job(job.SageMakerJobName)
    return current.Status if current else JobStatus.STOPPED


def _not_permitted_reason(job: Job, denial: sagemaker_gateway.NotPermitted) -> str:
    reason = f"SageMaker denied the service permission to start the job ({denial})."
    if job.Request.TransformResources.VolumeKmsKeyId:
        return (
            f"{reason} TransformResources.VolumeKmsKeyId names a KMS key: it must be one of "
            "the keys the service's operators allow (TransformVolumeKmsKeyArns), and its key "
            "policy must let the service's role create grants on it. Use an allowed key, or "
            "leave the field out."
        )
    return f"{reason} This is the service's configuration, not the request: contact its operators."


def _started(job: Job, arn: str) -> JobUpdate | None:
    if job.Status not in _LAUNCHABLE:
        return None
    update = move(job, JobStatus.IN_PROGRESS, source="launch", reason="Handed to SageMaker.")
    if update is not None:
        update.job.SageMakerJobArn = arn
        update.job.StartedAt = update.job.StartedAt or clock.now()
    return update


def _start_preparation(
    job_id: str, result: preflight.PreflightResult, header: preflight.HeaderDecision
) -> JobStatus:
    plan = PreparationPlan(
        Objects=[
            PlannedObject(Bucket=entry.bucket, Key=entry.key, Relative=relative)
            for entry, relative in result.objects
        ]
    )
    job = prepare.start(job_id, plan, header_present=header.present, note=header.note)
    job = job or job_repository.get_job(job_id)
    return job.Status if job else JobStatus.PREPARING


def _use_prepared_input(job: Job, request: dict[str, Any]) -> None:
    """SageMaker reads the shards, split on lines unless a cell spans lines (then one shard is
    one request), and writes into the work area when the service reassembles."""
    assert job.Preparation is not None  # noqa: S101 (narrowing)
    source = request["TransformInput"]
    source["DataSource"]["S3DataSource"] = {
        "S3DataType": "S3Prefix",
        "S3Uri": work_area.shards_prefix(job).uri,
    }
    source["SplitType"] = "None" if job.Preparation.SpansLines else "Line"
    source["CompressionType"] = "None"
    output = request["TransformOutput"]
    output["S3OutputPath"] = work_area.transform_output(job).uri
    if job.finalizes:
        output["AssembleWith"] = "Line"


def _listed_so_far(job: Job) -> list[s3_gateway.S3Object]:
    if job.Listing is None:
        return []
    saved = json.loads(
        s3_gateway.read_all(S3Location(get_settings().artifacts_bucket, job.Listing.Key))
    )
    return [s3_gateway.S3Object(saved["Bucket"], key, size) for key, size in saved["Objects"]]


def _continue_listing(job: Job, objects: list[s3_gateway.S3Object]) -> JobStatus:
    """Checkpoints the listing and hands the job to the next launch invocation."""
    step = (job.Listing.Step if job.Listing else 0) + 1
    location = work_area.listing(job.JobId, step)
    saved = {"Bucket": objects[0].bucket, "Objects": [[entry.key, entry.size] for entry in objects]}
    s3_gateway.put_bytes(location, json.dumps(saved).encode(), content_type="application/json")

    def decide(current: Job) -> JobUpdate | None:
        current_step = current.Listing.Step if current.Listing else 0
        if current.Status is not JobStatus.VALIDATING or current_step != step - 1:
            return None  # another invocation took this step, or the job moved on
        current.Listing = ListingState(Step=step, Key=location.key, Objects=len(objects))
        current.Progress.InputObjects = len(objects)
        current.UpdatedAt = clock.now()  # news: reconcile leaves the job to its next message
        return JobUpdate(job=current)

    if job_repository.update_job(job.JobId, decide) is None:
        current = job_repository.get_job(job.JobId)
        return current.Status if current else JobStatus.VALIDATING
    queue_gateway.send_launch(job.JobId)
    logger.info(
        "Input listing continues in the next invocation", job_id=job.JobId, objects=len(objects)
    )
    return JobStatus.VALIDATING


def _pin_manifest(job_id: str, manifest: bytes | None) -> str | None:
    """Copy a verified manifest where teams cannot write, so SageMaker reads what was checked.

    SageMaker reads the manifest at launch, which for a Queued job can be hours after preflight:
    read from the team's own prefix, it could by then point into another team's data.
    """
    if manifest is None:
        return None
    location = S3Location(get_settings().artifacts_bucket, f"manifests/{job_id}.json")
    s3_gateway.put_bytes(location, manifest, content_type="application/json")
    return location.uri


def _record_preflight(job_id: str, count: int, pinned_manifest: str | None) -> Job | None:
    def decide(job: Job) -> JobUpdate | None:
        if job.Status is not JobStatus.VALIDATING:
            return None
        job.Progress.InputObjects = count
        job.Progress.OutputObjects = 0
        job.PinnedManifestUri = pinned_manifest
        return JobUpdate(job=job)

    return job_repository.update_job(job_id, decide)


def _queue(job_id: str, reason: str, *, release: bool = False) -> JobStatus:
    def decide(job: Job) -> JobUpdate | None:
        update: JobUpdate | None
        if job.Status is JobStatus.QUEUED:
            if not (release and job.HoldsCapacity):
                return None
            job.StatusReason = reason
            job.UpdatedAt = clock.now()
            update = JobUpdate(job=job)
        else:
            update = move(job, JobStatus.QUEUED, source="launch", reason=reason)
            if update is None:
                return None
        if release and update.job.HoldsCapacity:
            update.job.HoldsCapacity = False
            update.release_capacity = True
        return update

    job = job_repository.update_job(job_id, decide) or job_repository.get_job(job_id)
    return job.Status if job else JobStatus.QUEUED


def give_up(job_id: str, error: Exception) -> JobStatus:
    """The last allowed attempt failed unexpectedly: end the job rather than lose it in a DLQ."""
    return _fail(
        job_id,
        f"The service could not launch the job after {get_settings().launch_max_receives} "
        f"attempts (last error: {error}). Submit it again; if it keeps failing, contact the "
        "service's operators.",
    )


def _fail(job_id: str, reason: str) -> JobStatus:
    return fail(job_id, reason, source="launch")
