"""CSV preparation and reassembly throughput and peak memory, against Python's csv.reader.

For each size, a CSV with a header, eight columns and a quoted text column whose cells sometimes
hold commas, quotes and line breaks is uploaded to s3rver (the disk-backed S3 server local mode
uses). Then, each in its own process (so peak RSS is its own):

- `csv.reader`: the baseline, parsing the object as it streams from S3 and counting rows;
- `prepare`: the service's preparation (`preparation.prepare.prepare`, as prepare_job runs
  it) sharding the object into MaxPayloadInMB shards written back to S3, columns as they are;
- `prepare-reorder`: the same, selecting and reordering five columns by name (each row parsed
  and written again);
- `reassemble`: finalize_job's reassembly of the shard outputs (an echo model's: each output row
  is its shard row, copied server-side) into one joined `.out`, as a multipart upload;
- `s3-traffic`: reassembly's S3 requests alone, with no CSV work: the same GETs (the input and
  every shard output, read ahead the same way) and the same bytes written back through the
  same multipart writer. It is what no reassembly on this S3 server can beat; reassemble's time
  over it is printed too.

The job table and queues are the template's, on a moto server. Each step's ratio is its
throughput over csv.reader's on the same bytes (step MB/s over csv.reader MB/s, so higher is
faster), printed with its target; memory flatness is each step's peak RSS at the largest size
over the smallest. The prepared shards are read back and checked against the input, so a fast
wrong answer cannot pass. Every step runs `--repeat` rounds (3) and its median round is what
counts; `--s3-dir` says where s3rver keeps its objects. `--output` writes JSON; Markdown goes to
stdout.

    python benchmarks/csv_sharding.py --sizes 100MB,2GB --output results/csv.json
    python benchmarks/csv_sharding.py --sizes 100MB --repeat 5 --s3-dir /dev/shm
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

# The service's own code; its settings and clients are read from the environment on first use.
from local.runtime.resources import create_resources  # noqa: E402 - after the path is set
from local.runtime.template import load_template  # noqa: E402
from local.stack.backends import start_moto, start_s3  # noqa: E402
from transform_jobs.adapters import s3_gateway  # noqa: E402
from transform_jobs.adapters.dynamodb import job_repository  # noqa: E402
from transform_jobs.adapters.object_writer import ObjectWriter  # noqa: E402
from transform_jobs.jobs import work_area  # noqa: E402
from transform_jobs.jobs.submission import new_job  # noqa: E402
from transform_jobs.models.plan import PlannedObject, PreparationPlan  # noqa: E402
from transform_jobs.models.request import JobRequest  # noqa: E402
from transform_jobs.preparation import prepare, reassembly  # noqa: E402
from transform_jobs.s3_location import S3Location  # noqa: E402

BUCKET = "bench-data"
STACK = "bench"
OUTPUT_PREFIX = "out/"  # the jobs' S3OutputPath: their work areas and reassembled files
TEAM = "bench"
MB = 1024 * 1024
COLUMNS = ["id", "f1", "f2", "f3", "f4", "f5", "category", "note"]
REORDERED = ["note", "f5", "f3", "f1", "category"]
# Seconds a 15-minute step works before its checkpoint (work_budget.SAFETY_MARGIN_S).
STEP_SECONDS = 900 - 120
STEPS = ("csv.reader", "prepare", "prepare-reorder", "reassemble")
TRAFFIC = "s3-traffic"  # measured with reassemble, as its floor
# Throughput a step must reach, as a multiple of csv.reader's over the same bytes.
TARGETS = {"prepare": 3.0, "prepare-reorder": 1.0, "reassemble": 1.0}


def parse_size(text: str) -> int:
    units = {"KB": 1024, "MB": MB, "GB": 1024 * MB}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def generate(path: Path, size: int, seed: int = 7) -> tuple[int, int, str]:
    """A CSV of about `size` bytes: a 4 MB block of varied rows, repeated. Returns the data
    rows, and the size and SHA-256 of the bytes after the header (what the shards must hold)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    lines = []
    for n in range(60_000):
        values = [f"{rng.uniform(-100, 100):.4f}" for _ in range(5)]
        category = rng.choice(["alpha", "beta", "gamma", "delta"])
        if n % 20 == 0:
            note = f'"line one, with a comma\nline ""two"" of {n}"'
        else:
            note = f"short note {n}"
        lines.append(",".join([str(n), *values, category, note]) + "\r\n")
    block = "".join(lines).encode()
    rows_per_block = len(lines)
    rows = 0
    digest = hashlib.sha256()
    with path.open("wb") as out:
        out.write((",".join(COLUMNS) + "\r\n").encode())
        written = 0
        while written < size:
            if written + len(block) <= size:
                out.write(block)
                digest.update(block)
                written += len(block)
                rows += rows_per_block
                continue
            for line in lines:  # the last, partial block, at row boundaries
                encoded = line.encode()
                if written + len(encoded) > size:
                    break
                out.write(encoded)
                digest.update(encoded)
                written += len(encoded)
                rows += 1
            break
    return rows, written, digest.hexdigest()


