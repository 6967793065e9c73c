"""CSV preparation and reassembly over S3 and DynamoDB (moto): prepare → model → reassemble.

The model is played by the test: an echo (each output row is its input row) or a scripted one,
written where SageMaker would write its outputs. Everything else is the service's own code.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import BUCKET
from tests.support.jobs import make_job
from transform_jobs.adapters import object_writer, s3_gateway
from transform_jobs.adapters.dynamodb import job_repository
from transform_jobs.csv_io import native_columns
from transform_jobs.jobs import work_area
from transform_jobs.jobs.state_changes import SageMakerReport, apply
from transform_jobs.models.job import Job
from transform_jobs.models.job_status import JobStatus, SageMakerStatus
from transform_jobs.models.job_update import JobUpdate
from transform_jobs.preparation import prepare, reassembly

PREFIX = "team-a/in/"
FAR = float("inf")


@pytest.fixture
def queues(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    sqs = boto3.client("sqs")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("prepare", "finalize")}
    monkeypatch.setenv("PREPARE_QUEUE_URL", urls["prepare"])
    monkeypatch.setenv("FINALIZE_QUEUE_URL", urls["finalize"])

    return urls


def put(key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)


def get(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def prepared_job(
    files: dict[str, bytes],
    *,
    header: bool,
    columns: list[str] | None = None,
    payload_mb: int = 1,
    reassemble: bool = True,
    output_columns: list[str] | None = None,
) -> Job:
    """A job in Preparing, as launch leaves it once preflight decided about the header."""
    for name, body in files.items():
        put(PREFIX + name, body)
    block: dict[str, Any] = {"Header": "Present" if header else "Absent", "Reassemble": reassemble}
    if columns:
        block["Columns"] = columns
    if output_columns:
        block["OutputColumns"] = output_columns
    job = make_job(
        JobStatus.VALIDATING,
        MaxPayloadInMB=payload_mb,
        MaxConcurrentTransforms=1,
        InputPreparation=block,
    )
    plan = prepare.PreparationPlan(
        Objects=[
            prepare.PlannedObject(Bucket=BUCKET, Key=PREFIX + name, Relative=name)
            for name in sorted(files)
        ]
    )
    started = prepare.start(job.JobId, plan, header_present=header, note="test")
    assert started is not None
    return started


def run_preparation(job: Job, *, deadline: Callable[[], float] = lambda: FAR) -> Job:
    """prepare_job's steps until it hands the job back to the launcher."""
    for _ in range(10_000):
        current = job_repository.get_job(job.JobId)
        assert current is not None and current.Preparation is not None
        if current.Status is not JobStatus.PREPARING or current.Preparation.Done:
            return current
        prepare.prepare(job.JobId, current.Preparation.Step, deadline=deadline())
    raise AssertionError("preparation did not finish")


def transform(job: Job, model: Callable[[bytes], bytes]) -> None:
    """What SageMaker does with SplitType None: each shard is one request, its answer the `.out`."""
    for key in keys(work_area.shards_prefix(job).key):
        relative = key[len(work_area.shards_prefix(job).key) :]
        out = work_area.transform_output(job).child(relative + ".out")
        put(out.key, model(get(key)))


def complete(job: Job) -> Job:
    changed = apply(
        SageMakerReport(
            job_name=job.SageMakerJobName, status=SageMakerStatus.COMPLETED, source="sagemaker"
        )
    )
    assert changed is not None
    return changed


def run_reassembly(job: Job, *, deadline: Callable[[], float] = lambda: FAR) -> Job:
    for _ in range(10_000):
        current = job_repository.get_job(job.JobId)
        assert current is not None
        if current.Status is not JobStatus.FINALIZING:
            return current
        step = current.Finalization.Step if current.Finalization else 0
        reassembly.finalize(job.JobId, step, deadline=deadline())
    raise AssertionError("reassembly did not finish")


def echo(body: bytes) -> bytes:
    return body


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def table_csv(table: list[list[str]], *, line_end: str = "\n", bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL).writerows(table)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode()


cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\x00"),
    max_size=12,
)


