"""A webhook receiver for transform-jobs: verifies each delivery, answers 204 at once, handles
each event once.

    TRANSFORM_JOBS_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8085

It needs only the client package (`pip install ./clients/python`). The signature and the
timestamp are checked before anything else (401 otherwise); the event is then queued for a
worker thread and the service gets its 2xx within milliseconds: slow work in the request would
make the service time out (15 s) and retry. The `webhook-id` header is the same on every retry of
an event, so an id seen before is answered 204 and not handled again (unless handling it
failed: then a redelivery is handled). Here "handling" prints one
JSON line per event (to stdout, or appended to --events-file); put your own work in `handle`.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import traceback
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from transform_jobs_client import WebhookVerificationError, verify_webhook

MAX_BODY_BYTES = 1024 * 1024
REMEMBERED_IDS = 10_000


class SeenIds:
    """The most recent webhook ids, so a retried event is handled once."""

    def __init__(self, size: int = REMEMBERED_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, webhook_id: str) -> bool:
        with self._lock:
            if webhook_id in self._ids:
                return False
            self._ids[webhook_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True

    def forget(self, webhook_id: str) -> None:
        """Handling failed: a redelivery of this id is handled again."""
        with self._lock:
            self._ids.pop(webhook_id, None)


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], secrets: list[str], events_file: Path | None):
        super().__init__(address, Handler)
        self.secrets = secrets
        self.seen = SeenIds()
        self.work: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self.events_file = events_file


class Handler(BaseHTTPRequestHandler):
    server: Receiver
    timeout = 30  # a client that stops sending does not hold a thread for ever

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            length = -1
        if length < 0:
            self.answer(411 if "Content-Length" not in self.headers else 400)
            return
        if length > MAX_BODY_BYTES:
            self.answer(413)
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = verify_webhook(self.server.secrets, body, headers)
        except WebhookVerificationError:
            self.answer(401)
            return
        webhook_id = headers.get("webhook-id", "")
        if self.server.seen.first_time(webhook_id):
            self.server.work.put((webhook_id, event))
        self.answer(204)

    def answer(self, status: int) -> None:
        if status >= 400:
            self.close_connection = True  # an unread body must not be taken for a request
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per event is printed by the worker instead


def handle(receiver: Receiver, webhook_id: str, event: dict[str, Any]) -> None:
    """Your work goes here (it runs after the service has had its answer)."""
    data = event.get("data") or {}
    line = json.dumps(
        {
            "webhook_id": webhook_id,
            "type": event.get("type"),
            "job_id": data.get("JobId"),
            "status": data.get("Status"),
        }
    )
    if receiver.events_file is None:
        print(line, flush=True)
    else:
        with receiver.events_file.open("a") as out:
            out.write(line + "\n")


def worker(receiver: Receiver) -> None:
    while (item := receiver.work.get()) is not None:
        webhook_id, event = item
        try:
            handle(receiver, webhook_id, event)
        except Exception:
            receiver.seen.forget(webhook_id)
            print(f"handling {webhook_id} failed", file=sys.stderr)
            traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Receive and verify transform-jobs webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--events-file", type=Path, help="append handled events here")
    args = parser.parse_args(argv)
    # One secret, or several separated by commas while a rotation overlaps.
    secrets = [s for s in os.environ.get("TRANSFORM_JOBS_WEBHOOK_SECRET", "").split(",") if s]
    if not secrets:
        print("set TRANSFORM_JOBS_WEBHOOK_SECRET to the subscription's secret", file=sys.stderr)
        return 2
    receiver = Receiver((args.host, args.port), secrets, args.events_file)
    # Not a daemon: every event answered 204 is handled before the process exits.
    thread = threading.Thread(target=worker, args=(receiver,))
    thread.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=receiver.shutdown).start())
    print(f"listening on http://{args.host}:{receiver.server_address[1]}/", file=sys.stderr)
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server_close()  # no new requests; then the queue is drained to its end
        receiver.work.put(None)
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
