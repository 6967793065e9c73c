"""`python -m local.engine run-transform job.json --model-dir DIR` runs one job and shows progress.

job.json is a CreateTransformJob request. The model is a model directory, or a model.tar.gz in
S3 (--model-data); --model-env adds the Model's environment (as CreateModel's would).
S3 is whatever boto3 is pointed at (AWS_ENDPOINT_URL_S3 for a local S3 server).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from local.engine import cycle_collection
from local.engine.job import ModelSource, TransformJob
from local.engine.memory import return_large_buffers
from local.engine.spec import TransformSpec

# botocore imports these whenever they are installed (the dev venv has both) for what this process
# never uses: the CRT's signers and checksums (SigV4a, CRC64NVME) and pyOpenSSL's TLS. Marked
# absent, botocore takes its standard-library paths and the engine starts over 0.1 s sooner.
UNUSED_OPTIONAL_IMPORTS = ("awscrt", "urllib3.contrib.pyopenssl")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.engine", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run-transform", help="run one transform job to its end")
    run.add_argument("job", type=Path, help="a CreateTransformJob request as JSON")
    model = run.add_mutually_exclusive_group(required=True)
    model.add_argument("--model-dir", type=Path, help="an unpacked model directory")
    model.add_argument("--model-data", help="s3://bucket/key/model.tar.gz")
    run.add_argument("--model-env", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--work-dir", type=Path, help="where models are unpacked and logs written")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        request = json.loads(args.job.read_text())
        spec = TransformSpec.from_request(request)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: cannot read {args.job}: {error}", file=sys.stderr)
        return 2
    environment = dict(item.split("=", 1) for item in args.model_env if "=" in item)
    model = ModelSource(
        name=spec.model_name,
        environment=environment,
        model_data_url=args.model_data,
        model_dir=args.model_dir,
    )
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="transform-"))
    job = TransformJob(spec, model, work_dir=work_dir, on_inputs_listed=cycle_collection.resume)

    def stop(signum: int, frame: FrameType | None) -> None:
        print("stopping…", file=sys.stderr)
        threading.Thread(target=job.stop, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    runner = threading.Thread(target=job.run, name="transform-job")
    runner.start()
    while runner.is_alive():
        runner.join(timeout=1.0)
        done = job.progress.snapshot()
        print(
            f"{job.outcome.status}: objects {done.objects_done}/{done.objects_total}"
            f" (failed {done.objects_failed}), records {done.records_done},"
            f" in {done.bytes_in / 1e6:.1f} MB, out {done.bytes_out / 1e6:.1f} MB",
            file=sys.stderr,
        )
    result = {**job.describe(), "Progress": job.progress.snapshot().as_dict()}
    print(json.dumps(result, default=str, indent=2))
    return {"Completed": 0, "Stopped": 130}.get(job.outcome.status, 1)


def skip_unused_optional_imports() -> None:
    """For the CLI's own process only (a None entry in sys.modules fails that import)."""
    for name in UNUSED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


if __name__ == "__main__":
    cycle_collection.pause()  # until the job has reached S3 (see the module)
    skip_unused_optional_imports()
    return_large_buffers()  # the process's peak memory then stays flat however large the input
    code = main()
    # Everything is written and every model process stopped: skip the interpreter's teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
