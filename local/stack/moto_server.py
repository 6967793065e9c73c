"""moto's server, with KMS keys that come back the same after a restart, and EventBridge rules
that heed their state.

moto keeps everything in memory, so a restarted local stack would get new KMS keys, and what was
encrypted under the old ones (webhook signing secrets) could no longer be decrypted. Here the
n-th key this process creates takes its id and key material from a secret seed kept under the
stack's data dir (LOCAL_KMS_SEED_FILE), so the runtime, creating the template's keys in the same
order at every start, gets the same keys back.

moto's EventBridge delivers events to a rule's targets whether the rule is enabled or not; in
AWS a disabled rule matches nothing, and an operator (or a test) disables one to stop what it
delivers. And moto's SQS deletes a message by rebuilding the queue's list of messages without
the lock that sending takes, so a message sent at that instant is silently dropped (seen under
load: events of one PutEvents call that never reached their function). moto has no option for
any of these, hence the small replacements below; everything else is moto's own server.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from moto import server
from moto.events import models as events_models
from moto.kms import models as kms_models
from moto.sqs import models as sqs_models


def _derived(seed: bytes, label: str) -> bytes:
    return hmac.new(seed, label.encode(), hashlib.sha256).digest()


def install_stable_keys(seed: bytes) -> None:
    ids, materials = itertools.count(), itertools.count()

    def key_id(multi_region: bool = False) -> str:
        value = str(uuid.UUID(bytes=_derived(seed, f"key-id-{next(ids)}")[:16], version=4))
        return f"mrk-{value}" if multi_region else value

    def master_key() -> bytes:
        return _derived(seed, f"key-material-{next(materials)}")

    kms_models.generate_key_id = key_id  # type: ignore[attr-defined]
    kms_models.generate_master_key = master_key  # type: ignore[attr-defined]


def install_rule_states() -> None:
    deliver = events_models.Rule.send_to_targets

    def deliver_when_enabled(
        rule: events_models.Rule, event: Any, transform_input: bool = True
    ) -> None:
        if rule.state != "DISABLED":
            deliver(rule, event, transform_input)

    events_models.Rule.send_to_targets = deliver_when_enabled  # type: ignore[method-assign,assignment]


def install_atomic_sqs_deletes() -> None:
    delete = sqs_models.Queue.delete_message

    def delete_under_lock(queue: sqs_models.Queue, receipt_handle: str) -> None:
        # The same (reentrant) lock add_message holds while it appends.
        with queue._messages_lock:
            delete(queue, receipt_handle)

    sqs_models.Queue.delete_message = delete_under_lock  # type: ignore[method-assign,assignment]


def main(argv: list[str]) -> None:
    install_rule_states()
    install_atomic_sqs_deletes()
    seed_file = os.environ.get("LOCAL_KMS_SEED_FILE")
    if seed_file:
        install_stable_keys(bytes.fromhex(Path(seed_file).read_text().strip()))
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