# ---------------------------------------------------------------------- children (one per step)


def child_reader(key: str) -> dict[str, Any]:
    class Raw(io.RawIOBase):
        """The streaming GET as a file, so csv.reader reads it the fastest way it can."""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            data = body.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    started, cpu_started = time.perf_counter(), time.process_time()
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
    stream = io.BufferedReader(Raw(), buffer_size=MB)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    next(reader)
    rows = sum(1 for _ in reader)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "rows": rows,
    }


def _job(key: str, columns: list[str] | None) -> str:
    block: dict[str, Any] = {"Header": "Present", "Reassemble": True}
    if columns:
        block["Columns"] = columns
    request = JobRequest.model_validate(
        {
            "ModelName": "echo",
            "MaxPayloadInMB": 6,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/{key.rsplit('/', 1)[0]}/",
                    }
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": f"s3://{BUCKET}/{OUTPUT_PREFIX}",
                "Accept": "text/csv",
            },
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            "InputPreparation": block,
        }
    )
    job = new_job(TEAM, request)
    job_repository.create_job(job)
    plan = PreparationPlan(
        Objects=[PlannedObject(Bucket=BUCKET, Key=key, Relative=key.rsplit("/", 1)[-1])]
    )
    prepare.start(job.JobId, plan, header_present=True, note="benchmark")
    return job.JobId


def child_prepare(key: str, columns: list[str] | None) -> dict[str, Any]:
    job_id = _job(key, columns)
    started, cpu_started = time.perf_counter(), time.process_time()
    steps = 0
    while True:
        job = job_repository.get_job(job_id)
        assert job is not None  # noqa: S101
        assert job.Preparation is not None  # noqa: S101
        if job.Preparation.Done or job.Status.is_terminal:
            break
        prepare.prepare(job_id, job.Preparation.Step, deadline=float("inf"))
        steps += 1
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu_started,
        "job_id": job_id,
        "status": job.Status.value,
        "reason": job.StatusReason,
        "rows": job.Progress.RowsRead,
        "shards": job.Progress.ShardsWritten,
        "spans_lines": job.Preparation.SpansLines,
        "invocations": steps,
    }


def child_reassemble(job_id: str) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        job = job_repository.get_job(job_id)
        assert job is not None  # noqa: S101
        if job.Status.value != "Finalizing":
            break
        step = job.Finalization.Step if job.Finalization else 0
        reassembly.finalize(job_id, step, deadline=float("inf"))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "status": job.Status.value,
        "reason": job.StatusReason,
        "files": job.Progress.OutputObjects,
    }


