"""HTTP for the service: every operation is POST / with its name in X-Amz-Target."""

from __future__ import annotations

import logging
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.sagemaker_service.protocol import (
    CONTENT_TYPE,
    ServiceError,
    encode,
    operation_from,
    parse_body,
)
from local.sagemaker_service.service import SageMakerService

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


class SageMakerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: SageMakerService) -> None:
        super().__init__(address, Handler)
        self.service = service


class Handler(BaseHTTPRequestHandler):
    server: SageMakerServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        request_id = str(uuid.uuid4())
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ServiceError("SerializationException", "The request body is too large")
            raw = self.rfile.read(length) if length else b""
            operation = operation_from(self.headers.get("X-Amz-Target"))
            reply = self.server.service.call(operation, parse_body(raw))
            self._send(200, encode(reply), request_id)
        except ServiceError as error:
            self._send(error.status, error.body(), request_id)
        except Exception as error:
            log.exception("request %s failed", request_id)
            failure = ServiceError("InternalFailure", f"{type(error).__name__}: {error}", 500)
            self._send(failure.status, failure.body(), request_id)

    def do_GET(self) -> None:
        """A liveness answer for people and scripts; boto3 never asks this."""
        self._send(200, b'{"status": "ok"}', str(uuid.uuid4()))

    def _send(self, status: int, body: bytes, request_id: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)
