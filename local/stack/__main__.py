"""`python -m local.stack` (`make run`): the whole service on 127.0.0.1 until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from local.runtime.template import TemplateError
from local.stack.stack import ROOT, LocalStack

log = logging.getLogger("local.stack")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / ".local",
        help="where databases, objects, models, jobs and logs are kept (default: .local)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 3000),
        help="the API's port on 127.0.0.1 (default: $PORT or 3000; 0 picks a free one)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    return parser


def _iam_line(iam: dict[str, Any]) -> str:
    mode = iam.get("mode", "off")
    if mode == "off":
        return "not enforced (LOCAL_IAM=off)"
    line = "each function's policy enforced" if mode == "enforce" else "audited, not enforced"
    usage = f"; decisions recorded in {iam['usage_dir']}" if iam.get("usage_dir") else ""
    return line + usage


def summary(info: dict[str, Any], seconds: float) -> str:
    endpoints = info["endpoints"]
    credentials = info["credentials"]
    lines = [
        f"transform-jobs is up in {seconds:.1f} s.",
        "",
        f"  API            {info['api_url']}      (try: curl {info['api_url']}/v1/health)",
        f"  API key        {info['api_key']}   (team {info['team']!r})",
        f"  API docs       {info['docs_url']}   (Swagger UI; Authorize with the key)",
        "  CLI            .venv/bin/transform-jobs --help   (finds this stack by itself)",
        f"  Data bucket    s3://{info['bucket']}/   (team {info['team']!r} may use all of it)",
        f"  S3 endpoint    {endpoints['s3']}",
        f"  SageMaker      {endpoints['sagemaker']}",
        f"  DynamoDB       {endpoints['dynamodb']}",
        f"  SQS, EventBridge, KMS  {endpoints['sqs']}",
        f"  Credentials    {credentials['aws_access_key_id']} / "
        f"{credentials['aws_secret_access_key']}, region {info['region']}",
        f"  Data           {info['data_dir']}   (logs in {info['logs']})",
        f"  IAM            {_iam_line(info.get('iam') or {})}",
        "",
        "  For the AWS CLI and boto3:",
        f"    export AWS_ACCESS_KEY_ID={credentials['aws_access_key_id']} "
        f"AWS_SECRET_ACCESS_KEY={credentials['aws_secret_access_key']} "
        f"AWS_DEFAULT_REGION={info['region']}",
        f"    aws --endpoint-url {endpoints['s3']} s3 ls s3://{info['bucket']}/",
        "",
        f"  Scripts read {info['data_dir']}/stack.json. Next: `make demo` in another terminal.",
        "  Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(args.data_dir, port=args.port, api_key=os.environ.get("LOCAL_API_KEY"))
    started = time.monotonic()
    try:
        info = stack.start()
    except (OSError, RuntimeError, ValueError, TimeoutError, TemplateError) as error:
        log.error("the local stack could not start: %s", error)
        return 1
    print(summary(info, time.monotonic() - started), flush=True)
    try:
        while not stopping.wait(1):
            pass
    finally:
        log.info("stopping")
        stack.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