def child_traffic(job_id: str) -> dict[str, Any]:
    """Reassembly's reads and writes with nothing done to the bytes: for each shard its output,
    then as many bytes of the input, a chunk of each in turn, into one multipart upload."""
    job = job_repository.get_job(job_id)
    assert job is not None  # noqa: S101
    assert job.Preparation is not None  # noqa: S101
    started, cpu_started = time.perf_counter(), time.process_time()
    written = 0
    for item in prepare.load_plan(job.Preparation.PlanKey).Objects:
        writer = ObjectWriter(S3Location(BUCKET, f"{OUTPUT_PREFIX}traffic/{item.Relative}.out"))
        location = S3Location(item.Bucket, item.Key)
        with contextlib.closing(
            s3_gateway.stream(location, read_ahead=prepare.READ_AHEAD_CHUNKS)
        ) as originals:
            for index in range(len(item.Shards)):
                output = work_area.shard_output(job, item.Relative, index)
                with contextlib.closing(
                    s3_gateway.stream(output, read_ahead=prepare.READ_AHEAD_CHUNKS)
                ) as answers:
                    for answer in answers:
                        writer.write(answer)
                        writer.write(next(originals, b""))
            for rest in originals:
                writer.write(rest)
        writer.close()
        written += writer.written
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "bytes_written": written,
    }


def run_child(argv: list[str]) -> int:
    mode, argument = argv[0], argv[1]
    if mode == "reader":
        result = child_reader(argument)
    elif mode == "prepare":
        result = child_prepare(argument, None)
    elif mode == "prepare-reorder":
        result = child_prepare(argument, REORDERED)
    elif mode == TRAFFIC:
        result = child_traffic(argument)
    else:
        result = child_reassemble(argument)
    # ru_maxrss is in KiB on Linux.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------- the parent


class Stand:
    """s3rver for S3, a moto server for the table and queues, the template's resources."""

    def __init__(self, scratch: Path, s3_dir: Path | None = None) -> None:
        self.s3 = start_s3(s3_dir or scratch / "s3", log_dir=scratch)
        self.moto = start_moto(("dynamodb", "sqs", "kms"), log_dir=scratch)
        credentials = dict(self.s3.credentials)
        endpoints = {"s3": self.s3.endpoint, "dynamodb": self.moto.endpoint}
        endpoints |= {"sqs": self.moto.endpoint, "kms": self.moto.endpoint}
        context = create_resources(
            load_template(ROOT / "template.yaml"),
            endpoints=endpoints,
            credentials=credentials,
            region="us-east-1",
            stack_name=STACK,
            parameters={"DataBucketNames": BUCKET},
        )
        self.client("s3").create_bucket(Bucket=BUCKET)
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL_S3": self.s3.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto.endpoint,
            "AWS_ENDPOINT_URL_SQS": self.moto.endpoint,
            "TABLE_NAME": context.refs["JobsTable"],
            "ARTIFACTS_BUCKET": context.refs["ArtifactsBucket"],
            "LAUNCH_QUEUE_URL": context.refs["LaunchQueue"],
            "PREPARE_QUEUE_URL": context.refs["PrepareQueue"],
            "FINALIZE_QUEUE_URL": context.refs["FinalizeQueue"],
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_SERVICE_NAME": "transform-jobs-bench",
        }

    def client(self, service: str) -> Any:
        config = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
        backend = self.s3 if service == "s3" else self.moto
        return backend.client(service, **config)

    def child(self, mode: str, argument: str) -> dict[str, Any]:
        """Runs one step in a fresh process; with the CPU seconds s3rver spent meanwhile."""
        s3rver_before = cpu_seconds(self.s3.process.pid)
        reply = subprocess.run(
            [sys.executable, __file__, "--child", mode, argument],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if reply.returncode != 0:
            raise RuntimeError(f"{mode} failed:\n{reply.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(reply.stdout.strip().splitlines()[-1])
        result["s3rver_cpu_seconds"] = cpu_seconds(self.s3.process.pid) - s3rver_before
        return result

    def remove(self, prefix: str) -> None:
        """Every object whose key starts with `prefix`."""
        s3 = self.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})

    def stop(self) -> None:
        self.s3.stop()
        self.moto.stop()


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (from /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def echo_model(stand: Stand, job_id: str) -> None:
    """What SageMaker and the echo model leave: each shard's output is the shard itself."""
    s3 = stand.client("s3")
    shards = f"out/.transform-jobs/{job_id}/input/"
    outputs = f"out/.transform-jobs/{job_id}/output/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=shards):
        for entry in page.get("Contents", []):
            target = outputs + entry["Key"][len(shards) :] + ".out"
            s3.copy_object(
                Bucket=BUCKET, Key=target, CopySource={"Bucket": BUCKET, "Key": entry["Key"]}
            )


def finalizing(stand: Stand, job_id: str) -> None:
    """SageMaker's Completed, applied as record_state_change applies it."""
    env = {**os.environ, **stand.env}
    code = (
        "from transform_jobs.jobs.state_changes import SageMakerReport, apply\n"
        "from transform_jobs.models.job_status import SageMakerStatus\n"
        "from transform_jobs.settings import get_settings\n"
        f"apply(SageMakerReport(job_name=get_settings().job_name_prefix + {job_id!r}, "
        "status=SageMakerStatus.COMPLETED, source='sagemaker'))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(ROOT / "layers" / "core")},
        check=True,
    )


def check_shards(stand: Stand, job_id: str, size: int, digest: str) -> dict[str, Any]:
    """The shards, read back in order, must be the input's bytes after its header (the data has
    no blank lines and ends with a line end, so they pass untouched)."""
    s3 = stand.client("s3")
    prefix = f"out/.transform-jobs/{job_id}/input/"
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for entry in page.get("Contents", [])
    ]
    found, total = hashlib.sha256(), 0
    for key in sorted(keys):
        for chunk in s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(MB):
            found.update(chunk)
            total += len(chunk)
    if total != size or found.hexdigest() != digest:
        raise RuntimeError(
            f"the {len(keys)} shards hold {total} bytes ({found.hexdigest()[:12]}), expected "
            f"the {size} bytes after the header ({digest[:12]})"
        )
    return {"shard_objects": len(keys), "shard_bytes": total, "shards_match_input": True}


