"""Local stack timings: start-up (empty and existing data), POST → Completed over the API for a
one-object job, and stop on SIGTERM. `make bench-local` (or `python benchmarks/local_stack.py`).

The stack runs as `make run` runs it (`python -m local.stack`, its own process group, free
ports) on a temporary data directory. Each job is the demo's request (sklearn-iris over the
150-row Iris CSV, one object); the clock starts before the POST and stops when a GET first
answers Completed (polled every 100 ms), so it is what a caller sees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_support import StopSignals  # noqa: E402
from transform_jobs_client import TransformJobs  # noqa: E402

from local.demo import job_request  # noqa: E402 - after the path is set
from local.stack.launcher import StackProcess  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "local_stack.json"
POLL_S = 0.1


def run_job(info: dict[str, Any], run: str) -> dict[str, Any]:
    """One job through the API with the Python client, as a team's service would run it."""
    with TransformJobs(info["api_url"], info["api_key"]) as client:
        started = time.monotonic()
        job = client.submit(job_request(info["bucket"], run))
        job = client.wait(job, poll_interval=POLL_S)
        seen_s = time.monotonic() - started
        if job.Status.value != "Completed":
            raise RuntimeError(f"job {job.JobId} ended {job.Status.value}: {job.StatusReason}")
        times = {
            event.Status.value: event.Time.isoformat().replace("+00:00", "Z")
            for event in client.events(job.JobId)
        }
    return {"job_id": job.JobId, "post_to_completed_s": round(seen_s, 2), "history": times}


def upload_iris(stack: StackProcess, run: str) -> None:
    info = stack.info
    s3 = boto3.client(
        "s3",
        endpoint_url=info["endpoints"]["s3"],
        region_name=info["region"],
        **info["credentials"],
    )
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, str(ROOT / "examples/sklearn_iris/train.py"), "--out", scratch],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        s3.upload_file(
            str(Path(scratch) / "iris.csv"), info["bucket"], f"demo/{run}/input/iris.csv"
        )


def measure(jobs: int, data_dir: Path) -> dict[str, Any]:
    stack = StackProcess(data_dir)
    result: dict[str, Any] = {"jobs": []}
    try:
        stack.start()
        result["first_start_s"] = round(stack.started_in_s, 2)
        for number in range(jobs):
            run = f"bench-{number}"
            upload_iris(stack, run)
            result["jobs"].append(run_job(stack.info, run))
        stop_s, survivors = stack.stop()
        result["stop_s"] = round(stop_s, 2)
        result["survivors"] = sorted(survivors)
        stack.start()
        result["restart_s"] = round(stack.started_in_s, 2)
        upload_iris(stack, "bench-after-restart")
        result["job_after_restart"] = run_job(stack.info, "bench-after-restart")
    finally:
        StopSignals.ignore()
        stop_s, survivors = stack.stop()
        result["second_stop_s"] = round(stop_s, 2)
        result["survivors"] = sorted({*result.get("survivors", []), *survivors})
    seconds = [job["post_to_completed_s"] for job in result["jobs"]]
    result["post_to_completed"] = {
        "median_s": round(statistics.median(seconds), 2),
        "max_s": round(max(seconds), 2),
        "min_s": round(min(seconds), 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=10, help="jobs to time one after another")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    # Ctrl-C or SIGTERM unwinds into measure's `finally`, which stops the stack.
    with StopSignals().installed(), tempfile.TemporaryDirectory(prefix="bench-local-") as scratch:
        result = measure(args.jobs, Path(scratch) / "data")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    p = result["post_to_completed"]
    print(f"first start (empty data dir)   {result['first_start_s']:6.2f} s")
    print(f"restart (existing data)        {result['restart_s']:6.2f} s")
    print(
        f"POST -> Completed, {len(result['jobs'])} jobs     median {p['median_s']:.2f} s, "
        f"min {p['min_s']:.2f} s, max {p['max_s']:.2f} s"
    )
    after = result["job_after_restart"]["post_to_completed_s"]
    print(f"POST -> Completed after restart {after:6.2f} s")
    print(
        f"stop on SIGTERM                {result['stop_s']:6.2f} s "
        f"(then {result['second_stop_s']:.2f} s); processes left: {len(result['survivors'])}"
    )
    print(f"results in {args.output}")
    return 0 if not result["survivors"] else 1


if __name__ == "__main__":
    sys.exit(main())
