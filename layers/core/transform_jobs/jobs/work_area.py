"""Where a job with InputPreparation keeps its work, and where its outputs go.

The shards and SageMaker's outputs for them live under `<S3OutputPath>/.transform-jobs/<job id>/`,
inside the team's output prefix, so the model's execution role (which may write the outputs) can
read them. The plan and checkpoints live in the service's artifacts bucket, which teams cannot
write.
"""

from __future__ import annotations

import re

from transform_jobs.identifiers import JOB_ID_PATTERN
from transform_jobs.models.job import Job
from transform_jobs.s3_location import S3Location
from transform_jobs.settings import get_settings

WORK_FOLDER = ".transform-jobs"
# A rerun writes, unless told otherwise, to <original S3OutputPath>/reruns/<its job id>/: beside
# the original's outputs, never over them, and not listed among them.
RERUNS_FOLDER = "reruns"
_RERUN_OUTPUT = re.compile(rf"{RERUNS_FOLDER}/{JOB_ID_PATTERN.pattern}/")


def output_folder(job: Job) -> S3Location:
    output = S3Location.parse(job.Request.TransformOutput.S3OutputPath)
    return S3Location(output.bucket, output.reach(folder=True))


def rerun_output_path(original: Job, rerun_id: str) -> str:
    return output_folder(original).child(f"{RERUNS_FOLDER}/{rerun_id}/").uri


def in_rerun_output(job: Job, key: str) -> bool:
    """Whether `key` is under one of the job's reruns' default output folders."""
    return bool(_RERUN_OUTPUT.match(key, len(output_folder(job).key)))


def work_root(job: Job) -> S3Location:
    """The folder holding the work areas of every job that writes to this S3OutputPath."""
    return output_folder(job).child(f"{WORK_FOLDER}/")


def work_prefix(job: Job) -> S3Location:
    return work_root(job).child(f"{job.JobId}/")


def shards_prefix(job: Job) -> S3Location:
    """What SageMaker reads: the prepared shards, and nothing else."""
    return work_prefix(job).child("input/")


def shard_name(relative: str, index: int) -> str:
    return f"{relative}/part-{index + 1:05d}.csv"


def shard(job: Job, relative: str, index: int) -> S3Location:
    return shards_prefix(job).child(shard_name(relative, index))


def transform_output(job: Job) -> S3Location:
    """Where SageMaker writes: the work area when the service reassembles, else the team's
    S3OutputPath (one `.out` per shard)."""
    if job.finalizes:
        return work_prefix(job).child("output/")
    return output_folder(job)


def shard_output(job: Job, relative: str, index: int) -> S3Location:
    return transform_output(job).child(shard_name(relative, index) + ".out")


def reassembled_output(job: Job, relative: str) -> S3Location:
    """The name SageMaker would give the input's own output."""
    return output_folder(job).child(f"{relative}.out")


def in_work_area(job: Job, key: str) -> bool:
    return key.startswith(work_root(job).key)


def plan(job_id: str, version: str) -> S3Location:
    return S3Location(get_settings().artifacts_bucket, f"jobs/{job_id}/plan-{version}.json")


def listing(job_id: str, step: int) -> S3Location:
    """The input objects a launch listed up to a checkpoint (one object per step: a late
    duplicate of an earlier step cannot overwrite a later one)."""
    return S3Location(get_settings().artifacts_bucket, f"jobs/{job_id}/listing-{step}.json")


def relative_name(key: str, prefix_key: str) -> str:
    """The key relative to the input prefix (or manifest prefix), as SageMaker names outputs."""
    return key[len(prefix_key) :].lstrip("/") or key.rsplit("/", 1)[-1]