def measure(
    stand: Stand,
    scratch: Path,
    label: str,
    size: int,
    wanted: tuple[str, ...] = STEPS,
    repeat: int = 1,
) -> dict[str, Any]:
    path = scratch / f"{label}.csv"
    rows, data_bytes, digest = generate(path, size)
    key = f"in-{label}/data.csv"
    stand.client("s3").upload_file(str(path), BUCKET, key)
    actual = path.stat().st_size
    path.unlink()
    # Each round runs every step once, in the same order, so that a slow spell of the machine
    # falls on all of them; a step's figure is its median round.
    rounds = []
    for _ in range(repeat):
        rounds.append(one_round(stand, key, wanted, data_bytes, digest))
        stand.remove(OUTPUT_PREFIX)  # each round's shards and outputs, so rounds add no bytes
    stand.remove(key)
    for each in rounds:
        check_round(each, rows)
    steps = {name: median_run([each[name] for each in rounds]) for name in rounds[0]}
    baseline = steps["csv.reader"]["seconds"]
    for name, step in steps.items():
        step["mb_per_s"] = actual / MB / step["seconds"]
        # Throughput over csv.reader's: above 1 is faster than the baseline.
        step["throughput_vs_csv_reader"] = baseline / step["seconds"]
        if name in TARGETS:
            step["target"] = TARGETS[name]
            step["met"] = step["throughput_vs_csv_reader"] >= TARGETS[name]
        if name not in ("csv.reader", TRAFFIC):
            step["mb_per_15_min_step"] = step["mb_per_s"] * STEP_SECONDS
    if TRAFFIC in steps:
        # Above 1 is faster than the requests alone (which it cannot be).
        steps["reassemble"]["vs_s3_traffic"] = (
            steps[TRAFFIC]["seconds"] / steps["reassemble"]["seconds"]
        )
    return {"bytes": actual, "rows": rows, "rounds": repeat, "steps": steps}


def one_round(
    stand: Stand, key: str, wanted: tuple[str, ...], data_bytes: int, digest: str
) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {"csv.reader": stand.child("reader", key)}
    if "prepare" in wanted or "reassemble" in wanted:
        steps["prepare"] = stand.child("prepare", key)
        steps["prepare"] |= check_shards(stand, steps["prepare"]["job_id"], data_bytes, digest)
    if "prepare-reorder" in wanted:
        steps["prepare-reorder"] = stand.child("prepare-reorder", key)
    if "reassemble" in wanted:
        job_id = steps["prepare"]["job_id"]
        echo_model(stand, job_id)
        finalizing(stand, job_id)
        steps[TRAFFIC] = stand.child(TRAFFIC, job_id)
        steps["reassemble"] = stand.child("reassemble", job_id)
    return steps