# Each example prepares (and reassembles) a whole job over moto: few examples, no deadline.
WHOLE_JOBS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def tables(draw: st.DrawFn) -> list[list[str]]:
    width = draw(st.integers(1, 4))
    body = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=25))
    # A row of one empty cell is a blank line in CSV (it has no cells); real tables have none.
    return [row for row in body if row != [""]]


@WHOLE_JOBS
@given(
    table=tables(),
    line_end=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    slices=st.booleans(),
)
def test_prepare_echo_reassemble_gives_back_every_row_with_the_echo_joined(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    table: list[list[str]],
    line_end: str,
    bom: bool,
    slices: bool,
) -> None:
    # Shards of at most 512 bytes, so even small tables are cut into many.
    monkeypatch.setattr(prepare, "MB", 512)
    width = len(table[0]) if table else 1
    header = [f"col{n}" for n in range(width)]
    data = table_csv([header, *table], line_end=line_end, bom=bom)
    job = prepared_job({"data.csv": data}, header=True)
    # With `slices`, every step runs out of time at once: a checkpoint at every shard boundary.
    deadline = (lambda: 0.0) if slices else (lambda: FAR)
    job = run_preparation(job, deadline=deadline)
    assert job.Preparation is not None and job.Preparation.Done
    assert job.Progress.RowsRead == len(table)
    transform(job, echo)
    complete(job)
    job = run_reassembly(job, deadline=deadline)
    assert job.Status is JobStatus.COMPLETED, job.StatusReason
    names = ["prediction", *(f"prediction_{n}" for n in range(2, width + 1))]
    assert rows(get("team-a/out/data.csv.out")) == [
        header + names,
        *(row + row for row in table),
    ]


@WHOLE_JOBS
@given(
    table=tables(),
    line_end=st.sampled_from(["\n", "\r\n"]),
    blank_every=st.sampled_from([0, 2, 5]),
    slices=st.booleans(),
    data=st.data(),
)
def test_reordered_shards_hold_every_row_as_csv_writer_writes_the_wanted_cells(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    table: list[list[str]],
    line_end: str,
    blank_every: int,
    slices: bool,
    data: st.DataObject,
) -> None:
    # Shards of at most 256 bytes (the longest row drawn is shorter), and the table three
    # times over, so that most files make several shards and every step ends at one.
    monkeypatch.setattr(prepare, "MB", 256)
    table = table * 3
    width = len(table[0]) if table else 1
    header = [f"col{n}" for n in range(width)]
    wanted = data.draw(
        st.permutations(header).flatmap(
            lambda names: st.sampled_from([names[:size] for size in range(1, width + 1)])
        )
    )
    assume(wanted != header)
    records = [table_csv([row], line_end=line_end) for row in [header, *table]]
    blank = line_end.encode()
    if blank_every:  # blank lines between rows, which the shards leave out
        records = [record + blank * (n % blank_every == 1) for n, record in enumerate(records)]
    job = prepared_job({"data.csv": b"".join(records)}, header=True, columns=wanted)
    deadline = (lambda: 0.0) if slices else (lambda: FAR)
    job = run_preparation(job, deadline=deadline)
    assert job.Preparation is not None and job.Preparation.Done, job.StatusReason
    assert job.Progress.RowsRead == len(table)
    shards = [get(key) for key in sorted(keys(work_area.shards_prefix(job).key))]
    assert all(len(shard) <= 256 for shard in shards)
    expected = io.StringIO(newline="")
    picks = [header.index(name) for name in wanted]
    csv.writer(expected, lineterminator="\r\n").writerows([row[i] for i in picks] for row in table)
    assert b"".join(shards) == expected.getvalue().encode()
    (planned,) = prepare.load_plan(job.Preparation.PlanKey).Objects
    assert [shard.Rows for shard in planned.Shards] == [len(rows(shard)) for shard in shards]


# Cells pyarrow takes (no CR, which it would take for a line end) with quotes, commas and line
# feeds now and then; rows of two to four of them.
SELECT_REGION = native_columns.select_region
region_cell = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab7 .-é")), max_size=6),
    st.text(alphabet=st.sampled_from(list('ab7 ,"\n')), max_size=6),
)
region_tables = st.integers(2, 4).flatmap(
    lambda width: st.lists(
        st.lists(region_cell, min_size=width, max_size=width), min_size=2, max_size=25
    )
)


