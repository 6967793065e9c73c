"""Preparation without column changes (moto): shards whose bytes are a range of the input are
copied inside S3 (UploadPartCopy), the others (a blank line inside, a last row without its line
end) are read again and written; either way each shard holds exactly the rows it should."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.test_csv_preparation import (  # noqa: F401 (the queues fixture)
    get,
    keys,
    prepared_job,
    queues,
    run_preparation,
)
from transform_jobs.adapters import s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.jobs import work_area
from transform_jobs.preparation import prepare

pytestmark = pytest.mark.usefixtures("queues")


def shards_of(job: Any) -> list[bytes]:
    return [get(key) for key in keys(work_area.shards_prefix(job).key)]


def test_untouched_shards_are_copied_inside_s3_and_the_rest_rewritten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare, "MB", 24)  # shards of at most 24 bytes
    copied: list[tuple[int, int]] = []
    original = s3_gateway.copy_range

    def copy_range(source: Any, start: int, end: int, target: Any, **kwargs: Any) -> None:
        copied.append((start, end))
        original(source, start, end, target, **kwargs)

    monkeypatch.setattr(s3_gateway, "copy_range", copy_range)
    data = (
        b"\xef\xbb\xbfid,note\r\n"  # a BOM, the header
        b'1,"a\nb"\r\n2,plain\r\n'  # 17 bytes: one shard, copied
        b"3,three\r\n\r\n4,four\r\n"  # a blank line inside: rewritten without it
        b"\n\n5,five\r\n6,six"  # blank lines skipped; the last row gets a line end
    )
    job = prepared_job({"a.csv": data}, header=True)
    job = run_preparation(job)
    assert job.Preparation is not None and job.Preparation.Done and job.Preparation.SpansLines
    assert shards_of(job) == [
        b'1,"a\nb"\r\n2,plain\r\n',
        b"3,three\r\n4,four\r\n",
        b"5,five\r\n6,six\n",
    ]
    assert copied == [(data.index(b"1,"), data.index(b"3,"))]
    assert job.Progress.RowsRead == 6 and job.Progress.ShardsWritten == 3
    plan = prepare.load_plan(job.Preparation.PlanKey).Objects[0]
    assert plan.Header == b"id,note\r\n"
    assert [(shard.FirstRow, shard.Rows) for shard in plan.Shards] == [(1, 2), (3, 2), (5, 2)]


def test_a_copy_that_fails_fails_the_step_and_no_checkpoint_names_its_shard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare, "MB", 8)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("copy failed")

    monkeypatch.setattr(s3_gateway, "copy_range", broken)
    job = prepared_job({"a.csv": b"r1\nr2\nr3\nr4\nr5\n"}, header=False)
    with pytest.raises(RuntimeError, match="copy failed"):
        prepare.prepare(job.JobId, 0, deadline=0.0)  # would checkpoint at the first shard
    assert job.Preparation is not None
    current = job_repository.get_job(job.JobId)
    assert current is not None and current.Preparation is not None
    assert current.Preparation.Step == 0 and current.Preparation.ShardsWritten == 0


def test_an_input_removed_before_its_copies_fails_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare, "MB", 8)
    original = s3_gateway.copy_range

    def removed_first(source: Any, *args: Any, **kwargs: Any) -> None:
        boto3.client("s3").delete_object(Bucket=source.bucket, Key=source.key)
        original(source, *args, **kwargs)

    monkeypatch.setattr(s3_gateway, "copy_range", removed_first)
    job = prepared_job({"a.csv": b"r1\nr2\nr3\nr4\nr5\n"}, header=False)
    job = run_preparation(job)
    assert job.Status.value == "Failed"
    assert job.StatusReason is not None and "input changed" in job.StatusReason
