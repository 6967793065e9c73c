"""A bring-your-own model server (standard library only): /ping, and /invocations echoing each body
back unchanged with the request's Content-Type. `python serve.py --port PORT`."""

from __future__ import annotations

import argparse
import os
import signal
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


def read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    """A Transfer-Encoding: chunked body: hex size line, data, CRLF, until a zero size."""
    parts = []
    while size := int(handler.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16):
        parts.append(handler.rfile.read(size))
        handler.rfile.readline(1024)
    while handler.rfile.readline(1024).strip():  # trailers, then the closing empty line
        pass
    return b"".join(parts)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    delay_s = 0.0  # a slow model for tests of cancel and interruption: wait before each answer

    def server_bind(self) -> None:
        # Skips HTTPServer's FQDN lookup: a loopback server has no use for DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


class Echo(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open between a job's requests.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.reply(200 if self.path == "/ping" else 404, b"", None)

    def do_POST(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = read_chunked(self)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/invocations":
            self.reply(404, b"", None)
        else:
            time.sleep(getattr(self.server, "delay_s", 0.0))
            self.reply(200, body, self.headers.get("Content-Type"))

    def reply(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request would cost more than the echo itself


def stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    default_port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument(
        "--delay-seconds", type=float, default=0.0, help="wait before each answer (a slow model)"
    )
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Echo)
    server.delay_s = args.delay_seconds
    signal.signal(signal.SIGTERM, stop)
    print(f"echo server on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