@WHOLE_JOBS
@given(
    table=region_tables,
    line_end=st.sampled_from(["\n", "\r\n"]),
    slices=st.booleans(),
    data=st.data(),
)
def test_regions_prepared_in_cpp_cut_the_shards_the_per_record_path_cuts(
    queues: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    table: list[list[str]],
    line_end: str,
    slices: bool,
    data: st.DataObject,
) -> None:
    # Chunks of 64 bytes make regions of a few rows, most of which fit a 256-byte shard whole
    # (pyarrow's) and some of which fill it (cut record by record); without pyarrow every
    # region goes record by record. Both must give the same shards.
    monkeypatch.setattr(prepare, "MB", 256)
    monkeypatch.setattr(s3_gateway, "STREAM_CHUNK_BYTES", 64)
    table = table * 3
    width = len(table[0])
    header = [f"col{n}" for n in range(width)]
    wanted = data.draw(
        st.permutations(header).flatmap(
            lambda names: st.sampled_from([names[:size] for size in range(1, width + 1)])
        )
    )
    assume(wanted != header)
    body = b"".join(table_csv([row], line_end=line_end) for row in [header, *table])
    taken: list[bool] = []

    def counted(*args: Any) -> tuple[bytes, int] | None:
        prepared = SELECT_REGION(*args)
        taken.append(prepared is not None)
        return prepared

    def shards_of(job: Job) -> tuple[list[bytes], list[int]]:
        # In slices, each step ends at a shard and the next resumes from its offset.
        job = run_preparation(job, deadline=(lambda: 0.0) if slices else (lambda: FAR))
        assert job.Preparation is not None and job.Preparation.Done, job.StatusReason
        found = [get(key) for key in sorted(keys(work_area.shards_prefix(job).key))]
        (planned,) = prepare.load_plan(job.Preparation.PlanKey).Objects
        return found, [shard.Rows for shard in planned.Shards]

    # (A context per example: hypothesis runs every example under the same fixtures.)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native_columns, "select_region", counted)
        in_cpp = shards_of(prepared_job({"data.csv": body}, header=True, columns=wanted))
        patch.setattr(native_columns, "select_region", lambda *args: None)
        per_record = shards_of(prepared_job({"data.csv": body}, header=True, columns=wanted))
    assert in_cpp == per_record
    assert sum(per_record[1]) == len(table)
    assert any(taken), "no region went through pyarrow: the test no longer tests it"


def test_columns_are_selected_and_reordered_by_name_and_the_header_comes_back(
    queues: dict[str, str],
) -> None:
    data = b'id,petal,note,sepal\n1,0.2,"two\nlines",5.1\n2,1.4,plain,7.0\n'
    job = prepared_job({"a.csv": data}, header=True, columns=["sepal", "petal", "note"])
    job = run_preparation(job)
    assert job.Preparation is not None and job.Preparation.SpansLines
    shards = keys(work_area.shards_prefix(job).key)
    assert [get(key) for key in shards] == [b'5.1,0.2,"two\nlines"\r\n7.0,1.4,plain\r\n']
    transform(job, lambda body: b"".join(b"%d\n" % len(row) for row in rows(body)))
    complete(job)
    job = run_reassembly(job)
    assert job.Status is JobStatus.COMPLETED
    assert get("team-a/out/a.csv.out") == (
        b'id,petal,note,sepal,prediction\n1,0.2,"two\nlines",5.1,3\n2,1.4,plain,7.0,3\n'
    )
    assert job.Progress.OutputObjects == 1
    # The work area is cleared once the reassembled files are written.
    assert keys(work_area.work_prefix(job).key) == []


def test_without_quoted_line_breaks_the_shards_can_be_split_on_lines(
    queues: dict[str, str],
) -> None:
    job = prepared_job({"a.csv": b"1,2\n3,4\n"}, header=False)
    job = run_preparation(job)
    assert job.Preparation is not None and not job.Preparation.SpansLines


