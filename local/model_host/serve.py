"""The SageMaker container contract over HTTP on 127.0.0.1 for a model dir's inference script:
`python -m local.model_host.serve --model-dir DIR --port PORT`."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socketserver
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, cast

from local.model_host.handlers import (
    Handlers,
    UnsupportedContentType,
    accept_type,
    invoke,
    load_handlers,
    media_type,
)

HOST = "127.0.0.1"
PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
DEFAULT_PORT = 8080
MAX_CHUNK_LINE = 1024


class BadRequest(ValueError):
    """A request body that does not follow HTTP's framing."""


class ModelServer(ThreadingHTTPServer):
    """Answers /ping 503 until the model is loaded, so the port is held from the very start."""

    daemon_threads = True
    # Batch Transform keeps up to MaxConcurrentTransforms connections open at once.
    request_queue_size = 64

    def __init__(self, port: int) -> None:
        super().__init__((HOST, port), ContractHandler)
        self.handlers: Handlers | None = None
        self.model: Any = None
        self.ready = threading.Event()

    def server_bind(self) -> None:
        # HTTPServer's own would look up the host's FQDN: a DNS query this server has no use for.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]


def read_chunked(stream: BinaryIO | io.BufferedIOBase) -> bytes:
    """A Transfer-Encoding: chunked body (what the engine sends when MaxPayloadInMB is 0)."""
    parts: list[bytes] = []
    while True:
        line = stream.readline(MAX_CHUNK_LINE)
        if not line.endswith(b"\n"):
            raise BadRequest("chunk size line is missing or too long")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            break
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(MAX_CHUNK_LINE).strip():
            raise BadRequest("chunk shorter than its size, or not followed by CRLF")
        parts.append(chunk)
    # Trailers, if any, end with an empty line.
    while (trailer := stream.readline(MAX_CHUNK_LINE)).strip():
        pass
    if not trailer:
        raise BadRequest("chunked body ended without its final CRLF")
    return b"".join(parts)


class ContractHandler(BaseHTTPRequestHandler):
    # Keep-alive: the engine reuses connections for a job's many requests.
    protocol_version = "HTTP/1.1"
    server_version = "transform-jobs-model"

    @property
    def model_server(self) -> ModelServer:
        return cast(ModelServer, self.server)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/ping":
            ready = self.model_server.ready.is_set()
            self._reply(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, b"")
        elif path == "/execution-parameters":
            self._execution_parameters()
        else:
            self._text(HTTPStatus.NOT_FOUND, f"no route GET {path}")

    def do_POST(self) -> None:
        try:
            body = self._body()
        except BadRequest as error:
            self.close_connection = True
            self._text(HTTPStatus.BAD_REQUEST, str(error))
            return
        path = self.path.split("?", 1)[0]
        if path != "/invocations":
            self._text(HTTPStatus.NOT_FOUND, f"no route POST {path}")
        elif not self.model_server.ready.is_set():
            self._text(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading")
        else:
            self._invocations(body)

    def _invocations(self, body: bytes) -> None:
        server = self.model_server
        if server.handlers is None:  # not possible once ready; keeps the type checker honest
            self._text(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading")
            return
        content_type = media_type(self.headers.get("Content-Type"))
        accept = accept_type(self.headers.get("Accept"), os.environ)
        try:
            out, out_type = invoke(server.handlers, server.model, body, content_type, accept)
        except UnsupportedContentType as error:
            self._text(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, str(error))
        except Exception as error:
            # The client gets the message; the traceback goes to the model's log.
            traceback.print_exc()
            self._text(HTTPStatus.INTERNAL_SERVER_ERROR, _message(error))
        else:
            self._reply(HTTPStatus.OK, out, out_type)

    def _execution_parameters(self) -> None:
        server = self.model_server
        if not server.ready.is_set() or server.handlers is None:
            self._text(HTTPStatus.SERVICE_UNAVAILABLE, "the model is still loading")
            return
        hook = server.handlers.execution_parameters
        if hook is None:
            self._text(HTTPStatus.NOT_FOUND, "the script defines no execution_parameters()")
            return
        try:
            body = json.dumps(hook()).encode("utf-8")
        except Exception as error:
            traceback.print_exc()
            self._text(HTTPStatus.INTERNAL_SERVER_ERROR, _message(error))
        else:
            self._reply(HTTPStatus.OK, body, "application/json")

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return read_chunked(self.rfile)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) != length:
            raise BadRequest("the body is shorter than its Content-Length")
        return body

    def _text(self, status: HTTPStatus, message: str) -> None:
        self._reply(status, message.encode("utf-8"), "text/plain; charset=utf-8")

    def _reply(self, status: HTTPStatus, body: bytes, content_type: str | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request would swamp the log at batch rates; errors are logged where raised.
        pass


def _message(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(model_dir: Path, port: int) -> int:
    """Hold the port, load the script and model once, then serve until SIGTERM."""
    server = ModelServer(port)
    signal.signal(signal.SIGTERM, _terminate)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="http", daemon=True)
    thread.start()
    try:
        server.handlers = load_handlers(model_dir, os.environ)
        server.model = server.handlers.model_fn(str(model_dir))
        server.ready.set()
        print(f"model loaded from {model_dir}; serving on http://{HOST}:{port}", file=sys.stderr)
        threading.Event().wait()  # until SIGTERM or SIGINT interrupts it
    except (SystemExit, KeyboardInterrupt):
        return 0
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        server.shutdown()
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV, DEFAULT_PORT)))
    args = parser.parse_args(argv)
    return serve(args.model_dir.resolve(), args.port)


if __name__ == "__main__":
    sys.exit(main())
