"""examples/webhook_receiver.py: verifies before anything, answers at once, handles an event
once, and survives a failing handler."""

from __future__ import annotations

import http.client
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "webhook_receiver", ROOT / "examples" / "webhook_receiver.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["webhook_receiver"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Any]:
    example = load_example()
    server = example.Receiver(("127.0.0.1", 0), [SECRET], tmp_path / "events.jsonl")
    worker = threading.Thread(target=example.worker, args=(server,))
    serving = threading.Thread(target=server.serve_forever)
    worker.start()
    serving.start()
    yield server
    server.shutdown()
    server.server_close()
    server.work.put(None)
    worker.join(timeout=10)


def post(server: Any, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.request("POST", "/hooks", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def signed(body: str, webhook_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(webhook_id, now, body),
        "Content-Type": "application/json",
    }


def handled(server: Any) -> list[dict[str, Any]]:
    path: Path = server.events_file
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_only_signed_events_are_taken_and_each_id_is_handled_once(receiver: Any) -> None:
    body = json.dumps({"type": "transform_job.completed", "data": {"JobId": "j1"}})
    assert post(receiver, body.encode(), {"webhook-id": "msg_1"}) == 401
    assert post(receiver, body.encode(), signed(body, "msg_1")) == 204
    assert post(receiver, body.encode(), signed(body, "msg_1")) == 204  # a retry
    receiver.work.put(("msg_sync", {"type": "sync"}))  # handled after anything queued before
    deadline = time.monotonic() + 10
    while len(handled(receiver)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    events = handled(receiver)
    assert [event["webhook_id"] for event in events] == ["msg_1", "msg_sync"]
    assert events[0]["job_id"] == "j1"


def test_a_bad_content_length_is_refused_before_reading(receiver: Any) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.server_address[1], timeout=10)
    connection.putrequest("POST", "/hooks")
    connection.putheader("Content-Length", "-1")
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()