def test_output_column_names_and_files_in_input_order(queues: dict[str, str]) -> None:
    files = {"b.csv": b"x\n1\n2\n", "a.csv": b"x\n3\n"}
    job = prepared_job(files, header=True, output_columns=["label", "score"])
    job = run_preparation(job)
    transform(job, lambda body: b"".join(b"L%s,0.5\n" % row[0].encode() for row in rows(body)))
    complete(job)
    job = run_reassembly(job)
    assert job.Status is JobStatus.COMPLETED
    assert get("team-a/out/a.csv.out") == b"x,label,score\n3,L3,0.5\n"
    assert get("team-a/out/b.csv.out") == b"x,label,score\n1,L1,0.5\n2,L2,0.5\n"


def test_a_shard_answering_too_few_rows_fails_the_job_naming_the_input_rows(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare, "MB", 8)  # two 4-byte rows per shard
    job = prepared_job({"a.csv": b"r1\nr2\nr3\nr4\nr5\n"}, header=False, payload_mb=1)
    job = run_preparation(job)
    assert job.Progress.ShardsWritten == 3
    transform(job, lambda body: body if b"r3" not in body else body.split(b"\n")[0] + b"\n")
    complete(job)
    job = run_reassembly(job)
    assert job.Status is JobStatus.FAILED
    assert job.StatusReason is not None
    assert "answered 1 rows for the 2 data rows 3–4 of s3://" in job.StatusReason
    assert "a.csv" in job.StatusReason
    assert keys("team-a/out/a.csv.out") == []  # nothing half-written


def test_a_missing_column_fails_preparation_with_its_name(queues: dict[str, str]) -> None:
    job = prepared_job({"a.csv": b"a,b\n1,2\n"}, header=True, columns=["a", "c"])
    job = run_preparation(job)
    assert job.Status is JobStatus.FAILED
    assert job.StatusReason is not None and "'c'" in job.StatusReason


def test_a_row_larger_than_the_payload_limit_fails_with_its_row_number(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare, "MB", 16)
    job = prepared_job({"a.csv": b"short\n" + b"x" * 40 + b"\n"}, header=False)
    job = run_preparation(job)
    assert job.Status is JobStatus.FAILED
    assert job.StatusReason is not None and "Data row 2 of" in job.StatusReason


def test_an_unterminated_quote_fails_preparation(queues: dict[str, str]) -> None:
    job = prepared_job({"a.csv": b'1,"open\n2,3\n'}, header=False)
    job = run_preparation(job)
    assert job.Status is JobStatus.FAILED
    assert job.StatusReason is not None and "quoted field" in job.StatusReason


def test_a_large_output_is_a_multipart_upload_resumed_across_invocations(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 64)
    monkeypatch.setattr(object_writer, "PART_BYTES", 64)
    monkeypatch.setattr(prepare, "MB", 100)
    body = b"".join(b"%04d,some text\n" % n for n in range(80))
    job = prepared_job({"a.csv": body}, header=False)
    job = run_preparation(job, deadline=lambda: 0.0)
    transform(job, lambda shard: b"".join(b"p%s\n" % row[0].encode() for row in rows(shard)))
    complete(job)
    steps: list[int] = []
    original = job_repository.update_job

    def watching(job_id: str, decide: Any) -> Job | None:
        updated = original(job_id, decide)
        if updated is not None and updated.Finalization is not None:
            steps.append(updated.Finalization.Step)
        return updated

    monkeypatch.setattr(job_repository, "update_job", watching)
    job = run_reassembly(job, deadline=lambda: 0.0)
    assert job.Status is JobStatus.COMPLETED
    assert len(set(steps)) > 10  # one continuation per part
    expected = [[f"{n:04d}", "some text", f"p{n:04d}"] for n in range(80)]
    assert rows(get("team-a/out/a.csv.out")) == expected


def test_a_duplicate_step_message_is_ignored(queues: dict[str, str]) -> None:
    job = prepared_job({"a.csv": b"1\n2\n"}, header=False)
    assert prepare.prepare(job.JobId, 5, deadline=FAR) is JobStatus.PREPARING
    current = job_repository.get_job(job.JobId)
    assert current is not None and current.Preparation is not None
    assert current.Preparation.Step == 0 and not current.Preparation.Done
    messages = boto3.client("sqs").receive_message(
        QueueUrl=queues["prepare"], MaxNumberOfMessages=10
    )
    assert [json.loads(m["Body"]) for m in messages.get("Messages", [])] == [
        {"JobId": job.JobId, "Step": 0}
    ]


