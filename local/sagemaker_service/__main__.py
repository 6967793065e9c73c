"""`python -m local.sagemaker_service --data-dir DIR --port PORT` serves a local SageMaker API
on 127.0.0.1 for boto3 (`boto3.client("sagemaker", endpoint_url="http://127.0.0.1:PORT")`).

Models and jobs are kept under DIR; jobs run with the local engine, which reaches S3 through
boto3 (AWS_ENDPOINT_URL_S3 for a local S3 server).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from local.sagemaker_service.events import EventBridgePublisher
from local.sagemaker_service.server import SageMakerServer
from local.sagemaker_service.service import SageMakerService, no_publish

HOST = "127.0.0.1"
log = logging.getLogger("local.sagemaker_service")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.sagemaker_service", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="where state is kept")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        help="the region named in ARNs",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--event-bus",
        help="publish state-change events to this bus (endpoint: AWS_ENDPOINT_URL_EVENTBRIDGE)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    publish = EventBridgePublisher(bus=args.event_bus) if args.event_bus else no_publish
    service = SageMakerService(args.data_dir, region=args.region, publish=publish)
    for name in service.recover():
        log.warning("job %s was running when the service last stopped: now Failed", name)
    server = SageMakerServer((HOST, args.port), service)

    def shut_down(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    log.info("SageMaker API on http://%s:%d, state in %s", HOST, args.port, args.data_dir)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        service.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # model processes are stopped; skip waiting on daemon threads
