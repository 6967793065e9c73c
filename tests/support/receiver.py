"""A webhook receiver on loopback for tests: answers each POST with the next planned status
and headers (`answer`, 204 unless changed, when the plan is empty) and records what it got."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    """Answers each POST with the next planned (status, headers); records what it got."""

    def __init__(self, port: int = 0) -> None:
        """`port` 0 picks a free one; a given port brings a receiver back where one was."""
        self.plan: list[tuple[int, dict[str, str]]] = []
        self.answer: tuple[int, dict[str, str]] = (204, {})
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                status, headers = receiver.plan.pop(0) if receiver.plan else receiver.answer
                headers_got = dict(self.headers)
                receiver.received.append(
                    {"path": self.path, "headers": headers_got, "body": body, "status": status}
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/in?team=a"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
