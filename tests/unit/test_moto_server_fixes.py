"""The local moto server's fixes: an SQS delete never drops a message sent at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from moto.sqs import models as sqs_models

from local.stack import moto_server


class _SendsWhenIterated(list[sqs_models.Message]):
    """The queue's messages; once a delete has gone through them, another thread sends one.

    That is the instant moto's own delete_message drops it: between reading the list and
    replacing it with the rebuilt one.
    """

    def __init__(self, queue: sqs_models.Queue, items: list[sqs_models.Message]) -> None:
        super().__init__(items)
        self.queue = queue

    def __iter__(self) -> Iterator[sqs_models.Message]:
        yield from super().__iter__()
        late = sqs_models.Message(message_id="late", body="late")
        sender = threading.Thread(target=self.queue.add_message, args=(late,))
        sender.start()
        sender.join(timeout=0.5)  # with the lock held, it waits for the delete to end


@pytest.fixture
def atomic_deletes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqs_models.Queue, "delete_message", sqs_models.Queue.delete_message)
    moto_server.install_atomic_sqs_deletes()


def test_a_message_sent_during_a_delete_stays(atomic_deletes: None) -> None:
    queue = sqs_models.Queue("race", region="us-east-1", account_id="123456789012")
    done, kept = (sqs_models.Message(message_id=b, body=b) for b in ("done", "kept"))
    done.mark_received(visibility_timeout=600)
    queue._messages = _SendsWhenIterated(queue, [done, kept])
    queue.delete_message(done.receipt_handle or "")
    for _ in range(100):
        if len(queue._messages) == 2:
            break
        threading.Event().wait(0.01)
    assert sorted(message.body for message in queue._messages) == ["kept", "late"]