def test_a_cancel_during_reassembly_stops_the_job(queues: dict[str, str]) -> None:
    from transform_jobs.jobs.cancel import cancel

    job = prepared_job({"a.csv": b"1\n2\n"}, header=False)
    job = run_preparation(job)
    transform(job, echo)
    job = complete(job)
    assert job.Status is JobStatus.FINALIZING and not job.HoldsCapacity
    assert cancel(job).Status is JobStatus.STOPPED
    assert reassembly.finalize(job.JobId, 0, deadline=time.monotonic() + 60) is JobStatus.STOPPED
    assert keys("team-a/out/a.csv.out") == []


def test_rows_that_grow_when_reordered_still_make_shards_within_the_limit(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # csv.reader takes an unquoted cell holding quotes; written again it is quoted and grows.
    monkeypatch.setattr(prepare, "MB", 200)
    rows_in = [f'{n},5"x7",5"x7",5"x7"' for n in range(40)]
    data = ("id,a,b,c\n" + "\n".join(rows_in) + "\n").encode()
    job = prepared_job({"a.csv": data}, header=True, columns=["c", "b", "a", "id"])
    job = run_preparation(job)
    assert job.Status is JobStatus.PREPARING, job.StatusReason
    shards = [get(key) for key in keys(work_area.shards_prefix(job).key)]
    assert len(shards) > 1 and all(len(shard) <= 200 for shard in shards)
    assert sum(len(rows(shard)) for shard in shards) == 40
    assert rows(b"".join(shards))[0] == ['5"x7"', '5"x7"', '5"x7"', "0"]


def test_a_cancel_as_sagemaker_completes_ends_the_job_stopped(queues: dict[str, str]) -> None:
    from transform_jobs.jobs.cancel import cancel

    job = prepared_job({"a.csv": b"1\n2\n"}, header=False)
    job = run_preparation(job)

    def launched(current: Job) -> JobUpdate:
        current.Status, current.HoldsCapacity = JobStatus.IN_PROGRESS, True
        return JobUpdate(job=current)

    launched_job = job_repository.update_job(job.JobId, launched)
    assert launched_job is not None
    # The cancel is recorded (Stopping); SageMaker then reports the job it had just finished.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "transform_jobs.adapters.sagemaker_gateway.stop_transform_job", lambda name: None
        )
        patch.setattr(
            "transform_jobs.adapters.sagemaker_gateway.describe_transform_job",
            lambda name: {"X": 1},
        )
        assert cancel(launched_job).Status is JobStatus.STOPPING
    ended = complete(job)
    assert ended.Status is JobStatus.STOPPED and not ended.HoldsCapacity
    assert ended.StatusReason is not None and "not reassembled" in ended.StatusReason


def test_a_reordered_shard_that_fails_to_finish_fails_the_step_before_any_checkpoint(
    queues: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shards are finished by workers while the scan goes on: a failed PUT must still stop the
    # step before a checkpoint names the shard, and nothing may be left behind it.
    monkeypatch.setattr(prepare, "MB", 16)

    data = b"a,b\n" + b"".join(f"{n},x{n}\n".encode() for n in range(40))
    job = prepared_job({"a.csv": data}, header=True, columns=["b", "a"])
    put_bytes = s3_gateway.put_bytes

    def broken(location: Any, *args: Any, **kwargs: Any) -> None:
        if location.key.startswith(work_area.shards_prefix(job).key):
            raise RuntimeError("put failed")
        put_bytes(location, *args, **kwargs)  # the plan and the rest

    monkeypatch.setattr(s3_gateway, "put_bytes", broken)
    with pytest.raises(RuntimeError, match="put failed"):
        prepare.prepare(job.JobId, 0, deadline=0.0)  # would checkpoint at the first shard
    current = job_repository.get_job(job.JobId)
    assert current is not None and current.Preparation is not None
    assert current.Preparation.Step == 0 and current.Preparation.ShardsWritten == 0
    assert keys(work_area.shards_prefix(current).key) == []
