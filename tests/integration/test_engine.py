"""The local Batch Transform engine end to end: real model processes, S3 through moto."""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.engine import s3_store
from local.engine.job import ModelSource, TransformJob
from local.engine.records import encode_recordio, encode_tfrecord
from local.engine.spec import TransformSpec

ROOT = Path(__file__).resolve().parents[2]
SCRIPTED = ROOT / "tests/support/scripted_model.py"
BUCKET = "engine-data"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        s3_store.client.cache_clear()
        yield client
    s3_store.client.cache_clear()


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def get(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def request(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TransformJobName": "tj-test",
        "ModelName": "echo",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }
    for name, value in change.items():
        if isinstance(value, dict) and isinstance(base.get(name), dict):
            base[name] = {**base[name], **value}
        else:
            base[name] = value
    return base


def scripted(tmp_path: Path, *flags: str) -> ModelSource:
    command = f"{sys.executable} {SCRIPTED} --port {{port}} " + " ".join(flags)
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    return ModelSource(
        name="echo", model_dir=model_dir, environment={"TRANSFORM_JOBS_SERVE_COMMAND": command}
    )


def run(
    spec_request: dict[str, Any], model: ModelSource, tmp_path: Path, **options: Any
) -> TransformJob:
    job = TransformJob(
        TransformSpec.from_request(spec_request), model, work_dir=tmp_path / "work", **options
    )
    job.run()
    return job


def records_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_object_under_the_prefix_gets_its_out_file_in_input_order(
    s3: Any, tmp_path: Path
) -> None:
    rows = b"".join(f"{i},{i * 2}\n".encode() for i in range(1000))
    put(s3, "in/a.csv", rows)
    put(s3, "in/sub/b.csv", b"x,y\n")
    job = run(request(), scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert sorted(keys(s3, "out/")) == ["out/a.csv.out", "out/sub/b.csv.out"]
    assert get(s3, "out/a.csv.out") == rows
    progress = job.progress.snapshot()
    assert (progress.objects_total, progress.objects_done, progress.records_done) == (2, 2, 1001)
    assert progress.bytes_in == len(rows) + 4
    assert job.outcome.start_time is not None and job.outcome.end_time is not None
    assert job.outcome.start_time <= job.outcome.end_time
    assert job.outcome.end_time.microsecond % 1000 == 0


def test_a_raw_prefix_matches_sibling_keys_as_sagemaker_does(s3: Any, tmp_path: Path) -> None:
    put(s3, "in.csv", b"1\n")
    put(s3, "input2/x.csv", b"2\n")
    put(s3, "other/y.csv", b"3\n")
    spec = request(
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in"}}
        }
    )
    assert run(spec, scripted(tmp_path), tmp_path).outcome.status == "Completed"
    assert sorted(keys(s3, "out/")) == ["out/.csv.out", "out/put2/x.csv.out"]


def test_a_manifest_lists_the_objects_relative_to_its_prefix(s3: Any, tmp_path: Path) -> None:
    put(s3, "data/p/a.csv", b"1\n")
    put(s3, "data/p/q/b.csv", b"2\n")
    put(s3, "data/p/skip.csv", b"3\n")
    put(
        s3,
        "in/manifest.json",
        json.dumps([{"prefix": f"s3://{BUCKET}/data/p/"}, "a.csv", "q/b.csv"]).encode(),
    )
    spec = request(
        TransformInput={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "ManifestFile",
                    "S3Uri": f"s3://{BUCKET}/in/manifest.json",
                }
            }
        }
    )
    assert run(spec, scripted(tmp_path), tmp_path).outcome.status == "Completed"
    assert sorted(keys(s3, "out/")) == ["out/a.csv.out", "out/q/b.csv.out"]
    assert get(s3, "out/q/b.csv.out") == b"2\n"