def check_round(steps: dict[str, dict[str, Any]], rows: int) -> None:
    """Every step of a round read every row; the reassembly completed."""
    for name in ("csv.reader", "prepare", "prepare-reorder"):
        if name in steps and steps[name]["rows"] != rows:
            raise RuntimeError(f"{name}: {steps[name]['rows']} rows, expected {rows}")
    if "reassemble" in steps and steps["reassemble"]["status"] != "Completed":
        raise RuntimeError(f"reassembly ended {steps['reassemble']}")


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time (the lower of the middle two), with every run's seconds and the
    highest peak RSS of them all."""
    ordered = sorted(runs, key=lambda run: run["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["all_seconds"] = [round(run["seconds"], 3) for run in runs]
    chosen["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    return chosen


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| size | step | seconds | MB/s | × csv.reader (MB/s ÷ its MB/s) | target | "
        "peak RSS MB | MB per 15-min step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, result in results.items():
        for name, step in result["steps"].items():
            per_step = step.get("mb_per_15_min_step")
            target = (
                f"≥ {step['target']:g}× {'met' if step['met'] else '**missed**'}"
                if "target" in step
                else ""
            )
            lines.append(
                f"| {label} | {name} | {step['seconds']:.2f} | {step['mb_per_s']:.1f} | "
                f"{step['throughput_vs_csv_reader']:.2f}× | {target} | "
                f"{step['peak_rss_mb']:.0f} | {'' if per_step is None else f'{per_step:,.0f}'} |"
            )
    for label, result in results.items():
        reassemble = result["steps"].get("reassemble", {})
        if "vs_s3_traffic" in reassemble:
            lines += [
                "",
                f"{label}: reassemble runs at {reassemble['vs_s3_traffic']:.2f}× the throughput of "
                f"its S3 requests alone ({TRAFFIC}), which caps its ratio to csv.reader at "
                f"{result['steps'][TRAFFIC]['throughput_vs_csv_reader']:.2f}× on this server.",
            ]
    flatness = memory_flatness(results)
    if flatness:
        lines += [
            "",
            f"Peak RSS, {flatness['sizes']}: "
            + ", ".join(f"{name} {ratio:.2f}×" for name, ratio in flatness["steps"].items()),
        ]
    return "\n".join(lines)


def memory_flatness(results: dict[str, Any]) -> dict[str, Any] | None:
    """Each step's peak RSS at the largest size over the smallest (1.0: flat)."""
    if len(results) < 2:
        return None
    by_size = sorted(results.items(), key=lambda item: item[1]["bytes"])
    (small_label, small), (large_label, large) = by_size[0], by_size[-1]
    return {
        "sizes": f"{large_label} ÷ {small_label}",
        "steps": {
            name: large["steps"][name]["peak_rss_mb"] / step["peak_rss_mb"]
            for name, step in small["steps"].items()
            if name in large["steps"]
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--child":
        return run_child(args[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100MB,2GB", help="comma-separated, e.g. 100MB,2GB")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--s3-dir",
        type=Path,
        help="where s3rver keeps its objects (default: beside the scratch files, on disk); "
        "/dev/shm takes the disk's write-back out of the figures",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of every step per size; each step's figure is its median round",
    )
    parser.add_argument(
        "--steps",
        default=",".join(STEPS[1:]),
        help="comma-separated steps besides csv.reader (reassemble needs prepare's shards)",
    )
    options = parser.parse_args(args)
    wanted = tuple(options.steps.split(","))
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="csv-sharding-"))
        s3_dir = None
        if options.s3_dir:
            s3_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="s3-", dir=options.s3_dir))
            )
        stand = Stand(Path(scratch), s3_dir)
        try:
            for label in options.sizes.split(","):
                results[label] = measure(
                    stand, Path(scratch), label, parse_size(label), wanted, options.repeat
                )
                print(f"{label} done", file=sys.stderr)
        finally:
            stand.stop()
    report = {
        "results": results,
        "targets": TARGETS,
        "memory_flatness": memory_flatness(results),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    if options.output:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
