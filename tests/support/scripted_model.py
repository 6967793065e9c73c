"""A model server for engine tests, scripted from the command line: echo the body, and
optionally answer /execution-parameters, fail the first N requests, be slow, never be healthy,
and record every request (size, headers, how many were in flight) to a JSON-lines file.

Faults tied to a marker (a request whose body contains the bytes MARKER): answer 500, never
answer, drop the batch's last record, or SIGKILL this process, as an out-of-memory kill would.

    python tests/support/scripted_model.py --port P [--record FILE] [--execution-parameters JSON]
        [--fail-first N] [--delay S] [--unhealthy]
        [--fail-on MARKER] [--hang-on MARKER] [--drop-on MARKER] [--kill-on MARKER]
        [--skip-blank-lines]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_lock = threading.Lock()
_state = {"in_flight": 0, "seen": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record")
    parser.add_argument("--execution-parameters")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--unhealthy", action="store_true")
    parser.add_argument("--fail-on", type=str.encode, metavar="MARKER")
    parser.add_argument("--hang-on", type=str.encode, metavar="MARKER")
    parser.add_argument("--drop-on", type=str.encode, metavar="MARKER")
    parser.add_argument("--kill-on", type=str.encode, metavar="MARKER")
    parser.add_argument("--skip-blank-lines", action="store_true")
    args = parser.parse_args()

    def holds(body: bytes, marker: bytes | None) -> bool:
        return marker is not None and marker in body

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *values: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._reply(500 if args.unhealthy else 200, b"")
            elif self.path == "/execution-parameters" and args.execution_parameters:
                self._reply(200, args.execution_parameters.encode(), "application/json")
            else:
                self._reply(404, b"not here")

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def do_POST(self) -> None:
            body = self._body()
            with _lock:
                _state["in_flight"] += 1
                _state["seen"] += 1
                seen, in_flight = _state["seen"], _state["in_flight"]
            try:
                if args.record:
                    entry = {
                        "size": len(body),
                        "in_flight": in_flight,
                        "content_type": self.headers.get("Content-Type"),
                        "accept": self.headers.get("Accept"),
                        "chunked": self.headers.get("Transfer-Encoding") == "chunked",
                    }
                    with _lock, open(args.record, "a") as record:
                        record.write(json.dumps(entry) + "\n")
                time.sleep(args.delay)
                if holds(body, args.kill_on):
                    os.kill(os.getpid(), signal.SIGKILL)
                if holds(body, args.hang_on):
                    threading.Event().wait()  # never answers; only the engine's timeout ends it
                if seen <= args.fail_first:
                    self._reply(500, b"scripted failure")
                elif holds(body, args.fail_on):
                    self._reply(500, b"scripted failure: the batch holds " + args.fail_on)
                elif args.skip_blank_lines:
                    kept = [line for line in body.split(b"\n") if line.strip()]
                    self._reply(200, b"\n".join(kept) + b"\n", "text/csv")
                elif holds(body, args.drop_on):
                    answer = _without_last_line(body)
                    self._reply(200, answer, self.headers.get("Content-Type") or "text/plain")
                else:
                    self._reply(200, body, self.headers.get("Content-Type") or "text/plain")
            finally:
                with _lock:
                    _state["in_flight"] -= 1

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


def _without_last_line(body: bytes) -> bytes:
    """The batch echoed with its last record missing: a model that loses one on the way."""
    # Records end at b"\n" only, as the engine splits them (splitlines would also cut at b"\r").
    return body[: body.rstrip(b"\n").rfind(b"\n") + 1]


if __name__ == "__main__":
    main()