def test_gzip_input_is_decompressed_and_keeps_its_name(s3: Any, tmp_path: Path) -> None:
    rows = b"".join(f"{i}\n".encode() for i in range(5000))
    put(s3, "in/a.csv.gz", gzip.compress(rows))
    job = run(request(TransformInput={"CompressionType": "Gzip"}), scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert get(s3, "out/a.csv.gz.out") == rows


@pytest.mark.parametrize(
    ("split", "encode"), [("RecordIO", encode_recordio), ("TFRecord", encode_tfrecord)]
)
def test_single_record_sends_each_payload_without_its_framing(
    s3: Any, tmp_path: Path, split: str, encode: Any
) -> None:
    payloads = [b"alpha", b"be", b"", b"gamma-delta"]
    put(s3, "in/r.bin", encode(payloads))
    record = tmp_path / "requests.jsonl"
    spec = request(
        BatchStrategy="SingleRecord",
        TransformInput={"SplitType": split, "ContentType": "application/x-recordio"},
        TransformOutput={"AssembleWith": "None"},
    )
    job = run(spec, scripted(tmp_path, "--record", str(record)), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert get(s3, "out/r.bin.out") == b"".join(payloads)
    assert [entry["size"] for entry in records_of(record)] == [len(p) for p in payloads]


def test_multi_record_packs_whole_records_up_to_the_payload_limit(s3: Any, tmp_path: Path) -> None:
    line = b"x" * 1023 + b"\n"  # 1 KiB records: 1024 fit in 1 MB
    put(s3, "in/a.csv", line * 3000)
    record = tmp_path / "requests.jsonl"
    job = run(request(MaxPayloadInMB=1), scripted(tmp_path, "--record", str(record)), tmp_path)
    assert job.outcome.status == "Completed"
    assert [entry["size"] for entry in records_of(record)] == [1024 * 1024, 1024 * 1024, 952 * 1024]
    assert all(entry["content_type"] == "text/csv" for entry in records_of(record))


def test_a_record_over_the_limit_fails_its_object_and_the_others_keep_their_outputs(
    s3: Any, tmp_path: Path
) -> None:
    put(s3, "in/a-good.csv", b"1\n2\n")
    put(s3, "in/b-bad.csv", b"1\n" + b"y" * (1024 * 1024 + 10) + b"\n3\n")
    put(s3, "in/c-good.csv", b"4\n")
    job = run(request(MaxPayloadInMB=1), scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Failed"
    reason = job.outcome.failure_reason or ""
    assert f"s3://{BUCKET}/in/b-bad.csv" in reason
    assert "record 1" in reason
    assert sorted(keys(s3, "out/")) == ["out/a-good.csv.out", "out/c-good.csv.out"]


def test_max_payload_zero_streams_the_whole_object_chunked(s3: Any, tmp_path: Path) -> None:
    rows = b"".join(f"{i}\n".encode() for i in range(200_000))
    put(s3, "in/a.csv", rows)
    record = tmp_path / "requests.jsonl"
    job = run(request(MaxPayloadInMB=0), scripted(tmp_path, "--record", str(record)), tmp_path)
    assert job.outcome.status == "Completed"
    assert get(s3, "out/a.csv.out") == rows
    assert [(e["size"], e["chunked"]) for e in records_of(record)] == [(len(rows), True)]


def test_unset_parameters_come_from_execution_parameters(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"r\n" * 50)
    record = tmp_path / "requests.jsonl"
    params = json.dumps(
        {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}
    )
    model = scripted(tmp_path, "--record", str(record), "--execution-parameters", f"'{params}'")
    job = run(request(), model, tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    sizes = [entry["size"] for entry in records_of(record)]
    assert sizes == [2] * 50  # SingleRecord, as the container asked


def test_requests_in_flight_reach_max_concurrent_transforms(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"r\n" * 40)
    record = tmp_path / "requests.jsonl"
    spec = request(MaxConcurrentTransforms=4, BatchStrategy="SingleRecord")
    job = run(spec, scripted(tmp_path, "--record", str(record), "--delay", "0.05"), tmp_path)
    assert job.outcome.status == "Completed"
    assert get(s3, "out/a.csv.out") == b"r\n" * 40
    assert max(entry["in_flight"] for entry in records_of(record)) == 4


def test_failed_invocations_are_retried_up_to_invocations_max_retries(
    s3: Any, tmp_path: Path
) -> None:
    put(s3, "in/a.csv", b"1\n")
    ok = run(
        request(ModelClientConfig={"InvocationsMaxRetries": 2}),
        scripted(tmp_path, "--fail-first", "2"),
        tmp_path,
    )
    assert ok.outcome.status == "Completed"
    failed = run(
        request(ModelClientConfig={"InvocationsMaxRetries": 1}),
        scripted(tmp_path, "--fail-first", "2"),
        tmp_path,
    )
    assert failed.outcome.status == "Failed"
    assert f"s3://{BUCKET}/in/a.csv: record 0: HTTP 500 after 2 attempts: scripted failure" in (
        failed.outcome.failure_reason or ""
    )


def test_invocations_timeout_is_honoured(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"1\n")
    spec = request(ModelClientConfig={"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 0})
    job = run(spec, scripted(tmp_path, "--delay", "3"), tmp_path)
    assert job.outcome.status == "Failed"
    assert "record 0: no answer within 1 s after 1 attempt" in (job.outcome.failure_reason or "")


def test_a_model_that_never_answers_ping_fails_the_job(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"1\n")
    job = run(request(), scripted(tmp_path, "--unhealthy"), tmp_path, healthy_within_s=3)
    assert job.outcome.status == "Failed"
    assert keys(s3, "out/") == []


def test_stop_ends_the_job_stopped_with_its_model_processes_gone(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"r\n" * 500)
    spec = request(BatchStrategy="SingleRecord")
    job = TransformJob(
        TransformSpec.from_request(spec),
        scripted(tmp_path, "--delay", "0.05"),
        work_dir=tmp_path / "w",
    )
    runner = threading.Thread(target=job.run)
    runner.start()
    deadline = time.monotonic() + 30
    while job.progress.snapshot().records_done < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [running.pid for running in job._models]
    assert pids
    job.stop()
    runner.join(timeout=30)
    assert job.outcome.status == "Stopped"
    assert keys(s3, "out/") == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_instance_count_shares_objects_among_model_processes(s3: Any, tmp_path: Path) -> None:
    for name in "abcd":
        put(s3, f"in/{name}.csv", f"{name}\n".encode())
    job = run(
        request(TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}),
        scripted(tmp_path),
        tmp_path,
    )
    assert job.outcome.status == "Completed"
    assert sorted(keys(s3, "out/")) == [f"out/{n}.csv.out" for n in "abcd"]
    logs = sorted((tmp_path / "work" / "logs").glob("*.log"))
    assert len(logs) == 2


def test_join_with_filters_gives_input_columns_then_prediction(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"id1,0.5,7\nid2,0.25,9\n")
    spec = request(
        BatchStrategy="SingleRecord",
        TransformOutput={"Accept": "text/csv"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    job = run(spec, scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    # the echo model answers the filtered record "0.5,7"; joined: id1,0.5,7,0.5,7 → $[0,-1]
    assert get(s3, "out/a.csv.out") == b"id1,7\nid2,9\n"


def test_a_request_the_engine_cannot_act_on_fails_before_any_model_starts(
    s3: Any, tmp_path: Path
) -> None:
    put(s3, "in/a.csv", b"1\n")
    spec = request(TransformOutput={"Accept": "text/csv"}, DataProcessing={"InputFilter": "$[0"})
    job = run(spec, scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Failed"
    assert "$[0" in (job.outcome.failure_reason or "")
    assert not (tmp_path / "work" / "logs").exists()


def test_a_truncated_gzip_object_fails_instead_of_passing_short(s3: Any, tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(f"{i}\n".encode() for i in range(50_000)))
    put(s3, "in/a.csv.gz", whole[: len(whole) // 2])
    job = run(request(TransformInput={"CompressionType": "Gzip"}), scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Failed"
    assert "a.csv.gz" in (job.outcome.failure_reason or "")
    assert "end marker" in (job.outcome.failure_reason or "")
    assert keys(s3, "out/") == []


def test_stop_while_the_model_starts_ends_stopped(s3: Any, tmp_path: Path) -> None:
    put(s3, "in/a.csv", b"1\n")
    spec = TransformSpec.from_request(request())
    job = TransformJob(
        spec, scripted(tmp_path, "--unhealthy"), work_dir=tmp_path / "w", healthy_within_s=60
    )
    runner = threading.Thread(target=job.run)
    runner.start()
    time.sleep(1.0)
    job.stop()
    runner.join(timeout=30)
    assert job.outcome.status == "Stopped"
    assert job.outcome.failure_reason is None


def test_a_container_answering_execution_parameters_badly_gets_the_defaults(
    s3: Any, tmp_path: Path
) -> None:
    put(s3, "in/a.csv", b"r\n" * 10)
    record = tmp_path / "requests.jsonl"
    model = scripted(tmp_path, "--record", str(record), "--execution-parameters", "'not json'")
    job = run(request(), model, tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert [entry["size"] for entry in records_of(record)] == [20]  # MultiRecord, 6 MB


def test_model_processes_do_not_inherit_the_engines_credentials(s3: Any, tmp_path: Path) -> None:
    from local.model_host.host import _process_environment

    os.environ["AWS_SECRET_ACCESS_KEY_FOR_TEST"] = "secret"
    try:
        env = _process_environment(
            {"MODEL_SETTING": "1"}, python=sys.executable, port=1234, builtin=False
        )
    finally:
        del os.environ["AWS_SECRET_ACCESS_KEY_FOR_TEST"]
    assert "AWS_SECRET_ACCESS_KEY_FOR_TEST" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["MODEL_SETTING"] == "1"
    assert env["SAGEMAKER_BIND_TO_PORT"] == "1234"


def test_a_large_output_is_uploaded_in_parts_and_assembled_in_order(
    s3: Any, tmp_path: Path
) -> None:
    rows = b"".join(f"{i:08d},{'x' * 50}\n".encode() for i in range(250_000))  # ~15 MB
    put(s3, "in/big.csv", rows)
    job = run(request(MaxPayloadInMB=1, MaxConcurrentTransforms=3), scripted(tmp_path), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert get(s3, "out/big.csv.out") == rows
    assert job.progress.snapshot().bytes_out == len(rows)


def test_a_model_process_killed_mid_job_fails_its_object_and_a_fresh_one_takes_the_rest(
    s3: Any, tmp_path: Path
) -> None:
    put(s3, "in/a.csv", b"1\n")
    put(s3, "in/b.csv", b"2\npoison\n")
    put(s3, "in/c.csv", b"3\n")
    job = run(request(), scripted(tmp_path, "--kill-on", "poison"), tmp_path)
    assert job.outcome.status == "Failed"
    reason = job.outcome.failure_reason or ""
    assert reason == (
        f"ClientError: s3://{BUCKET}/in/b.csv: records 0..1: "
        "the model process was killed by SIGKILL before it answered"
    )
    assert sorted(keys(s3, "out/")) == ["out/a.csv.out", "out/c.csv.out"]
    assert get(s3, "out/c.csv.out") == b"3\n"


def test_a_batch_answered_with_fewer_lines_than_records_fails_its_object_naming_the_batch(
    s3: Any, tmp_path: Path
) -> None:
    # 1 KiB records: 1024 to a 1 MB batch, so record 1500 lies in the second, 1024..2047.
    records = [b"%07d," % number + b"x" * 1015 + b"\n" for number in range(3000)]
    records[1500] = b"poison," + b"x" * 1016 + b"\n"
    put(s3, "in/a.csv", b"".join(records))
    put(s3, "in/b.csv", b"4\n5\n")
    spec = request(MaxPayloadInMB=1, TransformOutput={"Accept": "text/csv"})
    job = run(spec, scripted(tmp_path, "--drop-on", "poison"), tmp_path)
    assert job.outcome.status == "Failed"
    assert job.outcome.failure_reason == (
        f"ClientError: s3://{BUCKET}/in/a.csv: records 1024..2047: "
        "the model answered 1023 records for 1024 sent"
    )
    assert keys(s3, "out/") == ["out/b.csv.out"]


@pytest.mark.parametrize(
    ("accept", "strategy", "expected"),
    [
        # A JSON answer may hold a whole batch on one line: lines are not records.
        ("application/json", "MultiRecord", b"1\npoison\n"),
        # One record, one line, whatever the answer: AssembleWith Line keeps the record's place.
        ("text/csv", "SingleRecord", b"1\n\n3\n"),
    ],
)
def test_answers_that_keep_every_records_place_are_not_counted_short(
    s3: Any, tmp_path: Path, accept: str, strategy: str, expected: bytes
) -> None:
    put(s3, "in/a.csv", b"1\npoison\n3\n")
    spec = request(BatchStrategy=strategy, TransformOutput={"Accept": accept})
    job = run(spec, scripted(tmp_path, "--drop-on", "poison"), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert get(s3, "out/a.csv.out") == expected


def test_blank_lines_a_model_skips_do_not_count_as_records_left_unanswered(
    s3: Any, tmp_path: Path
) -> None:
    # The model answers one line per non-blank line (as the csv module reads): two blank
    # records go unanswered, and the others keep their places.
    put(s3, "in/a.csv", b"1\n\n2\n \n3\n")
    spec = request(TransformOutput={"Accept": "text/csv"})
    job = run(spec, scripted(tmp_path, "--skip-blank-lines"), tmp_path)
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert get(s3, "out/a.csv.out") == b"1\n2\n3\n"


def test_model_processes_boot_while_the_input_is_listed(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.engine import job as job_module

    put(s3, "in/a.csv", b"1\n")
    spec = request(TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2})
    job = TransformJob(
        TransformSpec.from_request(spec), scripted(tmp_path), work_dir=tmp_path / "w"
    )
    list_inputs = job_module.list_inputs
    running_while_listing: list[int] = []

    def listing(spec: TransformSpec) -> list[Any]:
        running_while_listing.extend(m.pid for m in job._models if m.ended() is None)
        return list_inputs(spec)

    monkeypatch.setattr(job_module, "list_inputs", listing)
    job.run()
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    assert len(running_while_listing) == 2


def test_on_inputs_listed_is_called_once_after_the_listing_before_any_record(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI turns Python's cycle collector back on there: the S3 client exists by then.
    from local.engine import job as job_module

    put(s3, "in/a.csv", b"1\n2\n")
    put(s3, "in/b.csv", b"3\n")
    events: list[str] = []
    list_inputs = job_module.list_inputs

    def listing(spec: TransformSpec) -> list[Any]:
        found = list_inputs(spec)
        events.append(f"listed {len(found)}")
        return found

    monkeypatch.setattr(job_module, "list_inputs", listing)
    job = run(
        request(),
        scripted(tmp_path),
        tmp_path,
        on_inputs_listed=lambda: events.append("hook"),
        on_change=lambda job: events.append(f"records {job.progress.snapshot().records_done}"),
    )
    assert job.outcome.status == "Completed", job.outcome.failure_reason
    hooks = [index for index, event in enumerate(events) if event == "hook"]
    assert len(hooks) == 1
    assert events[hooks[0] - 1] == "listed 2"
    assert all(event == "records 0" for event in events[: hooks[0]] if event.startswith("records"))
    assert events[-1] == "records 3"


def test_no_input_objects_fails_the_job_and_stops_the_models_it_started(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local.engine import job as job_module

    job = TransformJob(
        TransformSpec.from_request(request()), scripted(tmp_path), work_dir=tmp_path / "w"
    )
    list_inputs = job_module.list_inputs
    started: list[int] = []

    def listing(spec: TransformSpec) -> list[Any]:
        started.extend(m.pid for m in job._models)
        return list_inputs(spec)

    monkeypatch.setattr(job_module, "list_inputs", listing)
    job.run()
    assert job.outcome.status == "Failed"
    assert job.outcome.failure_reason == f"No input objects under s3://{BUCKET}/in/"
    assert started
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
